"""What every frame source gives: `Frame` objects from a `Source`, until it ends.

``read()`` gives frames whose ``image`` is ``(H, W, 3) uint8 BGR`` and C-contiguous, and
belongs to the consumer: the source never writes to it again. Timestamps are
``time.monotonic()`` seconds, strictly increasing per source: the capture time for live
sources (`camfilters.capture`), the file's own presentation times for files
(`camfilters.file_source`). ``read()`` returns None once the stream has ended; ``ended``
(an `EndReason`) then says why and ``end_message`` says it in words.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .argtypes import FPS_RANGE
from .errors import EndReason, ParameterError

__all__ = ["DEFAULT_FPS", "READ_TIMEOUT", "Frame", "Sound", "Source", "check_fps", "check_size"]

log = logging.getLogger(__name__)

DEFAULT_FPS = 30.0
READ_TIMEOUT = 2.0  # s without a frame that ends a source (live: at least 3 frame periods)


@dataclass(frozen=True)
class Sound:
    """The sound that belongs to a frame: ``samples`` ``(n, channels) float32`` in [-1, 1] from ``timestamp``."""

    samples: np.ndarray
    timestamp: float  # s, on the frames' clock: when its first sample plays


@dataclass(frozen=True)
class Frame:
    """One captured frame; the consumer owns ``image``."""

    image: np.ndarray  # (H, W, 3) uint8 BGR
    timestamp: float  # s, time.monotonic(): when captured, or when it plays in a file
    index: int  # 0-based number of the frame at the source; gaps are frames the consumer missed
    sound: Sound | None = None  # a file's sound from the end of the previous frame's to the end of this one's


class Source:
    """Base of every source: a context manager whose ``read()`` returns frames, then None.

    Attributes: ``name`` ("camera 0", "demo", "file clip.mp4", "stream http://..."),
    ``size`` (width, height) and ``fps`` really delivered, ``live`` (latest frame
    wins) or not (every frame), ``dropped`` frames that were never read,
    ``ended`` (an `EndReason`, None while running) and ``end_message`` (why, in
    words), ``frame_count`` (files: frames in the file if known, else None).
    """

    name: str
    size: tuple[int, int]
    fps: float
    live: bool
    frame_count: int | None = None

    def __init__(self) -> None:
        self.ended: EndReason | None = None
        self.end_message: str | None = None
        self._closed = False
        self._end_lock = threading.Lock()  # the producer and the reader may both end the stream

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.size[0]}x{self.size[1]} at {self.fps:.1f} fps>"

    @property
    def dropped(self) -> int:
        return 0

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame newer than the last one read, or None when the stream has ended.

        ``timeout``: seconds to wait for a live frame (default `READ_TIMEOUT`, or 3 frame periods if longer).
        """
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        """Frames until the stream ends."""
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Stop capturing and free the device or file (idempotent)."""
        if not self._closed:
            self._closed = True
            self._end(EndReason.CLOSED, f"{self.name} closed")
            self._release()

    def _end(self, reason: EndReason, message: str) -> None:
        """Record the first end of the stream (later ones are ignored); ``message`` names the source."""
        with self._end_lock:
            if self.ended is not None:
                return
            self.ended, self.end_message = reason, message
        if reason is not EndReason.CLOSED:
            log.debug("%s", message)  # the live loop's caller reports how the run ended

    def _release(self) -> None:
        """Subclass hook: stop threads, release handles."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """``size`` as (width, height) ints, checked: `ParameterError` unless both are in 16..16384."""
    if size is None:
        return None
    try:
        width, height = size
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 16 <= v <= 16384
                 for v in (width, height))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"size must be (width, height) with integers in 16..16384, got {size!r}")
    return int(width), int(height)


def check_fps(fps: float | None) -> float | None:
    """``fps`` as a float, checked: `ParameterError` unless it is in `FPS_RANGE`."""
    if fps is None:
        return None
    low, high = FPS_RANGE
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not low <= fps <= high:
        raise ParameterError(f"fps must be a number from {low:g} to {high:g}, got {fps!r}")
    return float(fps)

