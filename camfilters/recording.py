"""Recording frames to a video file, encoded on a writer thread.

Output formats by extension (see `FORMATS`): ``.mp4`` and ``.mov`` hold H.264
(libx264, yuv420p, ``+faststart`` so players can start before the end is loaded),
``.mkv`` holds H.264 too, ``.webm`` holds VP9. yuv420p needs an even width and
height: an odd frame loses its last column and/or row (cropped on purpose, never
scaled or padded). Colours are converted with OpenCV's BT.601 limited-range
("TV") BGR to I420 conversion and tagged as such (``smpte170m``, ``tv``).

Live recordings (`Recorder`) are crash-safe: whatever ends the process (SIGKILL,
an abort, a power cut) the file stays playable and keeps every frame up to about
the last second. An MP4/MOV is written fragmented (a ``moof``/``mdat`` pair every
quarter second and at each keyframe), Matroska/WebM as a cluster every quarter
second; each goes to the file at once, so a killed process loses only that last
quarter second and the frames still queued for the encoder. The file is synced to
the disk and the encoder makes a keyframe at least once a second (a power cut
loses at most that). A sound track (``Recorder(audio=...)``) is in the same fragments and
clusters; the muxer holds a stream's packets back at most half a second waiting for the
other's, and silence stands in for a microphone that stops, so it keeps up. A clean close turns a fragmented MP4/MOV into a regular
fast-start one (packets copied, not re-encoded: written to a hidden temporary
file beside it, then renamed over it), as OBS's hybrid MP4 does; if that fails
(e.g. the disk is full) the fragmented file, which plays, is kept and a warning
says so. When a write fails (a full disk), nothing more is fed to the muxer, the
file is cut back to its last complete fragment or cluster, and the error names
what was kept. `camfilters.render` writes plain (non-fragmented) files, as its
output only counts once complete.

Closing still matters for the last second and the fast-start layout: run the
recorder in a ``with`` block, or close it in ``finally``, and turn SIGTERM and
SIGHUP into `KeyboardInterrupt` with `camfilters.signals.interrupt_on_sigterm`.
"""

from __future__ import annotations

import atexit
import collections
import errno
import logging
import math
import os
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import cv2
import numpy as np

from camfilters.errors import OutputExistsError, ParameterError, RecordingError
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


@dataclass(frozen=True)
class OutputFormat:
    """How files with one extension are written."""

    container: str  # FFmpeg muxer name
    video_codec: str
    audio_codec: str  # used when a rendered input's audio cannot be copied as it is
    time_base: Fraction  # of the video stream; Matroska stores milliseconds
    video_options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)
    crash_safe_options: dict[str, str] = field(default_factory=dict)  # instead of container_options, when crash-safe

    @property
    def fragmented(self) -> bool:
        """Whether a crash-safe file is a fragmented MP4/MOV, rewritten as a regular one on close."""
        return self.container in ("mp4", "mov")


_X264 = {"crf": str(DEFAULT_CRF)}
_FASTSTART = {"movflags": "+faststart"}
# Crash-safe: the muxer holds back at most a quarter second, a fragment (empty_moov: the header holds no
# samples; a new fragment at each keyframe and after 250 ms) or a cluster; flush_packets then sends it to
# the file at once instead of leaving it in FFmpeg's I/O buffer. A fragment or cluster may start between
# keyframes: the frames it depends on are already in the file.
# With an audio track, max_interleave_delta bounds what the muxer holds back waiting for the other stream.
_FRAGMENTED = {"movflags": "+frag_keyframe+empty_moov+default_base_moof", "frag_duration": "250000",
               "flush_packets": "1", "max_interleave_delta": "500000"}  # microseconds
