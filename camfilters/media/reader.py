"""Reading a video file: one PyAV demuxer gives its upright frames with their times and its sound.

`VideoReader` is how `render` and a file source (`camfilters.file_source.FileSource`) read files:
from one demux, in file order, the video frames (turned upright by their display rotation, which
FFmpeg reports on the frame) and the first audio stream's packets (copied or decoded by the caller).

Frames larger than `MAX_PIXELS` are refused before any is decoded, and a file that is corrupt or
cut short ends with ``damage`` set, by one rule: a decode error; an MP4/MOV with fewer video
packets than its sample table lists (exact); else a video stream ending more than
`TRUNCATION_SLACK_S` before the duration its header states (Matroska/WebM ``DURATION`` tags).
Not detected: an AVI that lost its index with its tail.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from camfilters.errors import SourceError, reason

__all__ = ["MAX_PIXELS", "MIN_SIDE", "TRUNCATION_SLACK_S", "VideoReader", "check_input", "frame_total", "to_bgr"]

log = logging.getLogger(__name__)

MIN_SIDE = 2  # pixels: yuv420p holds no smaller picture
MAX_PIXELS = 7680 * 4320  # 8K UHD: 100 MB a BGR frame; a bigger header is refused, not decoded
TRUNCATION_SLACK_S = Fraction(1, 4)  # seconds a stream may end before the duration its header states
_FAILED = "decoding failed: "
_BT601 = {2, 5, 6}  # AVCOL_SPC_UNSPECIFIED, BT470BG, SMPTE170M: what cv2's I420 conversion assumes
# Turning a frame upright, by its display rotation in degrees counter-clockwise (as FFmpeg reports it).
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def check_input(path: Path) -> None:
    """`SourceError` unless ``path`` is a regular file (a device such as /dev/zero never ends)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SourceError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {reason(exc)}") from None
    if stat.S_ISDIR(mode):
        raise SourceError(f"cannot read {path}: it is a folder; give a video file")
    if not stat.S_ISREG(mode):
        raise SourceError(f"cannot read {path}: not a regular file (a device, pipe or socket); give a video file")


