"""Live recording: `Recorder` writes timed frames, and sound, to a crash-safe video file on a writer thread.

The file survives a crash up to about its last second (the README's "Recording and rendering"
tells the guarantee; `camfilters.media.writer` makes it). A sound track is in the same fragments
and clusters: the muxer holds a stream's packets back at most half a second waiting for the
other's, and silence stands in for a microphone that stops, so it keeps up. Closing still
matters for the last second and the fast-start layout: run the recorder in a ``with`` block, or
close it in ``finally``, and turn SIGTERM and SIGHUP into `KeyboardInterrupt` with
`camfilters.signals.interrupt_on_sigterm`. The formats, the path check and `VideoOutput`, now
in `camfilters.media`, are still importable from here.
"""

from __future__ import annotations

import atexit
import collections
import errno
import logging
import math
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from camfilters.errors import ParameterError, RecordingError, reason
from camfilters.media.avsync import AudioTrack
from camfilters.media.formats import FORMATS, LIVE_AUDIO_CODECS, OutputFormat, check_output_path
from camfilters.media.gif import GifOutput, GifSettings
from camfilters.media.repair import frames_in
from camfilters.media.writer import VideoOutput, open_output
from camfilters.signals import join_holding
from camfilters.threads import Worker
from camfilters.x264 import DEFAULT_CRF, DEFAULT_PRESET
from camfilters.x264 import PRESETS as X264_PRESETS

__all__ = [
    "DEFAULT_CRF",
    "DEFAULT_PRESET",
    "LIVE_PRESET",
    "FORMATS",
    "OutputFormat",
    "Recorder",
    "VideoOutput",
    "X264_PRESETS",
    "check_output_path",
]

log = logging.getLogger(__name__)

_PREALLOCATED = 4  # frame buffers made up front; enough while the encoder keeps up
# Live recordings share 2 cores with capture, filters and display at up to 60 fps: ultrafast
# halves the encoder's CPU (about 5 vs 10 ms per 720p frame measured) for ~1.5x larger files.
LIVE_PRESET = "ultrafast"


@dataclass(frozen=True)
class _Audio:
    """An audio block in the recorder's queue (frames are bare arrays)."""

    samples: np.ndarray


#: Audio blocks the recorder's queue takes at most (a writer that stalls loses sound, never blocks the callback).
_MAX_QUEUED_AUDIO = 2000
#: Seconds `Recorder.close` waits for the sound of the last frame to arrive.
_AUDIO_TAIL_WAIT_S = 0.5


