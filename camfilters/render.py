"""Filtering a video file into another, keeping its timing and audio, never losing a file.

`render` runs three stages at once: a reader thread demuxes and decodes (FFmpeg's
own decoder threads on top), the calling thread runs ``process`` on every frame,
and a writer thread encodes and muxes. Each frame keeps the input's timestamp and
duration, so the output has the same frame count, frame rate and duration.

- Rotation: a clip with a display rotation (phones: display matrix side data or
  a ``rotate`` tag) is turned upright before ``process`` sees it, as ``run``
  does, and the output carries no rotation.
- Audio: the first audio stream is copied packet for packet when the output
  container holds its codec well (MP4 only takes AAC, MP3, AC-3, E-AC-3 and
  ALAC; MOV those and PCM, no Opus), else re-encoded (AAC, or Opus for ``.webm``).
- ``audio_denoise``: the sound is re-encoded through RNNoise (`camfilters.audio_denoise.FrameDenoiser`,
  48 kHz, aligned with the picture: its 20 ms delay is cut off).
- Format: follows the output's extension as for recording
  (`camfilters.recording.FORMATS`); odd sizes lose their last column/row.

What happens to files:

- The output is written to a hidden temporary file in the output's folder
  (``.NAME.XXXXXXXX.tmp.EXT``, `camfilters.media.atomic.AtomicOutput`) and renamed onto
  the output only when finalised, holding a lock on the output meanwhile: a second
  render of the same output is refused, and the temporary files a killed render of it
  left are removed. On any failure (bad input, a ``process`` that raises, a write
  error, a full disk) the temporary file is removed and an existing output keeps its bytes.
- The output may not be the input, also not through a hard link, a symlink or a
  bind mount (same device and inode), even with ``overwrite``.
- A render that does not complete never takes the output's name: interrupted
  (Ctrl-C, or SIGTERM through `camfilters.signals.interrupt_on_sigterm`) or given a
  corrupt or truncated input, the frames done so far are finalised into
  ``OUT-partial.EXT`` beside the output (``OUT-partial-2.EXT``, ... if taken; an
  existing output is never touched). `RenderInterrupted` or `InputTruncated` (a
  `SourceError`, exit 3) names it. Nothing is kept when no frame was done. A
  truncated input is detected by: a decode error; an MP4/MOV with fewer samples
  than its sample table; a stream ending over 0.25 s before its stated duration
  (Matroska/WebM ``DURATION`` tags). Not detected: an AVI that lost its index with its tail.

Inputs must be regular files at least 2x2 pixels (`SourceError` otherwise).

A time range (``start``/``end`` in seconds) renders the frames shown from ``start``
until before ``end``, and the audio of that span (whole packets when copied, about
one audio frame of slack); the output's timestamps start at 0 with the first frame.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np
from tqdm import tqdm

from camfilters.errors import CamfiltersError, ParameterError, RecordingError, SourceError, reason
from camfilters.media.atomic import AtomicOutput
from camfilters.recording import DEFAULT_PRESET, VideoOutput, check_output_path
from camfilters.signals import join_holding
from camfilters.threads import CancellableQueue, Cancelled, Worker

Progress = Callable[[int], None]  # called with the number of frames just done

__all__ = ["InputTruncated", "RenderInterrupted", "RenderResult", "check_range", "frame_total", "render"]

log = logging.getLogger(__name__)

# A frame's filter, or an object whose ``push(image, seconds, tag)`` returns the frames it has finished,
# ``[(frame, tag)]``, and ``drain()`` the rest (frames held back: `face.offline.OfflineLenses`).
Process = Callable[[np.ndarray, float], np.ndarray]
_QUEUE_FRAMES = 4  # frames in flight between two stages
_BT601 = {2, 5, 6}  # AVCOL_SPC_UNSPECIFIED, BT470BG, SMPTE170M: what cv2's I420 conversion assumes
# Audio codecs copied into MP4/MOV as they are; players expect these there (PCM also in MOV: QuickTime-only).
_MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
# Turning a frame upright, by its display rotation in degrees counter-clockwise (as FFmpeg reports it).
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
_MIN_SIDE = 2  # pixels: yuv420p holds no smaller picture
_TRUNCATION_SLACK = 0.25  # seconds a stream may end before the duration its header states


@dataclass(frozen=True)
class RenderResult:
    """What `render` wrote."""

    output: Path
    frames: int
    duration: float  # seconds of video, first frame's start to last frame's end
    fps: Fraction  # the input's average frame rate, which the output keeps
    audio: str | None  # "copied", "re-encoded", or None when the input has no audio
    elapsed: float  # wall-clock seconds the render took
    rotation: int = 0  # degrees counter-clockwise the frames were turned to be upright


class InputTruncated(SourceError):
    """A corrupt or truncated input: the ``frames`` that decoded were kept in ``partial`` (`AtomicOutput.keep_partial`)."""

    def __init__(self, message: str, partial: Path, frames: int) -> None:
        super().__init__(message)
        self.partial, self.frames = partial, frames


class RenderInterrupted(KeyboardInterrupt):
    """A render stopped by Ctrl-C or SIGTERM; ``partial`` holds the ``frames`` done (None if none)."""

    def __init__(self, message: str, partial: Path | None, frames: int) -> None:
        super().__init__(message)
        self.partial, self.frames = partial, frames


def render(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    process: Process,
    *,
    progress: bool | Progress = True,
    preset: str = DEFAULT_PRESET,
    crf: int | None = None,
    start: float | None = None,
    end: float | None = None,
    overwrite: bool = False,
    audio_denoise: bool = False,
) -> RenderResult:
    """Write every frame of ``input_path`` through ``process(image, seconds) -> image`` to ``output_path``.

    ``process`` gets upright ``(H, W, 3) uint8 BGR`` frames and their presentation
    time in seconds (increasing) and must return a frame of the same shape; it may
    reuse its output buffer. ``progress`` shows a tqdm bar on stderr, or is called
    with the number of frames done as they are written; ``preset`` and ``crf`` are
    libx264's speed preset and quality (`VideoOutput`); ``start``/``end`` (seconds)
    render only that span (see the module docstring); ``audio_denoise`` cleans the sound. An existing output is refused (`OutputExistsError`)
    unless ``overwrite``; the input as output is refused (`ParameterError`) always.

    Raises `SourceError` for an input that is missing, not a regular file, not a
    video, smaller than 2x2 or without frames, and `InputTruncated` for a corrupt or
    truncated one (after keeping what decoded in ``OUT-partial.EXT``); `RecordingError`
    for an output that cannot be written, `OutputBusyError` for one another render
    writes now; whatever ``process`` raises. In every case an existing output is
    untouched. On Ctrl-C/SIGTERM raises `RenderInterrupted` naming the partial file kept.
    """
    started = time.perf_counter()
    check_range(start, end)
    input_path = Path(input_path)
    _check_input(input_path)
    if _same_file(input_path, output_path):
        raise ParameterError(
            f"cannot render {input_path} onto itself ({output_path} is the same file); choose another output file"
        )
    try:
        output_path = check_output_path(output_path, overwrite=overwrite)
    except RecordingError:
        raise
    except OSError as exc:  # e.g. a name longer than 255 bytes, met while checking the folder
        raise RecordingError(f"cannot write {output_path}: {reason(exc)}; choose another name or folder") from None
    destination = Path(os.path.realpath(output_path)) if output_path.is_symlink() else output_path
    size, rotation = _first_frame(input_path)
    with AtomicOutput(destination, overwrite=overwrite, what=str(output_path)) as out:
        frames, duration, job = _run_job(out, input_path, size, rotation, preset, crf, (start, end), process, progress,
                                     audio_denoise)
        if frames == 0:
            empty = "it has no video frames" if start is None and end is None else (
                f"it has no video frames from {start or 0:g} s to {'the end' if end is None else f'{end:g} s'}")
            raise SourceError(f"cannot render {input_path}: {job.damage or empty}")
        if job.damage:  # not complete: never in place of the output
            partial = _shielded(out.keep_partial)
            raise InputTruncated(
                f"{input_path} is corrupt or truncated after frame {frames} ({duration:.2f} s): "
                f"kept {frames} frames in {partial} ({job.damage})", partial, frames)
        try:
            _shielded(out.commit)
        except KeyboardInterrupt:  # it came while the finished file was put in place, which _shielded completed
            raise RenderInterrupted(f"interrupted at the end: all {frames} frames are in {output_path}", output_path,
                                    frames) from None
    result = RenderResult(
        output_path, frames, duration, job.rate, job.audio_mode, time.perf_counter() - started, rotation
    )
    log.debug("rendered %d frames (%.2f s of video) to %s in %.1f s", frames, duration, output_path, result.elapsed)
    return result


def check_range(start: float | None, end: float | None) -> None:
    """`ParameterError` unless ``start`` >= 0 and ``end`` > ``start`` (seconds; None: the file's own)."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and not 0 <= value < float("inf"):
            raise ParameterError(f"--{name} must be a time from 0 s on, got {value!r}")
    if end is not None and end <= (start or 0):
        raise ParameterError(f"--end ({end:g} s) must be after --start ({start or 0:g} s)")


def _check_input(path: Path) -> None:
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


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` are one file (same device and inode: hard links, symlinks, bind mounts)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # b missing (the usual case), a name too long, a NUL byte, ...
        return False


def _open_input(path: Path) -> av.container.InputContainer:
    try:
        source = av.open(str(path))
    except (OSError, av.FFmpegError) as exc:
        raise SourceError(f"cannot read {path}: not a video file ({reason(exc)})") from exc
    if not source.streams.video:
        source.close()
        raise SourceError(f"cannot read {path}: it has no video stream")
    return source


def _first_frame(path: Path) -> tuple[tuple[int, int], int]:
    """The upright (width, height) of the first decodable frame and its display rotation (0, 90, 180 or 270)."""
    with _open_input(path) as source:
        video = source.streams.video[0]
        try:
            frame = next(source.decode(video), None)
        except (OSError, av.FFmpegError) as exc:
            raise SourceError(f"{path} is corrupt: its first frame does not decode ({reason(exc)})") from exc
        if frame is None:
            if video.frames or video.duration or source.duration:
                raise SourceError(f"{path} is corrupt or truncated: not one frame decodes")
            raise SourceError(f"cannot render {path}: it has no video frames")
        width, height = frame.width, frame.height
        rotation = round(frame.rotation / 90) % 4 * 90
    if rotation != frame.rotation % 360:
        log.warning("%s: display rotation %d° rounded to %d°", path, frame.rotation, rotation)
    if min(width, height) < _MIN_SIDE:
        raise SourceError(f"{path} is {width}x{height}: too small to encode; videos need at least 2x2")
    return ((height, width) if rotation in (90, 270) else (width, height)), rotation


def _run_job(out: AtomicOutput, input_path: Path, size: tuple[int, int], rotation: int, preset: str,
             crf: int | None, span: tuple[float | None, float | None], process: Process,
             progress: bool | Progress, denoise: bool = False) -> tuple[int, float, _Job]:
    """Render into ``out.temp``: (frames, seconds of video, the job); on an interrupt, the partial file is kept."""
    source = _open_input(input_path)
    job: _Job | None = None
    try:
        job = _Job(source, input_path, out.path, out.temp, size, rotation, preset, crf, span, denoise)
        frames, duration = job.run(process, progress)
    except KeyboardInterrupt:
        raise _interrupted(out, job) from None
    except BaseException:
        _shielded(out.discard)
        raise
    finally:
        source.close()
    return frames, duration, job


def _interrupted(out: AtomicOutput, job: _Job | None) -> RenderInterrupted:
    """After an interrupt: the finalised temporary file kept as ``OUT-partial``, or removed if empty."""
    frames = job.frames_written if job is not None else 0
    kept: list[Path | None] = []
    try:
        _shielded(lambda: kept.append(out.keep_partial() if frames else out.discard()))
    except KeyboardInterrupt:  # a second Ctrl-C, held back until the file was kept
        pass
    if not kept or kept[0] is None:
        return RenderInterrupted("interrupted before the first frame was done; nothing written", None, 0)
    return RenderInterrupted(f"interrupted: kept the first {frames} frames in {kept[0]}", kept[0], frames)


def _shielded(work: Callable[[], object]) -> object:
    """Run ``work`` on a thread so that Ctrl-C/SIGTERM cannot cut it short; return its result or raise its error.

    An interrupt that came meanwhile is raised afterwards.
    """
    outcome: list = []
    worker = Worker("render-finish", lambda: outcome.append(work())).start()
    try:
        join_holding([worker])
    except KeyboardInterrupt:
        worker.raise_error()  # the error first: it says what happened to the file
        raise
    worker.raise_error()
    return outcome[0]


def _to_bgr(frame: av.VideoFrame) -> np.ndarray:
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


class _Job:
    """One render: the input's streams, the output with its streams, and the three stages."""

    def __init__(
        self,
        source: av.container.InputContainer,
        input_path: Path,
        destination: Path,
        temp: Path,
        size: tuple[int, int],
        rotation: int,
        preset: str,
        crf: int | None,
        span: tuple[float | None, float | None],
        denoise: bool = False,
    ) -> None:
        self.source = source
        self.input_path = input_path
        self.destination = destination  # named in messages; the bytes go to temp until finalised
        self.rotate = _UPRIGHT.get(rotation)
        self.size = size
        self.video = source.streams.video[0]
        self.video.thread_type = "AUTO"  # frame and slice threads in the decoder
        self.sound = source.streams.audio[0] if source.streams.audio else None
        self.rate = Fraction(self.video.average_rate or self.video.guessed_rate or 30)
        self.time_base = self.video.time_base
        try:
            self.output = VideoOutput(temp, size, self.rate, time_base=self.time_base, preset=preset, crf=crf)
        except RecordingError as exc:
            raise RecordingError(f"cannot write {destination}: {reason(exc.__cause__ or exc)}") from exc
        self.audio_out: av.stream.Stream | None = None
        self.audio_mode: str | None = None
        self.denoise = None
        if self.sound is not None and denoise:
            from .audio_denoise import FrameDenoiser

            self.denoise = FrameDenoiser()
        if self.sound is not None:
            try:
                self._add_audio(self.sound)
            except BaseException:
                _close_quietly(self.output)
                raise
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.damage: str | None = None  # why the input looks corrupt or truncated; set by the reader
        self.frames_written = 0  # video frames the writer has encoded
        self.start, self.end = span
        self.ranged = self.start is not None or self.end is not None
        self.offset: Fraction | None = None if self.ranged else Fraction(0)  # seconds taken off every timestamp
        self.base = self.video.start_time or 0  # pts of the video stream's start
        self.held: list = []  # audio read before the range's first frame fixed the offset
        self.past_end = {"video": False, "audio": self.sound is None}  # what has reached ``end``
        self.decoded = CancellableQueue(_QUEUE_FRAMES, self.stop)
        self.filtered = CancellableQueue(_QUEUE_FRAMES, self.stop)

    def _add_audio(self, sound: av.audio.stream.AudioStream) -> None:
        """A copy of ``sound`` if the output container holds its codec well, else a new encoder."""
        container = self.output.container
        name = sound.codec_context.name
        muxer = self.output.format.container
        held = name in _MP4_AUDIO or (muxer == "mov" and name.startswith("pcm_"))  # what MP4/MOV hold well
        if name in container.supported_codecs and (muxer not in ("mp4", "mov") or held) and self.denoise is None:
            self.audio_out, self.audio_mode = container.add_stream_from_template(sound), "copied"
            return
        codec = self.output.format.audio_codec
        stream = container.add_stream(codec, rate=48000 if codec == "libopus" or self.denoise else sound.rate or 48000)
        # by count: Matroska PCM says "2 channels" (no order), which the AAC encoder refuses
        stream.layout = "mono" if sound.layout.nb_channels == 1 else "stereo"
        self.audio_out, self.audio_mode = stream, "re-encoded"

    def run(self, process: Process, progress: bool | Progress) -> tuple[int, float]:
        """Read and write on two threads, filter on this one; (frames written, seconds of video)."""
        threads = [self._start(self._read), self._start(self._write)]
        result = 0, 0.0
        try:
            result = self._filter(process, progress)
        except Cancelled:  # a stage failed: its error is raised below
            pass
        except BaseException:
            self.stop.set()
            join_holding(threads)
            raise
        join_holding(threads)
        if self.errors:
            exc = self.errors[0]
            if isinstance(exc, CamfiltersError):
                raise exc
            raise RecordingError(f"cannot render {self.input_path}: {reason(exc)}") from exc
        return result

    def _start(self, stage: Callable[[], None]) -> Worker:
        def run() -> None:
            try:
                stage()
            except Cancelled:
                pass
            except BaseException as exc:  # noqa: BLE001 - raised again by run() on the calling thread
                self.errors.append(exc)
                self.stop.set()

        return Worker(f"render{stage.__name__}", run).start()

    def _read(self) -> None:
        """Demux; decode video to upright BGR frames; pass audio on as packets (copied) or frames (re-encoded).

        A decode error or an early end (fewer packets than the index lists, or
        an end well before the stated duration) ends the input and sets ``damage``.
        """
        streams = [self.video] if self.sound is None else [self.video, self.sound]
        packets, end = 0, None
        if self.start:  # to the keyframe at or before start; _put_video drops the frames before it
            self.source.seek(self.base + round(Fraction(self.start) / self.time_base), stream=self.video)
        try:
            for packet in self.source.demux(*streams):
                if packet.stream.index == self.video.index:
                    if packet.size and packet.pts is not None:
                        packets += 1
                        end = max(end or packet.pts, packet.pts + (packet.duration or 0))
                    for frame in packet.decode():
                        self._put_video(frame)
                elif self.audio_mode == "copied":
                    if packet.dts is not None and packet.size:  # not the end-of-stream marker
                        self._put_audio(packet)
                else:
                    for frame in packet.decode():
                        self._put_audio(frame)
                if all(self.past_end.values()):
                    self.decoded.put(None)
                    return
        except (OSError, av.FFmpegError) as exc:
            self.damage = f"decoding failed: {reason(exc)}"
            try:  # the frames still inside the decoder
                for frame in self.video.decode(None):
                    self._put_video(frame)
            except (OSError, av.FFmpegError):
                pass
        else:
            self.damage = self._truncation(packets, end)
        self.decoded.put(None)

    def _seconds(self, item: av.Packet | av.Frame) -> Fraction:
        """``item``'s time in seconds from the video stream's start (what --start and --end count)."""
        return item.pts * item.time_base - self.base * self.time_base

    def _put_video(self, frame: av.VideoFrame) -> None:
        pts = frame.pts
        if self.ranged and pts is not None:
            seconds = self._seconds(frame)
            if seconds < (self.start or 0):
                return
            if self.end is not None and seconds >= self.end:
                self.past_end["video"] = True
                return
            if self.offset is None:  # the range's first frame: timestamps count from it
                self.offset = pts * self.time_base
                held, self.held = self.held, []
                for item in held:
                    self._put_audio(item)
            pts -= round(self.offset / self.time_base)
        image = _to_bgr(frame)
        if self.rotate is not None:
            image = cv2.rotate(image, self.rotate)
        if image.shape[1::-1] != self.size:
            raise SourceError(
                f"cannot render {self.input_path}: its frames change size from "
                f"{self.size[0]}x{self.size[1]} to {image.shape[1]}x{image.shape[0]}"
            )
        self.decoded.put(("video", image, pts, frame.duration))

    def _put_audio(self, item: av.Packet | av.AudioFrame) -> None:
        """Pass on an audio packet (copied) or frame (re-encoded), cut and shifted to the range if there is one."""
        if self.ranged and item.pts is not None:
            seconds = self._seconds(item)
            if self.end is not None and seconds >= self.end:
                self.past_end["audio"] = True
                return
            if seconds < (self.start or 0):
                return
            if self.offset is None:  # kept until the first frame of the range fixes the offset
                self.held.append(item)
                return
            if item.pts * item.time_base < self.offset:
                return
            shift = round(self.offset / item.time_base)
            item.pts -= shift
            if isinstance(item, av.Packet):
                item.dts -= shift
        self.decoded.put(("audio", item))

    def _truncation(self, packets: int, end: int | None) -> str | None:
        """Why the video stream looks cut short, or None: compared with its MP4/MOV sample table (exact), else
        with its stated duration (an AVI index may count a frame that holds no packet)."""
        if self.video.frames and "mp4" in self.source.format.name.split(",") and not self.ranged:
            return None if packets >= self.video.frames else f"{packets} of the {self.video.frames} frames indexed"
        stated = _stated_end(self.video)
        if stated is None or end is None:
            return None
        slack = round(_TRUNCATION_SLACK / self.time_base)
        if end + slack < stated:
            return f"ends at {float(end * self.time_base):.2f} s of the {float(stated * self.time_base):.2f} s stated"
        return None

    def _filter(self, process: Process, progress: bool | Progress) -> tuple[int, float]:
        """Run ``process`` on each frame in order; pts made strictly increasing, missing ones filled in."""
        ticks = max(1, round(1 / (self.rate * self.time_base)))  # one frame at the nominal rate
        frames, first, last, end = 0, 0, -1, 0
        total = _frame_total(self.source, self.video, self.start, self.end)
        report = progress if callable(progress) else None
        delayed = hasattr(process, "push")
        with tqdm(total=total, unit="frame", desc=self.input_path.name, file=sys.stderr,
                  disable=report is not None or not progress) as bar:
            while (item := self.decoded.get()) is not None:
                if item[0] != "video":
                    self.filtered.put(item)
                    continue
                _, image, pts, duration = item
                pts = max(frames * ticks if pts is None else pts, last + 1)
                if delayed:
                    ready = process.push(image, float(pts * self.time_base), (pts, duration or ticks))
                else:
                    ready = [(process(image, float(pts * self.time_base)), (pts, duration or ticks))]
                first = pts if frames == 0 else first
                last, end = pts, pts + (duration or ticks)
                frames += 1
                self._hand_on(ready, image, bar, report)
            if delayed:
                self._hand_on(process.drain(), None, bar, report)
        self.filtered.put(None)
        return frames, float((end - first) * self.time_base)

    def _hand_on(self, ready: list[tuple[np.ndarray, tuple[int, int]]], image: np.ndarray | None, bar: tqdm,
                 report: Progress | None) -> None:
        """Queue the filtered frames ``ready`` ([(frame, (pts, duration))]) for writing, each shaped like ``image``
        (the input frame, when known)."""
        for out, (pts, duration) in ready:
            if image is not None and (out.shape != image.shape or out.dtype != np.uint8):
                raise ParameterError(
                    f"process must return a {image.shape} uint8 frame like its input, got {out.shape} {out.dtype}"
                )
            self.filtered.put(("video", out.copy(), pts, duration))
            bar.update()
            if report is not None:
                report(1)

    def _write(self) -> None:
        """Encode frames and mux them with the audio; finalise the file, also when cancelled."""
        output = self.output
        try:
            while (item := self.filtered.get()) is not None:
                if item[0] == "video":
                    output.encode(*item[1:])
                    self.frames_written += 1
                elif self.audio_mode == "copied":
                    item[1].stream = self.audio_out
                    output.mux(item[1])
                else:
                    for frame in [item[1]] if self.denoise is None else self.denoise(item[1]):
                        output.mux(self.audio_out.encode(frame))
            if self.audio_mode == "re-encoded":
                for frame in [] if self.denoise is None else self.denoise.flush():
                    output.mux(self.audio_out.encode(frame))
                output.mux(self.audio_out.encode(None))
            output.close()
        except BaseException as exc:
            _close_quietly(output)  # so an interrupted render leaves a playable file
            if isinstance(exc, (OSError, av.FFmpegError, ValueError)):
                raise RecordingError(f"cannot write {self.destination}: {self._write_problem(exc)}") from exc
            raise

    def _write_problem(self, exc: BaseException) -> str:
        if getattr(exc, "errno", None) == errno.ENOSPC:
            return "the disk is full (No space left on device); free some space or choose another folder"
        if self.frames_written == 0 and isinstance(exc, (av.ArgumentError, ValueError)):
            width, height = self.size
            return f"cannot encode {width}x{height} frames ({reason(exc)})"
        return reason(exc)


def frame_total(path: str | os.PathLike[str], start: float | None = None, end: float | None = None) -> int | None:
    """How many frames a render of ``path`` (from ``start`` to ``end`` seconds) will do, from its header
    (None if it does not say or cannot be read)."""
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


def _close_quietly(output: VideoOutput) -> None:
    """Close ``output`` on an error path, logging (not raising) a second error."""
    try:
        output.close()
    except (OSError, av.FFmpegError, ValueError) as exc:
        log.warning("could not finalise %s: %s", output.path, reason(exc))
