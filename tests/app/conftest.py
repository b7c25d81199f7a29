"""Make the helper modules beside the app tests (media, cli_helpers, ...) importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
