"""Opening a ``--source``: cameras and network streams (OpenCV), the built-in demo, and video files.

`open_source(spec)` returns a `Source` (`camfilters.source`). A file (`FileSource`, PyAV) gives
every frame, in order, at the file's own times. A live one (camera, network stream, demo) keeps
only the newest frame (`_LiveSource`), so a slow filter lowers the frame rate, not the lag, and
ends after ``timeout`` seconds without a frame, so the consumer never hangs on a dead camera.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .demo import DemoScene
from .errors import CameraNotFound, EndReason, SourceError
from .file_source import FileSource
from .source import DEFAULT_FPS, READ_TIMEOUT, Frame, Source, check_fps, check_size
from .threads import LatestSlot, Worker

__all__ = ["CameraSource", "DemoSource", "Device", "FileSource", "Frame", "Source", "StreamSource",
           "list_devices", "native_name", "open_source", "source_file"]

log = logging.getLogger(__name__)

DEFAULT_DEMO_SIZE = (1280, 720)
FIRST_FRAME_TIMEOUT = 5.0  # s a camera or stream may take to deliver its first frame when opened
MAX_READ_FAILURES = 10  # consecutive failed reads that end a camera or stream
_MAX_INDEX = 2**31 - 1  # the largest camera index OpenCV takes (a C int)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class Device:
    """A camera found by `list_devices`, with the mode it opens in by default."""

    index: int
    width: int
    height: int
    fps: float
    backend: str


# -- live sources: a producer thread and a latest-frame-wins slot ------------------------------
class _LiveSource(Source):
    """A source whose thread (``_produce``) publishes frames with ``_publish``; newest wins.

    ``read()`` returns the newest frame not read yet, waiting for one if needed. Frames the
    consumer was too slow to take are counted in ``dropped`` and show up as gaps in
    ``Frame.index``; no queue of stale frames builds up. Buffers are recycled only from frames
    that were dropped, never from frames handed out. Nothing for ``timeout`` seconds (default
    `READ_TIMEOUT`, or 3 frame periods at a low frame rate) ends the stream.
    """

    live = True

    def __init__(self) -> None:
        super().__init__()
        self._slot: LatestSlot[Frame] = LatestSlot()  # the newest frame not read yet
        self._last_ts = -math.inf
        self._stop = threading.Event()
        self._thread: Worker | None = None
        self._times: collections.deque[float] = collections.deque(maxlen=31)

    def _start(self) -> None:
        self._thread = Worker(f"camfilters {self.name}", self._run).start()

    def _run(self) -> None:
        try:
            self._produce()
        except Exception as exc:  # report a crashed producer as the end of the stream
            log.debug("%s producer failed", self.name, exc_info=True)
            self._finish(EndReason.SOURCE_LOST, f"{self.name} failed: {type(exc).__name__}: {exc}")
        finally:
            try:
                self._cleanup()
            finally:  # the reader waits on the slot: always close it
                if self._stop.is_set():
                    self._finish(EndReason.CLOSED, f"{self.name} closed")
                else:
                    self._finish(EndReason.SOURCE_LOST, f"{self.name} stopped")

    def _produce(self) -> None:
        raise NotImplementedError

    def _cleanup(self) -> None:
        """Runs in the producer thread after ``_produce`` returns (release capture handles there)."""

    @property
    def dropped(self) -> int:
        return self._slot.replaced

    @property
    def measured_fps(self) -> float | None:
        """Frames per second over the last 30 captured frames (None before 10 frames)."""
        times = list(self._times)
        if len(times) < 10 or times[-1] <= times[0]:
            return None
        return (len(times) - 1) / (times[-1] - times[0])

    def _publish(self, image: np.ndarray, timestamp: float) -> np.ndarray | None:
        """Offer a new frame (producer thread only); returns the buffer of the unread frame it replaced, for reuse."""
        timestamp = max(timestamp, self._last_ts + 1e-6)
        frame = Frame(image, timestamp, self._slot.puts)
        replaced = self._slot.put(frame)
        if replaced is frame:  # the stream has ended
            return image
        self._last_ts = timestamp
        self._times.append(timestamp)
        return None if replaced is None else replaced.image

    def _finish(self, reason: EndReason, message: str) -> None:
        """End the stream from the producer side (a pending frame is still delivered)."""
        self._end(reason, message)
        self._slot.close()

    def _wait_first(self, timeout: float) -> Frame | None:
        """The first frame, left unread, once it arrives (None if the stream ended or ``timeout`` s passed)."""
        return self._slot.peek(timeout)

    def read(self, timeout: float | None = None) -> Frame | None:
        if timeout is None:
            timeout = max(READ_TIMEOUT, 3.0 / self.fps)  # --fps 0.4 is slow, not a dead source
        frame = self._slot.take(timeout)
        if frame is None:
            if self._slot.timed_out:
                self._end(EndReason.SOURCE_LOST, f"{self.name} delivered no frame for {timeout:g} s")
            self._stop.set()
        return frame

    def _release(self) -> None:
        self._stop.set()
        self._slot.close()
        self._slot.take(timeout=0)  # drop an unread frame
        if self._thread is not None and not self._thread.is_current():
            # A capture stuck in a blocking read may outlive this; it releases its handle itself.
            self._thread.join(timeout=2.0)


class _CaptureSource(_LiveSource):
    """A live OpenCV VideoCapture (camera or network stream) read in its own thread."""

    def __init__(self, cap: cv2.VideoCapture, name: str) -> None:
        super().__init__()
        self.name = name
        self._cap = cap
        self.fps = _valid_fps(cap.get(cv2.CAP_PROP_FPS)) or DEFAULT_FPS
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._start()
        first = self._wait_first(FIRST_FRAME_TIMEOUT)
        if first is None:
            reason = self.end_message or f"no frame within {FIRST_FRAME_TIMEOUT:g} s"
            self.close()
            raise SourceError(f"{name} opened but delivered no frame ({reason})")
        height, width = first.image.shape[:2]
        self.size = (width, height)

    def _produce(self) -> None:
        failures = 0
        spare: np.ndarray | None = None
        while not self._stop.is_set():
            ok, image = self._cap.read(spare) if spare is not None else self._cap.read()
            if not ok or image is None:
                failures += 1
                if failures >= MAX_READ_FAILURES:
                    self._finish(EndReason.SOURCE_LOST, f"{self.name} stopped delivering frames")
                    return
                self._stop.wait(0.02)
                continue
            failures = 0
            spare = self._publish(image, time.monotonic())
            if self._slot.puts == 30 and (measured := self.measured_fps):
                self.fps = measured

    def _cleanup(self) -> None:
        self._cap.release()


class CameraSource(_CaptureSource):
    """Camera ``index`` through OpenCV (V4L2 on Linux), asking for MJPG at ``size`` and ``fps``.

    ``size`` and ``fps`` are what the camera delivers: read back after opening
    (``fps`` is replaced by the measured rate after 30 frames).
    """

    def __init__(self, index: int, *, size: tuple[int, int] | None = None, fps: float | None = None) -> None:
        size, fps = check_size(size), check_fps(fps)
        name = f"camera {index}"
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        with _quiet_opencv():
            cap = cv2.VideoCapture(index, api) if 0 <= index <= _MAX_INDEX else None  # a bigger one is a cv2.error
            if cap is None or not cap.isOpened():
                if cap is not None:
                    cap.release()
                raise CameraNotFound(f"camera {index} could not be opened; run `camfilters devices` to list "
                                  f"cameras, or use --source PATH|demo")
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
            if size is not None:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
            if fps is not None:
                cap.set(cv2.CAP_PROP_FPS, fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("ascii", "replace")
        backend = cap.getBackendName()
        super().__init__(cap, name)  # from here on only the capture thread touches ``cap``
        asked = f"{size[0]}x{size[1]}" if size else "default size"
        log.debug("%s (%s): asked for %s at %s fps MJPG, got %dx%d at %.1f fps %s", name, backend, asked,
                  f"{fps:g}" if fps else "default", *self.size, self.fps, fourcc.strip("\x00") or "?")


class StreamSource(_CaptureSource):
    """A network stream (``http://`` MJPEG, ``rtsp://``, ...) through OpenCV's FFmpeg backend, live.

    ``fps`` starts as what FFmpeg reports and becomes the measured rate after 30 frames.
    """

    def __init__(self, url: str, *, open_timeout: float = FIRST_FRAME_TIMEOUT, read_timeout: float = 2.0) -> None:
        name = f"stream {_redact(url)}"
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout * 1000)]
        with _quiet_opencv():
            cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{name} could not be opened (no answer, or not a video stream)")
        super().__init__(cap, name)


# -- demo --------------------------------------------------------------------------------------
class DemoSource(_LiveSource):
    """The animated `camfilters.demo.DemoScene`, rendered at ``size`` and ``fps`` in its own thread.

    Frames are rendered into a small ring of buffers: a buffer handed to the
    consumer leaves the ring for good (a fresh one replaces it); only buffers of
    dropped frames are rendered into again.
    """

    name = "demo"

    def __init__(self, *, size: tuple[int, int] | None = None, fps: float | None = None) -> None:
        super().__init__()
        self.size = check_size(size) or DEFAULT_DEMO_SIZE
        self.fps = check_fps(fps) or DEFAULT_FPS
        self.scene = DemoScene(*self.size)
        self._start()

    def _produce(self) -> None:
        width, height = self.size
        period = 1.0 / self.fps
        free: list[np.ndarray] = []
        start = next_time = time.monotonic()
        while not self._stop.is_set():
            delay = next_time - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            buf = free.pop() if free else np.empty((height, width, 3), np.uint8)
            now = time.monotonic()
            self.scene.render(buf, now - start, index=self._slot.puts)
            spare = self._publish(buf, now)
            if spare is not None and len(free) < 2:
                free.append(spare)
            next_time = max(next_time + period, time.monotonic() - period)  # fell behind: skip, no burst


# -- opening -------------------------------------------------------------------------------------
def open_source(spec: str = "auto", *, size: tuple[int, int] | None = None, fps: float | None = None,
                realtime: bool = True, own_times: bool = True) -> Source:
    """Open a source from a ``--source`` value (raises SourceError or ParameterError).

    ``spec``: "auto" (camera 0, or the demo with one warning when there is
    none), "N" (camera N), "demo", a URL (``http://``, ``rtsp://``, ...: a live
    network stream) or a video file path. ``size`` (width, height) and ``fps``
    are requested from a camera, set the demo's, resize a file's frames and set
    its playback rate; a stream ignores them. ``realtime=False`` makes a file
    deliver frames unpaced (offline rendering), ``own_times=False`` stamps them
    when they are shown (`FileSource`); neither has an effect on live sources.
    """
    size, fps = check_size(size), check_fps(fps)
    spec = str(spec).strip()
    if spec in ("", "auto"):
        try:
            return CameraSource(0, size=size, fps=fps)
        except CameraNotFound:
            why = "no camera at index 0"
        except SourceError as exc:
            why = str(exc)
        log.warning("%s; showing the built-in demo source (use --source PATH to play a video file)", why)
        return DemoSource(size=size, fps=fps)
    if spec == "demo":
        return DemoSource(size=size, fps=fps)
    if spec.isdigit():
        return CameraSource(int(spec), size=size, fps=fps)
    path = source_file(spec)
    if path is None:
        if size is not None or fps is not None:
            log.info("size and fps requests are ignored for network streams")
        return StreamSource(spec)
    return FileSource(path, size=size, fps=fps, realtime=realtime, own_times=own_times)


def source_file(spec: str) -> Path | None:
    """The video file a ``--source`` value names, or None for a camera, the demo or a network stream."""
    spec = str(spec).strip()
    if spec in ("", "auto", "demo") or spec.isdigit():
        return None
    if spec.startswith("file://"):
        return Path(spec[len("file://"):])
    return None if _URL.match(spec) else Path(spec)


def list_devices(max_index: int = 8) -> list[Device]:
    """Cameras at indexes 0 .. max_index - 1 that open, with their default mode (OpenCV's warnings silenced)."""
    api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    found = []
    with _quiet_opencv():
        for index in range(max_index):
            if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{index}"):
                continue
            cap = cv2.VideoCapture(index, api)
            try:
                if cap.isOpened():
                    found.append(Device(index, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                        int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                                        float(cap.get(cv2.CAP_PROP_FPS)), cap.getBackendName()))
            finally:
                cap.release()
    return found


# -- helpers -------------------------------------------------------------------------------------
def _valid_fps(value: float) -> float | None:
    """A frame rate OpenCV reported, or None when it is missing or absurd."""
    return float(value) if math.isfinite(value) and 0.5 <= value <= 1000 else None


def _redact(url: str) -> str:
    """``url`` without a password (rtsp://user:secret@host -> rtsp://user:***@host)."""
    return re.sub(r"^([^:/]+://[^:/@]+):[^@/]*@", r"\1:***@", url)


@contextlib.contextmanager
def native_name(path: str | os.PathLike[str]) -> Iterator[str]:
    """A name for the file at ``path`` that native libraries (OpenCV, MediaPipe) take, while they open it.

    Their Python bindings crash the process (OpenCV: SIGSEGV) or refuse a ``str`` holding surrogates,
    which is how Python holds a file name that is not UTF-8; such a file is named by a descriptor open
    on it (``/proc/self/fd/N``, Linux).
    """
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        if not os.path.isdir("/proc/self/fd"):
            raise SourceError(f"cannot open {name!r}: its name is not UTF-8, which OpenCV and MediaPipe do not "
                              "take here; rename it") from None
    else:
        yield name
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise SourceError(f"cannot open {name!r}: {exc.strerror or exc}") from None
    try:
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


_QUIET_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's console warnings (e.g. while probing camera indexes) with its own log level.

    Only OpenCV's logging is changed, never file descriptor 2, so the other threads' messages
    still reach the terminal. FFmpeg inside OpenCV is quieted for good on first use through
    ``OPENCV_FFMPEG_LOGLEVEL`` (read by OpenCV at every open; a value the user set is kept).
    """
    with _QUIET_LOCK:
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            yield
        finally:
            cv2.utils.logging.setLogLevel(level)
