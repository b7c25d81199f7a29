"""Errors of the face stage; each is one line for the user (the CLI prints it, no traceback)."""

from camfilters.errors import CamfiltersError


class FaceUnavailableError(CamfiltersError, RuntimeError):
    """mediapipe (the ``face`` extra) is not installed."""


class ModelError(CamfiltersError, RuntimeError):
    """A model file that cannot be found, downloaded, verified or loaded."""


class AnalysisError(CamfiltersError, RuntimeError):
    """MediaPipe failed on a frame (in the worker thread or synchronously)."""