_CLUSTERED = {"cluster_time_limit": "250", "flush_packets": "1", "max_interleave_delta": "500000"}  # ms, us
FORMATS: dict[str, OutputFormat] = {
    ".mkv": OutputFormat("matroska", "libx264", "aac", Fraction(1, 1000), _X264, {}, _CLUSTERED),
    ".mov": OutputFormat("mov", "libx264", "aac", Fraction(1, 90000), _X264, _FASTSTART, _FRAGMENTED),
    ".mp4": OutputFormat("mp4", "libx264", "aac", Fraction(1, 90000), _X264, _FASTSTART, _FRAGMENTED),
    ".webm": OutputFormat(
        "webm",
        "libvpx-vp9",
        "libopus",
        Fraction(1, 1000),
        {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
        {},
        _CLUSTERED,
    ),
}
#: The audio codec of live recordings (`Recorder` with ``audio``), by muxer: Opus in Matroska/WebM, else AAC.
LIVE_AUDIO_CODECS = {"matroska": "libopus", "webm": "libopus"}
#: Seconds between keyframes (at most) and between syncs of the file to the disk in a crash-safe
#: recording: what a power cut may lose. A killed process loses only the last quarter second and
#: the frames still queued for the encoder.
CRASH_SAFE_INTERVAL_S = 1.0
_PREALLOCATED = 4  # frame buffers made up front; enough while the encoder keeps up
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
    added before the first `encode`; mux other streams' packets with `mux`.

    ``crash_safe`` (what `Recorder` uses) writes the file so that a killed process
    leaves it playable up to about the last second (see the module docstring); `close`
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
                _rewrite_faststart(self.path, self.format.container)
            except (OSError, av.FFmpegError) as exc:
                log.warning("kept %s as a fragmented %s, which plays; making it a regular one failed: %s",
                            self.path, self.format.container.upper(), _reason(exc))

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
                _cut_to_complete(self.path, self.format.container)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _rewrite_faststart(path: Path, muxer: str) -> None:
    """Rewrite the fragmented MP4/MOV at ``path`` as a regular one with its index first (packets copied).

    Written to a hidden temporary file in the same folder, synced, then renamed over
    ``path``: until the rename ``path`` is untouched, so any failure keeps the fragmented file.
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    temp = Path(name)
    try:
        os.chmod(temp, stat.S_IMODE(path.stat().st_mode))  # mkstemp makes it private; keep the recording's mode
        with av.open(str(path)) as source, av.open(name, "w", format=muxer, options=_FASTSTART) as target:
            streams = {}
            for stream in source.streams:
                streams[stream.index] = target.add_stream_from_template(stream)
                streams[stream.index].time_base = stream.time_base
            for packet in source.demux():
                if packet.dts is None:  # the end-of-stream marker
                    continue
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
        _fsync(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync(path.parent)  # the rename itself


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cut_to_complete(path: Path, muxer: str) -> None:
    """Truncate a crash-safe file after its last complete MP4 fragment or Matroska element (a cluster)."""
    try:
        with open(path, "r+b") as file:
            length = os.fstat(file.fileno()).st_size
            keep = _complete_mp4(file, length) if muxer in ("mp4", "mov") else _complete_matroska(file, length)
            if keep < length:
                file.truncate(keep)
                log.debug("cut %s from %d to %d bytes, after its last complete part", path, length, keep)
    except OSError as exc:
        log.debug("could not cut %s back to its complete part: %s", path, exc)


def _complete_mp4(file: BinaryIO, length: int) -> int:
    """Bytes of top-level MP4 boxes that are complete, not counting a ``moof`` whose ``mdat`` is not."""
    pos = keep = 0
    while pos + 8 <= length:
        file.seek(pos)
        head = file.read(16)
        size = int.from_bytes(head[:4], "big")
        if size == 1 and len(head) == 16:  # 64-bit size
            size = int.from_bytes(head[8:16], "big")
        if size < 8 or pos + size > length:
            break
        pos += size
        if head[4:8] != b"moof":
            keep = pos
    return keep


def _complete_matroska(file: BinaryIO, length: int) -> int:
    """Bytes of Matroska up to the end of the last complete element inside the Segment (0 if none)."""
    file.seek(0)
    head = file.read(64)
    header = _ebml_element(head, 0)  # the EBML header
    if header is None or header[0] != 0x1A45DFA3:
        return 0
    segment = _ebml_element(head, header[2])
    if segment is None or segment[0] != 0x18538067:
        return 0
    pos = keep = segment[1]  # the Segment's first child
    while pos < length:
        file.seek(pos)
        child = _ebml_element(file.read(16), 0)
        if child is None or child[2] is None or pos + child[2] > length:
            break
        pos = keep = pos + child[2]
    return keep


def _ebml_element(data: bytes, pos: int) -> tuple[int, int, int | None] | None:
    """(id, offset of its data, offset of its end or None if its size is unknown) of the element at ``pos``."""
    ident = _ebml_vint(data, pos)
    if ident is None:
        return None
    size = _ebml_vint(data, ident[1])
    if size is None:
        return None
    width = ident[1] - pos
    element_id = int.from_bytes(data[pos : pos + width], "big")
    start = size[1]
    unknown = size[0] == (1 << (7 * (size[1] - ident[1]))) - 1  # all ones
    return element_id, start, None if unknown else start + size[0]


def _ebml_vint(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value without its length marker, offset after it) of the EBML variable-size integer at ``pos``."""
    if pos >= len(data) or data[pos] == 0:
        return None
    width = 9 - data[pos].bit_length()
    if pos + width > len(data):
        return None
    value = int.from_bytes(data[pos : pos + width], "big") & ((1 << (7 * width)) - 1)
    return value, pos + width


class _AudioTrack:
    """Places timed audio blocks on the video's timeline and feeds them to a `VideoOutput`'s audio stream.

    Sample 0 belongs at ``start`` (the first video frame's timestamp, set by `begin`;
    blocks before it wait, the last second of them, and are cut to it). A block whose
    time is more than `GAP_S` after the samples so far is preceded by silence (a gap:
    overflows, a paused device); one more than `OVERLAP_S` before loses its
    overlapping start; either only from the second such block in a row (a single block's
    time can be off by that much on a loaded machine). Smaller differences are clock drift, jitter, or a single lost
    block: blocks are resampled by at most `MAX_STRETCH` to bring the smoothed
    difference back to zero, so audio stays in sync over hours. Samples are encoded only up to the video's end
    so far (`release`), so the file's audio never outlasts its video; `finish` ends it
    exactly there.
    """

    GAP_S = 0.06  # three blocks: the times of blocks step by up to one, which is no gap
    OVERLAP_S = 0.06
    # The timestamps of blocks jitter and step by up to a block (~20 ms, PulseAudio's latency estimate),
    # while real clocks drift by 10-1000 ppm: the correction follows a slow average (about 2 s of blocks)
    # and removes a share of it per block (about 10 s to correct a step), so a step bends the pitch by
    # ~0.2 % for a few seconds, and a 1000 ppm drift is held ~10 ms away from sync.
    MAX_STRETCH = 0.005  # 0.5 %: a 5 ms correction per second at most
    GAIN = 0.002  # share of the smoothed difference corrected per block
    SMOOTH = 0.01  # weight of each block's difference in the smoothed one
    JITTER_S = 0.02  # a block's difference counts at most this much in it
    STALL_S = 1.0  # no sound for this long behind the video: silence is recorded in its place
    START_S = 3.0  # the same before the first sound: a device may take a while to start

    def __init__(self, output: VideoOutput, rate: int, channels: int) -> None:
        self.output, self.rate, self.channels = output, rate, channels
        self.start: float | None = None
        self.placed = 0  # samples on the timeline (encoded or held)
        self.written = 0  # samples encoded
        self.stalls = 0  # times silence was put in for a microphone that went quiet
        self._heard = False  # a block has been placed
        self._held: collections.deque[np.ndarray] = collections.deque()
        self._early: collections.deque[tuple[np.ndarray, float]] = collections.deque()  # the last second
        self._drift = 0.0  # smoothed (block time - its place on the timeline), samples
        self._carry = 0.0  # correction owed, samples (applied a whole sample at a time)
        self._outlier = False  # the last block's time was far from its place (a gap is two such blocks in a row)
        self.gaps: list[tuple[float, int]] = []  # (s into the track, samples of silence put in)
        self.cuts: list[tuple[float, int]] = []  # (s into the track, samples left out)

    def add(self, samples: np.ndarray, timestamp: float) -> None:
        """Place ``(n, channels) float32`` samples whose first was captured at ``timestamp`` (monotonic s)."""
        if self.start is None:
            self._early.append((samples, timestamp))
            while self._early[0][1] < timestamp - 1.0:
                self._early.popleft()
            return
        if timestamp < self.start:  # captured before the first frame: only what follows it counts
            cut = round((self.start - timestamp) * self.rate)
            if cut >= len(samples):
                return
            samples, timestamp = samples[cut:], self.start
        error = (timestamp - self.start) * self.rate - self.placed
        n = len(samples)
        far = error >= self.GAP_S * self.rate or error <= -self.OVERLAP_S * self.rate
        self._outlier, outlier = far, far and not self._outlier
        if outlier:  # one block's time far off is taken for a glitch of its timestamp: placed as it comes
            pass
        elif error >= self.GAP_S * self.rate:
            self._place(np.zeros((round(error), self.channels), np.float32))
            self._drift = 0.0
            self.gaps.append((self.placed / self.rate, round(error)))
        elif error <= -self.OVERLAP_S * self.rate:
            self.cuts.append((self.placed / self.rate, min(n, round(-error))))
            samples = samples[round(-error) :]
            self._drift = 0.0
        else:  # a slow average of the clipped difference: one late callback's timestamp barely moves it
            jitter = self.JITTER_S * self.rate
            self._drift += self.SMOOTH * (max(-jitter, min(jitter, error)) - self._drift)
            limit = n * self.MAX_STRETCH
            self._carry = max(-limit, min(limit, self._carry + self._drift * self.GAIN))
            change = round(self._carry)
            self._carry -= change
            if change:
                samples = _stretch(samples, n + change)
        if len(samples):
            self._place(samples)
            self._heard = True

    def begin(self, start: float) -> None:
        """Set the time of sample 0 and place the blocks that came before."""
        self.start = start
        early, self._early = list(self._early), collections.deque()
        for samples, timestamp in early:
            self.add(samples, timestamp)

    def _place(self, samples: np.ndarray) -> None:
        self._held.append(samples)
        self.placed += len(samples)

    def release(self, until: float) -> None:
        """Encode the samples placed before ``until`` (monotonic s: the video's end so far)."""
        if self.start is None:
            return
        end = round((until - self.start) * self.rate)
        quiet = self.STALL_S if self._heard else self.START_S
        if self.placed < end - quiet * self.rate:
            # the microphone went quiet (or never started): silence in its place, so the file keeps up
            if not self.stalls:
                log.warning("no sound from the microphone for %.1f s (unplugged?); recording silence until it "
                            "returns", quiet)
            self.stalls += 1
            self._place(np.zeros((end - self.placed, self.channels), np.float32))
        while self._held and self.written < end:
            block = self._held.popleft()
            take = min(len(block), end - self.written)
            if take < len(block):
                self._held.appendleft(block[take:])
            self.output.encode_audio(block[:take])
            self.written += take

    def finish(self, end: float) -> None:
        """End the track at ``end`` (monotonic s, the video's end): silence to it, or cut after it."""
        if self.start is None:
            self.begin(end)
        missing = round((end - self.start) * self.rate) - self.placed
        if missing > 0:
            self._place(np.zeros((missing, self.channels), np.float32))
        self.release(end)
        log.debug("sound: %d gaps filled with silence %s, %d overlaps cut %s, %d stalls", len(self.gaps),
                  [(round(t, 2), n) for t, n in self.gaps[:20]], len(self.cuts),
                  [(round(t, 2), n) for t, n in self.cuts[:20]], self.stalls)


@dataclass(frozen=True)
class _Audio:
    """An audio block in the recorder's queue (frames are bare arrays)."""

    samples: np.ndarray


#: Audio blocks the recorder's queue takes at most (a writer that stalls loses sound, never blocks the callback).
_MAX_QUEUED_AUDIO = 2000
#: Seconds `Recorder.close` waits for the sound of the last frame to arrive.
_AUDIO_TAIL_WAIT_S = 0.5


def _stretch(samples: np.ndarray, n: int) -> np.ndarray:
    """``(m, channels)`` samples resampled to ``n`` (linear interpolation, first and last kept)."""
    m = len(samples)
    where = np.linspace(0.0, m - 1, n)
    return np.stack([np.interp(where, np.arange(m), samples[:, c]) for c in range(samples.shape[1])],
                    axis=1).astype(np.float32)


class Recorder:
    """Writes frames with their capture times to a video file, encoding on a writer thread.

    ``Recorder(path, size=(w, h), fps=30.0)``: ``path`` is checked with
    `check_output_path`; ``size`` is the frame size every `write` must have; ``fps``
    is the nominal rate written in the stream header (the real timing comes from the
    timestamps). ``preset`` is the libx264 speed preset (ignored for ``.webm``);
    an existing file is refused unless ``overwrite``. ``audio=(rate, channels)`` adds
    a sound track (`LIVE_AUDIO_CODECS`: AAC, Opus in Matroska/WebM) fed by
    `write_audio` with timed blocks, placed on the frames' timeline by `_AudioTrack`
    (gaps are silence, drift is resampled, it starts and ends with the video).

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

    The file is crash-safe (see the module docstring). When writing fails, e.g. on a
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
        self._output = VideoOutput(self.path, self.size, rate, preset=preset, crash_safe=True)
        self._audio: _AudioTrack | None = None
        if audio is not None:
            try:
                self._output.add_audio(*audio, codec=LIVE_AUDIO_CODECS.get(self._output.format.container))
            except BaseException:
                self._output.close()
                raise
            self._audio = _AudioTrack(self._output, *audio)
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
        recorder has no audio. The recorder places blocks by their times (see `_AudioTrack`).
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
            raise RecordingError(f"recording to {self.path} failed: {_reason(error)}") from error

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
        frames, seconds = _frames_in(self.path)
        if frames:
            kept = f"kept {frames} frame{'s' if frames > 1 else ''} ({seconds:.1f} s)"
        else:
            kept = "nothing could be kept"
            self.path.unlink(missing_ok=True)
        if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            message = f"disk full ({_mount_point(self.path)}) while recording {self.path}: {kept}; " \
                      "free space and record again"
        else:
            message = f"recording to {self.path} failed: {_reason(exc)}; {kept}"
        error = RecordingError(message)
        error.__cause__ = exc
        self._writer.publish(error)


def _frames_in(path: Path) -> tuple[int, float]:
    """(video frames, seconds from the first frame's start to the last one's end) that ``path`` holds.

    Read from the packets, without decoding; (0, 0.0) if the file does not open.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames, start, end = 0, None, 0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                frames += 1
                start = packet.pts if start is None else min(start, packet.pts)
                end = max(end, packet.pts + (packet.duration or 0))
    except (OSError, av.FFmpegError, IndexError):
        return 0, 0.0
    return frames, float((end - start) * stream.time_base) if frames else 0.0


def _mount_point(path: Path) -> Path:
    """The mount point of the file system holding ``path`` (its folder must exist)."""
    folder = path.resolve().parent
    while not os.path.ismount(folder):
        folder = folder.parent
    return folder
