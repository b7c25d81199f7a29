"""The app's errors and exit codes; each error becomes one line on stderr and its exit code in the CLI."""

from __future__ import annotations

from filters import CamfiltersError, ParameterError

from .exitcodes import EndReason, ExitCode

__all__ = ["CameraNotFound", "CamfiltersError", "DisplayError", "EndReason", "ExitCode", "OutputExistsError",
           "ParameterError", "RecordingError", "SourceError", "StageFailed", "VirtualCamError", "exit_code", "reason"]


class SourceError(CamfiltersError, RuntimeError):
    """A camera or video source that cannot be opened or read."""


class CameraNotFound(SourceError):
    """No camera at the index asked for (``auto`` then falls back to the demo)."""


class RecordingError(CamfiltersError, OSError):
    """A recording or rendered file that cannot be written."""


class OutputExistsError(RecordingError, FileExistsError):
    """The output file exists and overwriting was not asked for (``-y``/``--overwrite``)."""


class DisplayError(CamfiltersError, RuntimeError):
    """No display to open the preview window on."""


class VirtualCamError(CamfiltersError, RuntimeError):
    """The virtual camera device is missing, busy or unsupported."""


class StageFailed(CamfiltersError, RuntimeError):
    """A stage raised while processing a frame; the run stops, recordings are kept.

    ``stage`` is the name of the innermost stage that raised (one filter, not the whole chain).
    A `ParameterError` raised mid-run arrives as this, so it is a runtime error, not a usage error.
    """

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        super().__init__(f"stage {stage!r} failed: {type(cause).__name__}: {cause}")


def exit_code(exc: CamfiltersError) -> ExitCode:
    """The exit code for an error that ended a command."""
    if isinstance(exc, SourceError):
        return ExitCode.SOURCE
    if isinstance(exc, ParameterError):
        return ExitCode.USAGE
    return ExitCode.ERROR


def reason(exc: BaseException) -> str:
    """What went wrong, in a few words for an error line: an OSError's strerror, else the message or class name."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
