"""Recording frames to a video file, encoded on a writer thread.

Output formats by extension (see `FORMATS`): ``.mp4`` and ``.mov`` hold H.264
(libx264, yuv420p, ``+faststart`` so players can start before the end is loaded),
``.mkv`` holds H.264 too, ``.webm`` holds VP9. yuv420p needs an even width and
height: an odd frame loses its last column and/or row (cropped, never scaled).
Colours are converted with OpenCV's BT.601 limited-range ("TV") BGR to I420
conversion and tagged as such (``smpte170m``, ``tv``) in the stream.

A file is only playable once `Recorder.close` has finalised it (for MP4/MOV that
writes the index, the ``moov`` atom). Run the recorder in a ``with`` block, or
close it in ``finally``, and turn SIGTERM into `KeyboardInterrupt` with
`interrupt_on_sigterm` so that a terminated app still closes it. SIGKILL
cannot be caught: an MP4 killed that way is unplayable, an MKV keeps the frames
written so far.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import math
import os
import signal
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from camfilters.errors import OutputExistsError, ParameterError, RecordingError

__all__ = [
    "DEFAULT_PRESET",
    "LIVE_PRESET",
    "FORMATS",
    "OutputFormat",
    "Recorder",
    "VideoOutput",
    "X264_PRESETS",
    "check_output_path",
    "interrupt_on_sigterm",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputFormat:
    """How files with one extension are written."""

    container: str  # FFmpeg muxer name
    video_codec: str
    audio_codec: str  # used when a rendered input's audio cannot be copied as it is
    time_base: Fraction  # of the video stream; Matroska stores milliseconds
    video_options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)


_X264 = {"crf": "23"}
_FASTSTART = {"movflags": "+faststart"}
FORMATS: dict[str, OutputFormat] = {
    ".mkv": OutputFormat("matroska", "libx264", "aac", Fraction(1, 1000), _X264),
    ".mov": OutputFormat("mov", "libx264", "aac", Fraction(1, 90000), _X264, _FASTSTART),
    ".mp4": OutputFormat("mp4", "libx264", "aac", Fraction(1, 90000), _X264, _FASTSTART),
    ".webm": OutputFormat(
        "webm",
        "libvpx-vp9",
        "libopus",
        Fraction(1, 1000),
        {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
    ),
}
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
_PREALLOCATED = 4  # frame buffers made up front; enough while the encoder keeps up
# libx264 speed preset. CPU per 1280x720 frame measured on a busy 2-core machine: ultrafast 6-9 ms,
# superfast 7-13 ms, veryfast 10-17 ms (1080p: 13-17, 23-31, 30-39 ms); veryfast files were ~3x smaller.
DEFAULT_PRESET = "superfast"
# Live recordings share 2 cores with capture, filters and display at up to 60 fps: ultrafast
# halves the encoder's CPU (about 5 vs 10 ms per 720p frame measured) for ~1.5x larger files.
LIVE_PRESET = "ultrafast"


def check_output_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """``path`` as a `Path` if a video can be written there, else `RecordingError`.

    Checks the extension (one of `FORMATS`), that the folder exists and takes
    the file, and that no file is there unless ``overwrite`` (`OutputExistsError`,
    as ffmpeg refuses without ``-y``). An existing file's bytes are not changed,
    so a bad path is refused before capture starts and nothing is lost.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if path.is_dir():
        raise RecordingError(f"cannot write {path}: it is a folder; give a file name such as {path / 'out.mp4'}")
    if suffix not in FORMATS:
        raise RecordingError(
            f"cannot write {path}: unsupported extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(FORMATS))}"
        )
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise RecordingError(f"cannot write {path}: folder {folder} {what}; create it or choose another folder")
    existed = os.path.lexists(path)
    if existed and not overwrite:
        raise OutputExistsError(f"{path} already exists; add -y (--overwrite) to replace it, or choose another name")
    try:  # opening (never truncating) proves the name and the folder take a file
        with open(path, "r+b" if existed else "xb"):
            pass
    except OSError as exc:
        raise RecordingError(f"cannot write {path}: {exc.strerror or exc}; choose a writable folder") from exc
    if not existed:
        path.unlink()
    return path


