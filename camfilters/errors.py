"""The app's errors; each becomes one line on stderr and a non-zero exit in the CLI."""

from filters.errors import CamfiltersError, ParameterError

__all__ = ["CamfiltersError", "DisplayError", "ParameterError", "RecordingError", "SourceError", "StageFailed",
           "VirtualCamError"]


class SourceError(CamfiltersError, RuntimeError):
    """A camera or video source that cannot be opened or read."""


class RecordingError(CamfiltersError, OSError):
    """A recording or rendered file that cannot be written."""


class DisplayError(CamfiltersError, RuntimeError):
    """No display to open the preview window on."""


class VirtualCamError(CamfiltersError, RuntimeError):
    """The virtual camera device is missing, busy or unsupported."""


class StageFailed(CamfiltersError, RuntimeError):
    """A stage raised while processing a frame; the run stops, recordings are kept."""
