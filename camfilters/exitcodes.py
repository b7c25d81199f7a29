"""Exit codes and end reasons: standard library only, so the CLI can use them before anything heavy is imported.

`camfilters.errors` re-exports both; import them from there.
"""

from __future__ import annotations

import enum

__all__ = ["EndReason", "ExitCode"]


class ExitCode(enum.IntEnum):
    """The ``camfilters`` exit codes (README, ``--help``)."""

    OK = 0
    ERROR = 1  # a runtime error: an output that cannot be written, a stage that failed, ...
    USAGE = 2  # a bad command line, option or value; nothing was started
    SOURCE = 3  # the source (camera, stream, input file) failed, or is corrupt or truncated
    INTERRUPTED = 130  # Ctrl-C, SIGTERM or SIGHUP; files were finalised


class EndReason(enum.Enum):
    """Why a source or a live run ended; `exit_code` is what ``camfilters run`` returns for it."""

    QUIT = "quit"  # q, Esc, or the window closed
    MAX_FRAMES = "max frames"  # --max-frames reached
    DURATION = "duration"  # --duration reached
    END_OF_FILE = "end of file"  # a file source read to its end
    CLOSED = "closed"  # the consumer closed the source
    SOURCE_LOST = "source lost"  # a camera or stream failed or stopped delivering frames
    SOURCE_CORRUPT = "source corrupt"  # a file that is truncated or cannot be decoded to its end

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.SOURCE if self in (EndReason.SOURCE_LOST, EndReason.SOURCE_CORRUPT) else ExitCode.OK