class VideoOutput:
    """An open output file with one video stream (and optionally more streams); not thread-safe.

    The building block of `Recorder` and `camfilters.render`: frames go in as
    ``(H, W, 3) uint8 BGR`` with a pts in ``time_base`` units. All streams must be
    added before the first `encode`.
    """

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        rate: Fraction,
        *,
        time_base: Fraction | None = None,
        preset: str = DEFAULT_PRESET,
    ) -> None:
        if preset not in X264_PRESETS:
            raise ParameterError(f"preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}")
        self.path = path
        self.format = FORMATS[path.suffix.lower()]
        self.width, self.height = size[0] - size[0] % 2, size[1] - size[1] % 2  # yuv420p needs even sides
        self.time_base = time_base or self.format.time_base
        options = dict(self.format.video_options)
        if self.format.video_codec == "libx264":
            options["preset"] = preset
        try:
            self.container = av.open(
                str(path), "w", format=self.format.container, options=self.format.container_options
            )
        except (OSError, av.FFmpegError) as exc:
            raise RecordingError(f"cannot write {path}: {exc}") from exc
        try:
            stream = self.container.add_stream(self.format.video_codec, rate=rate, options=options)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.time_base = self.time_base
            ctx = stream.codec_context
            ctx.time_base = self.time_base
            ctx.colorspace = 6  # AVCOL_SPC_SMPTE170M: BT.601, as cv2.COLOR_BGR2YUV_I420 computes
            ctx.color_range = 1  # AVCOL_RANGE_MPEG: limited ("TV") range
            ctx.thread_count = 0  # FFmpeg picks from the core count
        except BaseException:
            self.container.close()
            raise
        self.stream = stream

    def encode(self, image: np.ndarray, pts: int, duration: int) -> None:
        """Encode and mux one ``(H, W, 3) uint8 BGR`` frame (cropped to the even size)."""
        image = image[: self.height, : self.width]
        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)  # new array: FFmpeg may keep a reference
        frame = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p")
        frame.pts, frame.duration, frame.time_base = pts, duration, self.time_base
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        """Flush the encoder and finalise the file; closes the file even if flushing fails."""
        if not self.container:
            return
        try:
            self.container.mux(self.stream.encode(None))
        finally:
            container, self.container = self.container, None
            container.close()


