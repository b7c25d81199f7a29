"""The app's errors and exit codes; each error becomes one line on stderr and its exit code in the CLI."""

from __future__ import annotations

import enum

from filters.errors import CamfiltersError, ParameterError

__all__ = ["CamfiltersError", "DisplayError", "ExitCode", "OutputExistsError", "ParameterError", "RecordingError",
           "SourceError", "StageFailed", "VirtualCamError", "exit_code"]


class ExitCode(enum.IntEnum):
    """The ``camfilters`` exit codes (README, ``--help``)."""

    OK = 0
    ERROR = 1  # a runtime error: an output that cannot be written, a stage that failed, ...
    USAGE = 2  # a bad command line, option or value; nothing was started
    SOURCE = 3  # the source (camera, stream, input file) failed, or is corrupt or truncated
    INTERRUPTED = 130  # Ctrl-C, SIGTERM or SIGHUP; files were finalised


class SourceError(CamfiltersError, RuntimeError):
    """A camera or video source that cannot be opened or read."""


class RecordingError(CamfiltersError, OSError):
    """A recording or rendered file that cannot be written."""


class OutputExistsError(RecordingError, FileExistsError):
    """The output file exists and overwriting was not asked for (``-y``/``--overwrite``)."""


class DisplayError(CamfiltersError, RuntimeError):
    """No display to open the preview window on."""


class VirtualCamError(CamfiltersError, RuntimeError):
    """The virtual camera device is missing, busy or unsupported."""


class StageFailed(CamfiltersError, RuntimeError):
    """A stage raised while processing a frame; the run stops, recordings are kept."""


def exit_code(exc: CamfiltersError) -> ExitCode:
    """The exit code for an error that ended a command."""
    if isinstance(exc, SourceError):
        return ExitCode.SOURCE
    if isinstance(exc, ParameterError):
        return ExitCode.USAGE
    return ExitCode.ERROR
