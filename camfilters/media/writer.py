"""`VideoOutput`: one open video file, written so that it survives a crash when asked.

Frames are cropped to even sides (yuv420p needs them; never scaled or padded) and converted
with OpenCV's BT.601 limited-range ("TV") BGR to I420, tagged as such (``smpte170m``, ``tv``).
``crash_safe`` writes the crash-safe recording the README tells ("Recording and rendering"): the
formats' fragmented or clustered muxer options (`camfilters.media.formats`), a sync to the disk and
a keyframe at least every `CRASH_SAFE_INTERVAL_S`, and on close the fast-start rewrite or, after a
failed write, the cut back to what plays (`camfilters.media.repair`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from camfilters.errors import ParameterError, RecordingError, reason
from camfilters.x264 import DEFAULT_PRESET
from camfilters.x264 import PRESETS as X264_PRESETS

from .formats import FORMATS
from .gif import GifOutput, GifSettings, is_gif
from .repair import cut_to_complete, rewrite_faststart

__all__ = ["CRASH_SAFE_INTERVAL_S", "VideoOutput", "open_output"]

log = logging.getLogger(__name__)

#: Seconds between keyframes (at most) and between syncs of the file to the disk in a crash-safe
#: recording: what a power cut may lose.
CRASH_SAFE_INTERVAL_S = 1.0


class VideoOutput:
    """An open output file with one video stream (and optionally more streams); not thread-safe.

    The building block of `Recorder` and `camfilters.render`: frames go in as
    ``(H, W, 3) uint8 BGR`` with a pts in ``time_base`` units. All streams must be
    added before the first `encode`; mux other streams' packets with `mux`.

    ``crash_safe`` (what `Recorder` uses) writes the file so that a killed process
    leaves it playable up to about the last second (the README's crash safety); `close`
    then rewrites a fragmented MP4/MOV as a regular fast-start one. Without it
    (`camfilters.render`) the file is plain and only playable once closed.
    After a failed write, ``failed`` is true and the muxer is never called again
    (FFmpeg may crash writing into a file whose header failed).
    ``preset`` and ``crf`` (0-51, default `DEFAULT_CRF`) set libx264's speed and quality.
    """

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        rate: Fraction,
        *,
        time_base: Fraction | None = None,
        preset: str = DEFAULT_PRESET,
        crf: int | None = None,
        crash_safe: bool = False,
    ) -> None:
        if preset not in X264_PRESETS:
            raise ParameterError(f"preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}")
        if crf is not None and not (isinstance(crf, int) and 0 <= crf <= 51):
            raise ParameterError(f"crf must be an integer from 0 to 51, got {crf!r}")
        self.path = path
        self.format = FORMATS[path.suffix.lower()]
        self.width, self.height = size[0] - size[0] % 2, size[1] - size[1] % 2  # yuv420p needs even sides
        self.time_base = time_base or self.format.time_base
        self.crash_safe = crash_safe
        self.failed = False
        options = dict(self.format.video_options)
        if self.format.video_codec == "libx264":
            options["preset"] = preset
            if crf is not None:
                options["crf"] = str(crf)
        if crash_safe:
            options.update(self.format.crash_safe_video_options)
        container_options = self.format.crash_safe_options if crash_safe else self.format.container_options
        try:
            self.container = av.open(str(path), "w", format=self.format.container, options=container_options)
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
            if crash_safe:  # a keyframe at least every nominal second; encode() forces one per second of pts too
                ctx.gop_size = max(1, math.floor(rate * Fraction(CRASH_SAFE_INTERVAL_S)))
                # No B-frames: a file cut anywhere then holds a gapless run of frames (a B-frame comes after
                # the later frame it refers to), and pts need no delay. ultrafast, the live preset, has none.
                ctx.max_b_frames = 0
        except BaseException:
            self.container.close()
            raise
        self.stream = stream
        self._yuv = np.empty((self.height * 3 // 2, self.width), np.uint8)  # I420: Y, then U, then V, packed
        self._key_ticks = max(1, round(Fraction(CRASH_SAFE_INTERVAL_S) / self.time_base))
        self._next_key = 0  # pts from which the next frame is made a keyframe
        self._sync_fd: int | None = None
        self._next_sync = 0.0  # time.monotonic() of the next sync to the disk
        self.audio: av.audio.stream.AudioStream | None = None
        self._audio_held = np.zeros((0, 1), np.float32)  # samples waiting for a full encoder frame
        self._audio_pts = 0  # samples sent to the audio encoder

    def add_audio(self, rate: int, channels: int, codec: str | None = None) -> None:
        """Add an audio stream fed by `encode_audio` (``codec``: the format's by default); before the first `encode`."""
        stream = self.container.add_stream(codec or self.format.audio_codec, rate=rate,
                                           layout="mono" if channels == 1 else "stereo")
        formats = [f.name for f in stream.codec_context.codec.audio_formats]
        stream.format = "fltp" if "fltp" in formats else "flt"  # AAC takes planar floats, Opus packed ones
        stream.time_base = Fraction(1, rate)
        stream.codec_context.time_base = Fraction(1, rate)
        self.audio = stream
        self._audio_held = np.zeros((0, channels), np.float32)

    def encode_audio(self, samples: np.ndarray) -> None:
        """Encode and mux ``(n, channels) float32`` samples that follow the ones before without a gap."""
        held = np.concatenate((self._audio_held, samples)) if len(self._audio_held) else samples
        size = self.audio.codec_context.frame_size or 1024
        whole = len(held) - len(held) % size
        for start in range(0, whole, size):
            self._encode_audio_frame(held[start : start + size])
        self._audio_held = held[whole:].copy()

    def _encode_audio_frame(self, samples: np.ndarray | None) -> None:
        if samples is None:
            self.mux(self.audio.encode(None))
            return
        ctx = self.audio.codec_context
        planar = ctx.format.is_planar
        data = np.ascontiguousarray(samples.T if planar else samples.reshape(1, -1))
        frame = av.AudioFrame.from_ndarray(data, format=ctx.format.name, layout=ctx.layout.name)
        # in samples: the stream's own time base becomes the muxer's (Matroska: ms) once the header is written
        frame.sample_rate, frame.pts, frame.time_base = ctx.sample_rate, self._audio_pts, Fraction(1, ctx.sample_rate)
        self._audio_pts += len(samples)
        self.mux(self.audio.encode(frame))

    def encode(self, image: np.ndarray, pts: int, duration: int) -> None:
        """Encode and mux one ``(H, W, 3) uint8 BGR`` frame (cropped to the even size)."""
        image = image[: self.height, : self.width]
        cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420, dst=self._yuv)
        # from_ndarray copies the planes into a new frame at the right offsets for any even height
        # (from_numpy_buffer would read a height that is not a multiple of 4 as 2 rows less: shifted chroma)
        frame = av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")
        frame.pts, frame.duration, frame.time_base = pts, duration, self.time_base
        if self.crash_safe and pts >= self._next_key:
            frame.pict_type = av.video.frame.PictureType.I
            self._next_key = pts + self._key_ticks
        self.mux(self.stream.encode(frame))
        if self.crash_safe and time.monotonic() >= self._next_sync:
            self._sync()

    def mux(self, packets: av.Packet | list[av.Packet]) -> None:
        """Write ``packets`` to the file; once this has failed, `RecordingError` without touching the muxer."""
        if self.failed:
            raise RecordingError(f"cannot write {self.path}: an earlier write failed")
        try:
            self.container.mux(packets)
        except Exception:
            self.failed = True
            raise

    def _sync(self) -> None:
        """Push the file's data to the disk, so a power cut keeps it (any descriptor of the file will do)."""
        try:
            if self._sync_fd is None:
                if not self.path.exists():  # the muxer writes (and creates) the file with the first packet
                    return
                self._sync_fd = os.open(self.path, os.O_RDONLY)
            self._next_sync = time.monotonic() + CRASH_SAFE_INTERVAL_S
            getattr(os, "fdatasync", os.fsync)(self._sync_fd)
        except OSError:
            self.failed = True
            raise

    def close(self) -> None:
        """Flush the encoder and finalise the file; closes the file even if flushing fails. Idempotent.

        After a failed write nothing more is written, and a crash-safe file is cut back to
        its last complete fragment or cluster. A crash-safe MP4/MOV is then rewritten as a
        regular fast-start file; if that fails it stays fragmented (it plays) and a
        warning says so.
        """
        if not self.container:
            return
        try:
            if not self.failed:
                self.mux(self.stream.encode(None))
                if self.audio is not None:
                    if len(self._audio_held):
                        self._encode_audio_frame(self._audio_held)  # a short last frame
                    self._encode_audio_frame(None)
        finally:
            container, self.container = self.container, None
            self._finish(container)
        if self.crash_safe and self.format.fragmented and not self.failed and self.path.exists():  # not if empty
            try:
                rewrite_faststart(self.path, self.format.container)
            except (OSError, av.FFmpegError) as exc:
                log.warning("kept %s as a fragmented %s, which plays; making it a regular one failed: %s",
                            self.path, self.format.container.upper(), reason(exc))

    def _finish(self, container: av.container.OutputContainer) -> None:
        """Write the trailer and close; after a failed write, cut a crash-safe file back to what plays."""
        try:
            container.close()
        except (OSError, av.FFmpegError) as exc:
            if not self.failed:
                self.failed = True
                raise
            log.debug("finalising %s after a failed write: %s", self.path, exc)
        finally:
            if self._sync_fd is not None:
                os.close(self._sync_fd)
                self._sync_fd = None
            if self.failed and self.crash_safe:
                cut_to_complete(self.path, self.format.container)


def open_output(path: Path, size: tuple[int, int], rate: Fraction, *, gif: GifSettings | None = None,
                time_base: Fraction | None = None, crash_safe: bool = False, **encoder: object) -> VideoOutput | GifOutput:
    """The output for ``path``'s extension: a `GifOutput` for ``.gif`` (``gif``: its size and rate, default
    `GifSettings()`), else a `VideoOutput` (``rate``, and ``encoder``: preset, crf)."""
    if is_gif(path):
        return GifOutput(path, size, settings=gif or GifSettings(), time_base=time_base, crash_safe=crash_safe)
    if gif is not None:
        raise ParameterError(f"the GIF size and fps are for .gif outputs, and {path.name} is not one")
    return VideoOutput(path, size, rate, time_base=time_base, crash_safe=crash_safe, **encoder)