class Recorder:
    """Writes frames with their capture times to a video file, encoding on a writer thread.

    ``Recorder(path, size=(w, h), fps=30.0)``: ``path`` is checked with
    `check_output_path`; ``size`` is the frame size every `write` must have; ``fps``
    is the nominal rate written in the stream header (the real timing comes from the
    timestamps). ``preset`` is the libx264 speed preset (ignored for ``.webm``);
    an existing file is refused unless ``overwrite``.

    `write` copies the frame into a buffer from a pool and returns; the writer
    thread encodes in order. No frame is ever dropped: when the encoder falls behind,
    the pool grows up to ``max_buffer_bytes``, then `write` waits for a free buffer
    (a warning is logged once). An error on the writer thread is raised as
    `RecordingError` by the next `write` or by `close`. Call `write` from one
    thread; `close` may be called from any thread, more than once, and is also
    registered to run at interpreter exit.

    ``frames_written`` counts frames accepted by `write` (all of them are in the
    file after `close`), ``frames_encoded`` those the writer thread has encoded;
    the difference is the backlog. The file is created with the first frame: a
    recording closed before any frame leaves none.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        size: tuple[int, int],
        fps: float = 30.0,
        *,
        preset: str = DEFAULT_PRESET,
        max_buffer_bytes: int = 256 * 2**20,
        overwrite: bool = False,
    ) -> None:
        width, height = size
        if not (isinstance(width, int) and isinstance(height, int) and width >= 2 and height >= 2):
            raise ParameterError(f"size must be (width, height) integers >= 2, got {size!r}")
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ParameterError(f"fps must be a positive number, got {fps!r}")
        if max_buffer_bytes <= 0:
            raise ParameterError(f"max_buffer_bytes must be > 0, got {max_buffer_bytes!r}")
        self.path = check_output_path(path, overwrite=overwrite)
        self.size = (width, height)
        self.fps = float(fps)
        self._output = VideoOutput(self.path, self.size, Fraction(fps).limit_denominator(1001), preset=preset)
        self._time_base = self._output.time_base
        self._frame_ticks = max(1, round(1 / (self.fps * self._time_base)))
        ew, eh = self._output.width, self._output.height
        self._max_buffers = max(2, max_buffer_bytes // (ew * eh * 3))
        self._lock = threading.Lock()  # serialises close()
        self._cond = threading.Condition()  # guards everything below
        self._free = [self._new_buffer() for _ in range(min(_PREALLOCATED, self._max_buffers))]
        self._allocated = len(self._free)
        self._inflight = 0  # buffers taken by write() and not yet queued
        self._queue: collections.deque[tuple[np.ndarray, float]] = collections.deque()
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self._error_raised = False
        self._warned_full = False
        self.frames_written = 0
        self.frames_encoded = 0
        self._thread = threading.Thread(target=self._run, name=f"Recorder({self.path.name})", daemon=True)
        self._thread.start()
        atexit.register(self.close)
        log.debug("recording %dx%d at %.3g fps to %s", ew, eh, self.fps, self.path)

    def __repr__(self) -> str:
        return f"Recorder({str(self.path)!r}, size={self.size}, fps={self.fps:g})"

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, image: np.ndarray, timestamp: float) -> None:
        """Queue one ``(H, W, 3) uint8 BGR`` frame captured at ``timestamp`` seconds (monotonic clock).

        Timestamps should increase; a frame whose timestamp does not is given the
        smallest later time the file can hold. Blocks only while the buffer budget
        is full. Raises `RecordingError` once the writer thread has failed.
        """
        width, height = self.size
        if image.shape != (height, width, 3) or image.dtype != np.uint8:
            raise ParameterError(
                f"frame must be ({height}, {width}, 3) uint8 to match the recording size, "
                f"got {image.shape} {image.dtype}"
            )
        if not math.isfinite(timestamp):
            raise ParameterError(f"timestamp must be a finite number of seconds, got {timestamp!r}")
        with self._cond:
            self._raise_if_failed(always=True)
            if self._closing:
                raise RecordingError(f"recording to {self.path} is closed")
            while not self._free and self._allocated >= self._max_buffers and self._error is None:
                if not self._warned_full:
                    log.warning("the encoder is behind: recording waits for it (%d frames buffered)", self._allocated)
                    self._warned_full = True
                self._cond.wait()
            self._raise_if_failed(always=True)
            buffer = self._free.pop() if self._free else None
            if buffer is None:
                self._allocated += 1
            self._inflight += 1
        copied = False
        try:
            if buffer is None:
                buffer = self._new_buffer()
            np.copyto(buffer, image[: buffer.shape[0], : buffer.shape[1]])
            copied = True
        finally:  # also on KeyboardInterrupt, so close() never waits for a lost buffer
            with self._cond:
                if copied:
                    self._queue.append((buffer, float(timestamp)))
                    self.frames_written += 1
                elif buffer is None:
                    self._allocated -= 1
                else:
                    self._free.append(buffer)
                self._inflight -= 1
                self._cond.notify_all()

    def _new_buffer(self) -> np.ndarray:
        buffer = np.empty((self._output.height, self._output.width, 3), np.uint8)
        buffer.fill(0)  # touch the pages now rather than in the first write()
        return buffer

    def close(self) -> None:
        """Encode every queued frame, finalise the file and stop the writer thread; idempotent.

        Raises `RecordingError` if the writer thread failed and no `write` has
        reported it yet. A `KeyboardInterrupt` while closing is held back until the
        file is finalised, then re-raised.
        """
        with self._lock:
            if self._closed:
                return
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            interrupted = False
            while self._thread.is_alive():
                try:
                    self._thread.join()
                except KeyboardInterrupt:
                    log.warning("finishing %s before stopping", self.path)
                    interrupted = True
            self._closed = True
            atexit.unregister(self.close)
            log.debug("recorded %d frames to %s", self.frames_encoded, self.path)
        if interrupted:
            raise KeyboardInterrupt
        with self._cond:
            self._raise_if_failed()

    def _raise_if_failed(self, *, always: bool = False) -> None:
        """Raise the writer thread's error: always (write), or if no call has raised it yet (close)."""
        if self._error is not None and (always or not self._error_raised):
            self._error_raised = True
            raise RecordingError(f"recording to {self.path} failed: {self._error}") from self._error

    def _run(self) -> None:
        """The writer thread: encode queued frames in order until closed and drained, then finalise."""
        first: float | None = None
        last_pts = -1
        duration = self._frame_ticks
        while True:
            with self._cond:
                while not self._queue and (not self._closing or self._inflight):
                    self._cond.wait()
                if not self._queue:
                    break
                buffer, timestamp = self._queue.popleft()
            if self._error is None:
                if first is None:
                    first = timestamp
                pts = max(round((timestamp - first) / self._time_base), last_pts + 1)
                if last_pts >= 0:
                    duration = pts - last_pts  # the last frame lasts as long as the one before it
                try:
                    self._output.encode(buffer, pts, duration)
                    self.frames_encoded += 1
                except BaseException as exc:  # noqa: BLE001 - reported by write()/close()
                    log.debug("recording to %s failed: %s", self.path, exc)
                    self._error = exc
                last_pts = pts
            with self._cond:
                self._free.append(buffer)
                self._cond.notify_all()
        try:
            self._output.close()
        except BaseException as exc:  # noqa: BLE001 - reported by close()
            log.debug("finalising %s failed: %s", self.path, exc)
            with self._cond:
                self._error = self._error or exc


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises `KeyboardInterrupt` in the main thread, as Ctrl-C does.

    So ``finally`` blocks and ``with`` exits run (closing a `Recorder`) when the
    app is terminated. Call from the main thread; the old handler is restored after.
    """

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
