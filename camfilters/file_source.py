"""A video file as a frame source: every frame, in order, stamped with the file's own times, with its sound.

A thread reads the file with `camfilters.media.reader.VideoReader` (one PyAV demuxer for
video and sound) a few frames ahead. Frame ``i`` is stamped ``t0 + pts_i / speed``
(``t0``: when the first frame was read; ``speed``: the file's frame rate over the one asked
for, normally 1), so a recording of the frames keeps the file's timing however slowly they
are consumed. Each frame carries its share of the file's sound (`Sound`, resampled to
`SAMPLE_RATE` float, on the same clock): together the frames carry all of it, without gaps.
Reading waits for a frame's sound when the file stores it later than the frame (held frames
are bounded by `MAX_HELD_BYTES` and `MAX_HELD_S`).
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from .audio import SAMPLE_RATE
from .errors import EndReason, ParameterError, SourceError, reason
from .media.reader import VideoReader
from .source import DEFAULT_FPS, READ_TIMEOUT, Frame, Sound, Source, check_fps, check_size
from .threads import CancellableQueue, Cancelled, Worker

__all__ = ["MAX_HELD_BYTES", "MAX_HELD_S", "FileSource"]

log = logging.getLogger(__name__)

#: Decoded frames are held back while the file's sound for them is still to come (a file that stores its sound
#: later than its frames), up to this many bytes or seconds of video; then a frame goes on with the sound read
#: so far, and the next frames bring the rest (stamped at its own times).
MAX_HELD_BYTES = 256 * 2**20
MAX_HELD_S = 1.0


@dataclass(frozen=True)
class _End:
    reason: EndReason
    message: str


@dataclass(frozen=True)
class _Decoded:
    image: np.ndarray
    start: float  # s in the file, from the video stream's start
    end: float  # start + the frame's duration
    sound: Sound | None  # timestamp in file seconds; read() moves it onto the frames' clock


class FileSource(Source):
    """Every frame of a video file, in order, decoded ahead by a thread, with the file's times and sound.

    With ``realtime`` (default) ``read()`` releases frames as a player does: each one its
    duration (at ``fps``, default the file's rate) after the one before; a consumer that
    falls behind gets the next frame at once and the schedule restarts from there (no
    catch-up burst). With ``realtime=False`` frames come as fast as they are decoded. Either
    way the timestamp is the file's: ``t0 + pts / speed``; with ``own_times=False`` and
    ``realtime``, it is the release time instead (what a microphone recorded beside the
    preview keeps in step with: the real clock). ``size`` resizes frames
    (INTER_AREA). ``dropped`` is always 0. ``sound_format`` is ``(rate, channels)`` of the
    sound the frames carry, or None (no audio stream, ``audio=False``, or ``fps`` asked for
    another speed than the file's).

    The end is `EndReason.END_OF_FILE`, or `EndReason.SOURCE_CORRUPT` when the file is
    corrupt or cut short (`VideoReader`'s rule): the frames before that are still delivered.
    """

    live = False

    def __init__(self, path: str | os.PathLike, *, size: tuple[int, int] | None = None, fps: float | None = None,
                 realtime: bool = True, read_ahead: int = 4, audio: bool = True, own_times: bool = True) -> None:
        super().__init__()
        size, fps = check_size(size), check_fps(fps)
        if not isinstance(read_ahead, int) or read_ahead < 1:
            raise ParameterError(f"read_ahead must be an integer >= 1, got {read_ahead!r}")
        self.path = path = Path(path)
        self.name = f"file {path.name}"
        reader = VideoReader(path, audio=audio)
        file_fps = float(reader.stated_rate) if reader.stated_rate else None
        if file_fps is None and fps is None:
            log.warning("%s does not say its frame rate; playing it at %g fps", path, DEFAULT_FPS)
        self.fps = fps or file_fps or DEFAULT_FPS
        self.speed = self.fps / file_fps if file_fps else 1.0  # file seconds per second played
        self.frame_count = reader.frame_count
        self.size = size or reader.size
        self.realtime = realtime
        self.own_times = own_times or not realtime
        self.sound_format: tuple[int, int] | None = None
        if reader.sound is not None and abs(self.speed - 1) > 1e-3:
            log.warning("playing %s at %g fps, not its own %g: its sound is left out", path.name, self.fps, file_fps)
        elif reader.sound is not None:
            self.sound_format = (SAMPLE_RATE, 1 if reader.sound.layout.nb_channels == 1 else 2)
        self._reader = reader
        self._stop = threading.Event()
        self._queue: CancellableQueue[_Decoded | _End] = CancellableQueue(read_ahead, self._stop)
        self._index = 0
        self._t0: float | None = None  # the frames' clock: t0 + file seconds / speed
        self._next_release: float | None = None
        self._last_ts = -math.inf
        self._last_duration = 0.0  # s on the frames' clock, of the last frame read
        self._continue_at: float | None = None  # the first frame's time when continuing another source's clock
        self._thread = Worker(f"camfilters {self.name}", self._decode).start()

    # -- the decoding thread ----------------------------------------------------------------------
    def _decode(self) -> None:
        reader, decoded = self._reader, 0
        sound = _SoundBuffer(*self.sound_format) if self.sound_format else None
        held: collections.deque[tuple[np.ndarray, float, float]] = collections.deque()  # waiting for sound
        step = 1 / float(reader.rate)
        try:
            for item in reader:
                if isinstance(item, av.Packet):
                    if sound is not None:
                        sound.add(item, reader)
                    continue
                image = reader.image(item)
                if image is None:
                    break
                if self.size != reader.size:
                    image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
                start = float(reader.seconds(item)) if item.pts is not None else \
                    (held[-1][2] if held else decoded * step)
                duration = float(item.duration * item.time_base) if item.duration else step
                held.append((image, start, start + duration))
                while held and (sound is None or sound.done or sound.end >= held[0][2]
                                or len(held) * image.nbytes > MAX_HELD_BYTES or start - held[0][1] > MAX_HELD_S):
                    if not self._put(self._frame(held.popleft(), sound)):
                        return
                    decoded += 1
            if sound is not None:
                sound.finish()
            while held:
                if not self._put(self._frame(held.popleft(), sound)):
                    return
                decoded += 1
            self._put(self._end_of_file(decoded))
        except Exception as exc:  # noqa: BLE001 - the end of the stream says what happened
            message = str(exc) if isinstance(exc, SourceError) else f"{self.path}: decoding failed after " \
                f"{decoded} frames ({type(exc).__name__}: {exc})"
            self._put(_End(EndReason.SOURCE_CORRUPT, message))
        finally:
            reader.close()

    def _frame(self, held: tuple[np.ndarray, float, float], sound: _SoundBuffer | None) -> _Decoded:
        image, start, end = held
        return _Decoded(image, start, end, None if sound is None else sound.take(start, end))

    def _end_of_file(self, decoded: int) -> _End:
        """The end after ``decoded`` frames: corrupt or truncated by the reader's rule, else the end of the file."""
        damage, count = self._reader.damage, self.frame_count
        if damage is None:
            return _End(EndReason.END_OF_FILE, f"{self.name}: end of file")
        of = f" of its {count} frames" if count else " frames"
        return _End(EndReason.SOURCE_CORRUPT, f"{self.path} is truncated or corrupt: decoding stopped after "
                                              f"{decoded}{of} ({damage})")

    def _put(self, item: _Decoded | _End) -> bool:
        """Queue ``item`` unless closed meanwhile; False if closed."""
        try:
            self._queue.put(item)
        except Cancelled:
            return False
        return True

    # -- the consumer ---------------------------------------------------------------------------------
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
        now = release = time.monotonic()
        duration = (item.end - item.start) / self.speed
        if self.realtime:
            if self._next_release is not None and self._next_release > now:
                time.sleep(self._next_release - now)
                release = self._next_release
            self._next_release = release + duration
        if self._t0 is None:
            self._t0 = (self._continue_at if self._continue_at is not None else now) - item.start / self.speed
        self._last_duration = duration
        timestamp = self._t0 + item.start / self.speed if self.own_times else release
        timestamp = max(timestamp, self._last_ts + 1e-6)
        self._last_ts = timestamp
        sound = item.sound
        if sound is not None:
            sound = Sound(sound.samples, self._t0 + sound.timestamp)
        frame = Frame(item.image, timestamp, self._index, sound)
        self._index += 1
        return frame

    def continue_after(self, previous: FileSource) -> None:
        """Go on from where ``previous`` ended (a ``--loop`` replay): its release schedule, and its clock, so
        that this file's first frame follows its last frame by that frame's duration."""
        if self._index == 0 and previous._t0 is not None:
            self._next_release = previous._next_release if self.realtime else None
            self._last_ts = previous._last_ts
            self._continue_at = previous._last_ts + previous._last_duration

    def _release(self) -> None:
        self._queue.cancel()  # sets _stop and wakes the decoder thread if it waits for room
        if not self._thread.is_current():
            self._thread.join(timeout=2.0)


class _SoundBuffer:
    """The file's sound decoded so far, resampled to ``rate`` float with ``channels``, on the file's times."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self._resampler = av.AudioResampler(format="flt", layout="mono" if channels == 1 else "stereo", rate=rate)
        self._blocks: collections.deque[np.ndarray] = collections.deque()
        self._first: float | None = None  # file seconds of sample 0
        self._taken = 0  # samples handed out (or skipped) so far
        self._decoded = 0
        self._started = False  # the first frame took its sound
        self.done = False  # no more sound will come (the stream ended or failed)

    @property
    def end(self) -> float:
        """File seconds up to which the sound is decoded (-inf before any)."""
        return -math.inf if self._first is None else self._first + self._decoded / self.rate

    def add(self, packet: av.Packet, reader: VideoReader) -> None:
        """Decode ``packet``; a damaged sound track ends the sound there, with a warning, and the video goes on."""
        if self.done:
            return
        try:
            for frame in packet.decode():
                if self._first is None and frame.pts is not None:
                    self._first = float(reader.seconds(frame))
                self._append(self._resampler.resample(frame))
        except (OSError, av.FFmpegError, ValueError) as exc:
            log.warning("the sound of %s stops at %.1f s: %s", reader.path.name, max(self.end, 0.0), reason(exc))
            self.done = True

    def finish(self) -> None:
        """The end of the stream: what the resampler still holds."""
        if not self.done:
            self._append(self._resampler.resample(None))
            self.done = True

    def _append(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
            if len(samples):
                self._blocks.append(samples)
                self._decoded += len(samples)

    def take(self, start: float, end: float) -> Sound | None:
        """The samples not handed out yet up to ``end`` (file seconds), from ``start`` at the earliest."""
        if self._first is None:
            return None
        if not self._started:  # the sound before the first frame is not the frames'
            self._started = True
            self._pop(round((start - self._first) * self.rate))
        at = self._taken
        samples = self._pop(round((end - self._first) * self.rate) - self._taken)
        return Sound(samples, self._first + at / self.rate) if len(samples) else None

    def _pop(self, n: int) -> np.ndarray:
        """The next ``n`` decoded samples (fewer if not decoded yet), removed."""
        parts, want = [], max(0, n)
        while want and self._blocks:
            block = self._blocks.popleft()
            if len(block) > want:
                self._blocks.appendleft(block[want:])
                block = block[:want]
            parts.append(block)
            want -= len(block)
        taken = sum(len(p) for p in parts)
        self._taken += taken
        return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)
