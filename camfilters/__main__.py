"""``python -m camfilters``: the same as the ``camfilters`` command."""

import sys

from .cli import main

sys.exit(main())
