"""camfilters: real-time webcam filters (the app around the ``filters`` package)."""

__version__ = "0.1.0"