class Recorder:
    """Writes frames with their capture times to a video file, encoding on a writer thread.

    ``Recorder(path, size=(w, h), fps=30.0)``: ``path`` is checked with
    `check_output_path`; ``size`` is the frame size every `write` must have; ``fps``
    is the nominal rate written in the stream header (the real timing comes from the
    timestamps). ``preset`` is the libx264 speed preset (ignored for ``.webm``);
    an existing file is refused unless ``overwrite``. ``audio=(rate, channels)`` adds
    a sound track (`LIVE_AUDIO_CODECS`: AAC, Opus in Matroska/WebM) fed by
    `write_audio` with timed blocks, placed on the frames' timeline by `AudioTrack`
    (gaps are silence, drift is resampled, it starts and ends with the video).
    A ``.gif`` is a `GifOutput` sized and timed by ``gif`` (default `GifSettings()`);
    it holds no sound (a warning says so) and appears only when closed.

    `write` copies the frame into a buffer from a pool and returns; the writer
    thread encodes in order. No frame is ever dropped: when the encoder falls behind,
    the pool grows up to ``max_buffer_bytes``, then `write` waits for a free buffer
    (a warning is logged once). An error on the writer thread is raised as
    `RecordingError` by the next `write` or by `close`. Call `write` from one
    thread; `close` may be called from any thread, more than once, and is also
    registered to run at interpreter exit.

    ``frames_written`` counts frames accepted by `write` (all of them are in the
    file after a successful `close`), ``frames_encoded`` those the writer thread has
    encoded; the difference is the backlog. The file is created with the first frame:
    a recording closed before any frame leaves none.

    The file is crash-safe (see `camfilters.media.writer`). When writing fails, e.g. on a
    full disk, the writer stops feeding the muxer, cuts the file back to what plays,
    and the `RecordingError` (one line) says what was kept: "disk full (/mnt) while
    recording /mnt/a.mp4: kept 57 frames (1.9 s); free space and record again". A
    file that kept no frame is removed. ``failed`` is then true.
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
        audio: tuple[int, int] | None = None,
        gif: GifSettings | None = None,
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
        rate = Fraction(fps).limit_denominator(1001)
        self._output = open_output(self.path, self.size, rate, gif=gif, preset=preset, crash_safe=True)
        self._audio: AudioTrack | None = None
        if audio is not None and not self._output.format.audio_codec:
            log.warning("%s holds no sound: the sound is not recorded", self.path.name)
            audio = None
        if audio is not None:
            try:
                self._output.add_audio(*audio, codec=LIVE_AUDIO_CODECS.get(self._output.format.container))
            except BaseException:
                self._output.close()
                raise
            self._audio = AudioTrack(self._output, *audio)
        self._audio_end = -math.inf  # monotonic end of the last audio block queued
        self._video_end = -math.inf  # monotonic end of the last frame queued (its time + one nominal frame)
        self._time_base = self._output.time_base
        self._frame_ticks = max(1, round(1 / (self.fps * self._time_base)))
        ew, eh = self._output.width, self._output.height
        self._max_buffers = max(2, max_buffer_bytes // (ew * eh * 3))
        self._lock = threading.Lock()  # serialises close()
        self._cond = threading.Condition()  # guards everything below
        self._free = [self._new_buffer() for _ in range(min(_PREALLOCATED, self._max_buffers))]
        self._allocated = len(self._free)
        self._inflight = 0  # buffers taken by write() and not yet queued
        self._queue: collections.deque[tuple[np.ndarray | _Audio, float]] = collections.deque()
        self._closing = False
        self._closed = False
        self._error_raised = False
        self._failing = False  # the writer thread hit an error (set before the writer publishes it)
        self._warned_full = False
        self.frames_written = 0
        self.frames_encoded = 0
        # Publishes any error (once the file is finalised, when `_fail` handles it) and wakes write() and close().
        self._writer = Worker(f"Recorder({self.path.name})", self._run, cond=self._cond).start()
        atexit.register(self.close)
        log.debug("encoder: %dx%d at %.3g fps (%s)", ew, eh, self.fps, self.path.name)

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
            while not self._free and self._allocated >= self._max_buffers and self._writer.error is None \
                    and not self._writer.finished:
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
                    self._video_end = float(timestamp) + 1.0 / self.fps
                    self.frames_written += 1
                elif buffer is None:
                    self._allocated -= 1
                else:
                    self._free.append(buffer)
                self._inflight -= 1
                self._cond.notify_all()

    def write_audio(self, samples: np.ndarray, timestamp: float) -> None:
        """Queue ``(n, channels) float32`` samples whose first was captured at ``timestamp`` (monotonic s).

        Never blocks (safe in an audio callback); ignored once closing, failed, or if the
        recorder has no audio. The recorder places blocks by their times (see `AudioTrack`).
        """
        if self._audio is None:
            return
        with self._cond:
            if self._closing or self._failing or len(self._queue) > _MAX_QUEUED_AUDIO:
                return
            self._queue.append((_Audio(samples), timestamp))
            self._audio_end = max(self._audio_end, timestamp + len(samples) / self._audio.rate)
            self._cond.notify_all()

    @property
    def failed(self) -> bool:
        """Whether writing failed; the file then holds only the frames the error message names."""
        return self._writer.error is not None

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
                if self._audio is not None:  # the sound of the last frame is still on its way: wait for it a little
                    self._writer.wait_for(lambda: self._audio_end >= self._video_end, _AUDIO_TAIL_WAIT_S)
                self._closing = True
                self._cond.notify_all()
            try:
                join_holding([self._writer], note=lambda: log.warning("finishing %s before stopping", self.path))
            finally:
                self._closed = True
                atexit.unregister(self.close)
                log.debug("recorded %d frames to %s", self.frames_encoded, self.path)
        with self._cond:
            self._raise_if_failed()

    def _raise_if_failed(self, *, always: bool = False) -> None:
        """Raise the writer thread's error: always (write), or if no call has raised it yet (close)."""
        error = self._writer.error
        if error is not None and (always or not self._error_raised):
            self._error_raised = True
            if isinstance(error, RecordingError):
                raise error
            raise RecordingError(f"recording to {self.path} failed: {reason(error)}") from error

    def _run(self) -> None:
        """The writer thread: encode queued items in order until closed and drained, then finalise.

        Any error while encoding stops it (`_fail`); the queue is still drained, so `write` never waits.
        """
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
            if not self._failing:
                try:
                    if isinstance(buffer, _Audio):
                        self._audio.add(buffer.samples, timestamp)
                        continue
                    if first is None:
                        first = timestamp
                        if self._audio is not None:
                            self._audio.begin(first)
                    pts = max(round((timestamp - first) / self._time_base), last_pts + 1)
                    if last_pts >= 0:
                        duration = pts - last_pts  # the last frame lasts as long as the one before it
                    last_pts = pts
                    self._output.encode(buffer, pts, duration)
                    self.frames_encoded += 1
                    if self._audio is not None:
                        self._audio.release(first + float(pts * self._time_base))
                except BaseException as exc:  # noqa: BLE001 - reported by write()/close()
                    self._fail(exc)
            if not isinstance(buffer, _Audio):
                with self._cond:
                    self._free.append(buffer)
                    self._cond.notify_all()
        if not self._failing:
            try:
                if self._audio is not None and first is not None:  # the muxer gives the last frame a nominal length
                    self._audio.finish(first + float((last_pts + self._frame_ticks) * self._time_base))
                self._output.close()
            except BaseException as exc:  # noqa: BLE001 - reported by close()
                self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """Stop encoding, finalise what the file holds, and publish one error line saying what was kept."""
        log.debug("recording to %s failed: %r", self.path, exc)
        self._failing = True
        try:
            self._output.close()  # writes nothing more after a failed write; cuts the file back to what plays
        except BaseException as again:  # noqa: BLE001 - the first error is the one reported
            log.debug("finalising %s after the failure: %r", self.path, again)
        whole = isinstance(self._output, GifOutput)  # put in place only once complete: the name holds what it held
        frames, seconds = (0, 0.0) if whole else frames_in(self.path)
        if frames:
            kept = f"kept {frames} frame{'s' if frames > 1 else ''} ({seconds:.1f} s)"
        else:
            kept = "nothing could be kept"
            if not whole:
                self.path.unlink(missing_ok=True)
        if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            message = f"disk full ({_mount_point(self.path)}) while recording {self.path}: {kept}; " \
                      "free space and record again"
        else:
            message = f"recording to {self.path} failed: {reason(exc)}; {kept}"
        error = RecordingError(message)
        error.__cause__ = exc
        self._writer.publish(error)


def _mount_point(path: Path) -> Path:
    """The mount point of the file system holding ``path`` (its folder must exist)."""
    folder = path.resolve().parent
    while not os.path.ismount(folder):
        folder = folder.parent
    return folder
