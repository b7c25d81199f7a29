"""Frame sources: cameras, video files, network streams and the built-in demo.

`open_source(spec)` returns a `Source`; ``read()`` gives `Frame` objects whose
``image`` is ``(H, W, 3) uint8 BGR`` and C-contiguous. Two kinds of source:

- **live** (camera, network stream, demo): a thread captures or renders frames
  and keeps only the newest; ``read()`` returns the newest frame not read yet,
  waiting for one if needed. Frames the consumer was too slow to take are
  counted in ``dropped`` and show up as gaps in ``Frame.index``. No queue of
  stale frames builds up, so a slow filter lowers the frame rate, not the lag.
- **file**: every frame, in order. A thread decodes a few frames ahead; by
  default ``read()`` releases them at the file's frame rate (or ``fps``) like a
  player, so a live loop plays the clip in real time. ``realtime=False``
  releases them as fast as they are asked for (offline rendering, benchmarks).

Ownership: the array in a returned `Frame` belongs to the consumer; the source
never writes to it again (buffers are recycled only from frames that were
dropped, never from frames handed out). Timestamps are ``time.monotonic()``
seconds, strictly increasing per source: the capture time for live sources, the
release time for paced files, and ``start + index / fps`` for unpaced files.

``read()`` returns None once the stream has ended; ``ended`` (an `EndReason`)
then says why and ``end_message`` says it in words ("camera 0 stopped
delivering frames", ...). A live source that delivers nothing for ``timeout``
seconds (default: 2 s, or 3 frame periods at a low frame rate) is ended too, so
the consumer never hangs on a dead camera. A file that stops decoding before the
frame count its container states ends as `EndReason.SOURCE_CORRUPT`.
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

from .argtypes import FPS_RANGE
from .demo import DemoScene
from .errors import CameraNotFound, EndReason, ParameterError, SourceError
from .threads import CancellableQueue, Cancelled, LatestSlot, Worker

__all__ = ["CameraSource", "DemoSource", "Device", "FileSource", "Frame", "Source", "StreamSource",
           "list_devices", "native_name", "open_source", "source_file"]

log = logging.getLogger(__name__)

DEFAULT_DEMO_SIZE = (1280, 720)
DEFAULT_FPS = 30.0
FIRST_FRAME_TIMEOUT = 5.0  # s a camera or stream may take to deliver its first frame when opened
MAX_READ_FAILURES = 10  # consecutive failed reads that end a camera or stream
READ_TIMEOUT = 2.0  # s without a frame that ends a live source (at least 3 frame periods)
_MAX_INDEX = 2**31 - 1  # the largest camera index OpenCV takes (a C int)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class Frame:
    """One captured frame; the consumer owns ``image``."""

    image: np.ndarray  # (H, W, 3) uint8 BGR
    timestamp: float  # s, time.monotonic() when captured / released
    index: int  # 0-based number of the frame at the source; gaps are frames the consumer missed


@dataclass(frozen=True)
class Device:
    """A camera found by `list_devices`, with the mode it opens in by default."""

    index: int
    width: int
    height: int
    fps: float
    backend: str


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


# -- live sources: a producer thread and a latest-frame-wins slot ------------------------------
class _LiveSource(Source):
    """A source whose thread (``_produce``) publishes frames with ``_publish``; newest wins."""

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
        size, fps = _check_size(size), _check_fps(fps)
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
        self.size = _check_size(size) or DEFAULT_DEMO_SIZE
        self.fps = _check_fps(fps) or DEFAULT_FPS
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


# -- files -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _End:
    reason: EndReason
    message: str


class FileSource(Source):
    """Every frame of a video file, in order, decoded ahead by a thread.

    With ``realtime`` (default) ``read()`` releases frames at ``fps`` (default:
    the file's rate) and the timestamp is the release time; a consumer that falls
    behind gets the next frame at once and the schedule restarts from there (no
    catch-up burst). With ``realtime=False`` frames come as fast as they are
    decoded and frame ``i`` is stamped ``t0 + i / fps`` (``t0`` = first read).
    ``size`` resizes frames (INTER_AREA). ``dropped`` is always 0.

    The end is `EndReason.END_OF_FILE`, or `EndReason.SOURCE_CORRUPT` when decoding
    fails or stops clearly short of the frame count the container states (a file
    cut off or damaged): the frames before that are still delivered.
    """

    live = False

    def __init__(self, path: str | os.PathLike, *, size: tuple[int, int] | None = None, fps: float | None = None,
                 realtime: bool = True, read_ahead: int = 4) -> None:
        super().__init__()
        size, fps = _check_size(size), _check_fps(fps)
        if not isinstance(read_ahead, int) or read_ahead < 1:
            raise ParameterError(f"read_ahead must be an integer >= 1, got {read_ahead!r}")
        path = Path(path)
        self.path = path
        self.name = f"file {path.name}"
        try:
            is_file = path.is_file()
        except OSError as exc:  # e.g. a name too long for the file system
            raise SourceError(f"cannot open video file {path}: {exc.strerror or exc}") from None
        if not is_file:
            raise SourceError(f"video file {path} {'is not a file' if path.exists() else 'does not exist'}")
        with _quiet_opencv(), native_name(path) as name:
            cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
            ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            cap.release()
            raise SourceError(f"{path} is not a video file OpenCV can read")
        file_fps = _valid_fps(cap.get(cv2.CAP_PROP_FPS))
        if file_fps is None and fps is None:
            log.warning("%s does not say its frame rate; playing it at %g fps", path, DEFAULT_FPS)
        self.fps = fps or file_fps or DEFAULT_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.size = size or (first.shape[1], first.shape[0])
        self.realtime = realtime
        self._cap = cap
        self._stop = threading.Event()
        self._queue: CancellableQueue[np.ndarray | _End] = CancellableQueue(read_ahead, self._stop)
        self._index = 0
        self._next_release: float | None = None
        self._t0: float | None = None
        self._last_ts = -math.inf
        self._thread = Worker(f"camfilters {self.name}", lambda: self._decode(first)).start()

    def _decode(self, first: np.ndarray) -> None:
        image: np.ndarray | None = first
        decoded = 0
        try:
            while image is not None:
                if self.size != (image.shape[1], image.shape[0]):
                    image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
                if not self._put(image):
                    return
                decoded += 1
                ok, image = self._cap.read()
                if not ok:
                    image = None
            self._put(self._end_of_file(decoded))
        except Exception as exc:
            self._put(_End(EndReason.SOURCE_CORRUPT, f"{self.path}: decoding failed after {decoded} frames "
                                                     f"({type(exc).__name__}: {exc})"))
        finally:
            self._cap.release()

    def _end_of_file(self, decoded: int) -> _End:
        """The end after ``decoded`` frames: short of the stated count by more than 2 % (or 1 frame) is corrupt."""
        count = self.frame_count
        if count is not None and decoded + max(1, count // 50) < count:
            return _End(EndReason.SOURCE_CORRUPT, f"{self.path} is truncated or corrupt: decoding stopped after "
                                                  f"{decoded} of its {count} frames")
        return _End(EndReason.END_OF_FILE, f"{self.name}: end of file")

    def _put(self, item: np.ndarray | _End) -> bool:
        """Queue ``item`` unless closed meanwhile; False if closed."""
        try:
            self._queue.put(item)
        except Cancelled:
            return False
        return True

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame of the file (waiting until its release time when ``realtime``), or None at the end."""
        if self.ended is not None:
            return None
        timeout = READ_TIMEOUT if timeout is None else timeout
        try:
            item = self._queue.get(timeout=timeout)
        except TimeoutError:
            self._end(EndReason.SOURCE_LOST, f"{self.name}: the decoder delivered no frame for {timeout:g} s")
            return None
        except Cancelled:  # closed
            return None
        if isinstance(item, _End):
            self._end(item.reason, item.message)
            return None
        now = time.monotonic()
        if self.realtime:
            release = now if self._next_release is None else self._next_release
            if release > now:
                time.sleep(release - now)
            else:
                release = now
            self._next_release = release + 1.0 / self.fps
            timestamp = release
        else:
            if self._t0 is None:
                self._t0 = now
            timestamp = self._t0 + self._index / self.fps
        timestamp = max(timestamp, self._last_ts + 1e-6)
        self._last_ts = timestamp
        frame = Frame(item, timestamp, self._index)
        self._index += 1
        return frame

    def continue_after(self, previous: FileSource) -> None:
        """Release the first frame on ``previous``'s schedule (a ``--loop`` replay), not at once."""
        if self.realtime and self._index == 0:
            self._next_release = previous._next_release

    def _release(self) -> None:
        self._queue.cancel()  # sets _stop and wakes the decoder thread if it waits for room
        if not self._thread.is_current():
            self._thread.join(timeout=2.0)


# -- opening -------------------------------------------------------------------------------------
def open_source(spec: str = "auto", *, size: tuple[int, int] | None = None, fps: float | None = None,
                realtime: bool = True) -> Source:
    """Open a source from a ``--source`` value (raises SourceError or ParameterError).

    ``spec``: "auto" (camera 0, or the demo with one warning when there is
    none), "N" (camera N), "demo", a URL (``http://``, ``rtsp://``, ...: a live
    network stream) or a video file path. ``size`` (width, height) and ``fps``
    are requested from a camera, set the demo's, resize a file's frames and set
    its playback rate; a stream ignores them. ``realtime=False`` makes a file
    deliver frames unpaced (offline rendering); it has no effect on live sources.
    """
    size, fps = _check_size(size), _check_fps(fps)
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
    return FileSource(path, size=size, fps=fps, realtime=realtime)


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
def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
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


def _check_fps(fps: float | None) -> float | None:
    if fps is None:
        return None
    low, high = FPS_RANGE
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not low <= fps <= high:
        raise ParameterError(f"fps must be a number from {low:g} to {high:g}, got {fps!r}")
    return float(fps)


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
