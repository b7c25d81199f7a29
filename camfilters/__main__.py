"""``python -m camfilters``: the same as the ``camfilters`` command."""

import sys

from .exitcodes import ExitCode

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command is still being imported: nothing was started
    sys.exit(ExitCode.INTERRUPTED)

sys.exit(main())