def to_bgr(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as (H, W, 3) uint8 BGR; OpenCV's conversion where it gives the same colours (faster)."""
    if (
        frame.format.name == "yuv420p"
        and frame.colorspace in _BT601
        and frame.color_range != 2  # not full ("JPEG") range
        and frame.width % 2 == 0
        and frame.height % 2 == 0
    ):
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")


class VideoReader:
    """A video file's frames and first audio stream, from one demuxer; a context manager.

    After opening: ``size`` (upright width, height), ``rotation`` (degrees counter-clockwise
    the frames are turned by), ``rate`` (the average frame rate; 30 if the file does not
    say, ``stated_rate`` is then None), ``time_base`` and ``base`` (the video stream's
    start, in its time base), ``frame_count`` (from the header, or None), ``sound`` (the
    first audio stream, or None; ``audio=False`` leaves it out). Iterating yields the video
    frames and audio packets in file order, from the first frame on (or from `seek`); once it
    is exhausted, ``damage`` says why the file looks corrupt or truncated (None if not).

    Raises `SourceError` (one line naming the file) for a missing or non-regular file, one
    PyAV cannot open, without a video stream, whose first frame does not decode, or whose
    frames are smaller than 2x2 or larger than `MAX_PIXELS`.
    """

    def __init__(self, path: str | os.PathLike[str], *, audio: bool = True) -> None:
        self.path = path = Path(path)
        check_input(path)
        try:
            self.container = av.open(str(path))
        except (OSError, av.FFmpegError) as exc:
            raise SourceError(f"cannot read {path}: not a video file ({reason(exc)})") from None
        try:
            self._open(audio)
        except BaseException:
            self.container.close()
            raise

    def _open(self, audio: bool) -> None:
        path, source = self.path, self.container
        if not source.streams.video:
            raise SourceError(f"cannot read {path}: it has no video stream")
        self.video = video = source.streams.video[0]
        video.thread_type = "AUTO"  # frame and slice threads in the decoder
        self.sound = source.streams.audio[0] if audio and source.streams.audio else None
        rate = video.average_rate or video.guessed_rate
        self.stated_rate = Fraction(rate) if rate else None
        self.rate = self.stated_rate or Fraction(30)
        self.time_base: Fraction = video.time_base
        self.base = video.start_time or 0
        self.frame_count = _frame_total(source, video)
        width, height = video.codec_context.width, video.codec_context.height
        if width * height > MAX_PIXELS:
            raise _too_big(path, width, height)
        self.damage: str | None = None
        self._seeked = False
        self._pending: list[av.VideoFrame | av.Packet] = []  # read while finding the first frame
        self._demux = self._packets()
        first = self._first_frame()
        self.rotation = round(first.rotation / 90) % 4 * 90
        if self.rotation != first.rotation % 360:
            log.warning("%s: display rotation %d° rounded to %d°", path, first.rotation, self.rotation)
        width, height = first.width, first.height
        if min(width, height) < MIN_SIDE:
            raise SourceError(f"{path} is {width}x{height}: too small to encode; videos need at least 2x2")
        if width * height > MAX_PIXELS:
            raise _too_big(path, width, height)
        self.size = (height, width) if self.rotation in (90, 270) else (width, height)
        self._turn = _UPRIGHT.get(self.rotation)

    def _first_frame(self) -> av.VideoFrame:
        """Demux up to the first video frame, keeping what was read on the way for the iteration."""
        for item in self._demux:
            self._pending.append(item)
            if isinstance(item, av.VideoFrame):
                return item
        if self.damage is not None and self.damage.startswith(_FAILED):
            raise SourceError(f"{self.path} is corrupt: its first frame does not decode "
                              f"({self.damage[len(_FAILED):]})")
        if self.video.frames or self.video.duration or self.container.duration:
            raise SourceError(f"{self.path} is corrupt or truncated: not one frame decodes")
        raise SourceError(f"cannot read {self.path}: it has no video frames")

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (idempotent)."""
        self._demux.close()
        self.container.close()

    def seek(self, seconds: float) -> None:
        """Start the iteration at the keyframe at or before ``seconds`` from the video's start."""
        self._demux.close()
        self._pending = []
        self._seeked = True
        self.container.seek(self.base + round(Fraction(seconds) / self.time_base), stream=self.video)
        self._demux = self._packets()

    def __iter__(self) -> Iterator[av.VideoFrame | av.Packet]:
        """Video frames and audio packets in file order; sets ``damage`` at the end."""
        pending, self._pending = self._pending, []
        yield from pending
        yield from self._demux

    def _packets(self) -> Iterator[av.VideoFrame | av.Packet]:
        streams = [self.video] if self.sound is None else [self.video, self.sound]
        packets, end = 0, None
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.index != self.video.index:
                    if packet.dts is not None and packet.size:  # not the end-of-stream marker
                        yield packet
                    continue
                if packet.size and packet.pts is not None:
                    packets += 1
                    end = max(end or packet.pts, packet.pts + (packet.duration or 0))
                yield from packet.decode()
        except (OSError, av.FFmpegError) as exc:
            self.damage = f"{_FAILED}{reason(exc)}"
            try:  # the frames still inside the decoder
                yield from self.video.decode(None)
            except (OSError, av.FFmpegError):
                pass
        else:
            self.damage = self._truncation(packets, end)

    def _truncation(self, packets: int, end: int | None) -> str | None:
        """Why the video stream looks cut short, or None: compared with its MP4/MOV sample table (exact), else
        with its stated duration (an AVI index may count a frame that holds no packet)."""
        if self.video.frames and "mp4" in self.container.format.name.split(",") and not self._seeked:
            return None if packets >= self.video.frames else f"{packets} of the {self.video.frames} frames indexed"
        stated = _stated_end(self.video)
        if stated is None or end is None:
            return None
        if end + round(TRUNCATION_SLACK_S / self.time_base) < stated:
            return f"ends at {float(end * self.time_base):.2f} s of the {float(stated * self.time_base):.2f} s stated"
        return None

    def frames_between(self, start: float | None = None, end: float | None = None) -> int | None:
        """The frames from ``start`` to ``end`` seconds (None: the file's own ends), from the header (None if
        it does not say)."""
        return _frame_total(self.container, self.video, start, end)

    def seconds(self, item: av.Packet | av.Frame) -> Fraction:
        """``item``'s time in seconds from the video stream's start."""
        return item.pts * item.time_base - self.base * self.time_base

    def image(self, frame: av.VideoFrame) -> np.ndarray | None:
        """``frame`` as upright (H, W, 3) uint8 BGR, or None if FFmpeg fails on it (``damage`` then says so:
        stop reading); `SourceError` if its size is not the first frame's."""
        try:
            image = to_bgr(frame)
        except (OSError, av.FFmpegError) as exc:
            self.damage = f"{_FAILED}{reason(exc)}"
            return None
        if self._turn is not None:
            image = cv2.rotate(image, self._turn)
        if image.shape[1::-1] != self.size:
            raise SourceError(f"cannot read {self.path}: its frames change size from {self.size[0]}x{self.size[1]} "
                              f"to {image.shape[1]}x{image.shape[0]}")
        return image


def _too_big(path: Path, width: int, height: int) -> SourceError:
    return SourceError(f"{path} is {width}x{height}: more pixels than 8K UHD (7680x4320) are not read; "
                       "scale it down first, e.g. ffmpeg -i IN -vf scale=3840:-2 OUT")


def frame_total(path: str | os.PathLike[str], start: float | None = None, end: float | None = None) -> int | None:
    """How many frames ``path`` holds (from ``start`` to ``end`` seconds), from its header (None if it does not
    say or cannot be read)."""
    try:
        with av.open(str(path)) as source:
            return _frame_total(source, source.streams.video[0], start, end) if source.streams.video else None
    except (OSError, av.FFmpegError):
        return None


def _frame_total(source: av.container.InputContainer, video: av.video.stream.VideoStream,
                 start: float | None = None, end: float | None = None) -> int | None:
    """The number of frames the container says it holds, or estimates from its duration (None if neither);
    of the span from ``start`` to ``end`` seconds if given."""
    total = video.frames or None
    if not total and source.duration and video.average_rate:
        total = round(source.duration / av.time_base * video.average_rate)
    if total is None or (start is None and end is None) or not video.average_rate:
        return total
    first = round((start or 0) * video.average_rate)
    return max(0, min(total, round(end * video.average_rate) if end is not None else total) - first)


def _stated_end(video: av.video.stream.VideoStream) -> int | None:
    """Where the header says the video stream ends, in its time base (None if it does not say)."""
    start = video.start_time or 0
    if video.duration:
        return start + video.duration
    tag = video.metadata.get("DURATION") or video.metadata.get("duration")  # Matroska: "HH:MM:SS.nnnnnnnnn"
    try:
        hours, minutes, seconds = tag.split(":")
        seconds = Fraction(int(hours) * 3600 + int(minutes) * 60) + Fraction(seconds)
    except (AttributeError, ValueError):
        return None
    return start + round(seconds / video.time_base)
