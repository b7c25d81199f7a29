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
  (`camfilters.recording.FORMATS`); odd sizes lose their last column/row. A ``.gif``
  is scaled and retimed (`camfilters.media.gif.GifSettings`) and has no sound.

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
  `SourceError`, exit 3) names it. Nothing is kept when no frame was done. What
  counts as truncated is `camfilters.media.reader`'s one rule.

Inputs must be regular files at least 2x2 pixels (`SourceError` otherwise).

A time range (``start``/``end`` in seconds) renders the frames shown from ``start``
until before ``end``, and the audio of that span (whole packets when copied, about
one audio frame of slack); the output's timestamps start at 0 with the first frame.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
from tqdm import tqdm

from camfilters.errors import CamfiltersError, ParameterError, RecordingError, SourceError, reason
from camfilters.media.atomic import AtomicOutput
from camfilters.media.gif import GifSettings, is_gif
from camfilters.media.reader import VideoReader, check_input, frame_total
from camfilters.media.writer import open_output
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
# Audio codecs copied into MP4/MOV as they are; players expect these there (PCM also in MOV: QuickTime-only).
_MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})


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
    gif: GifSettings | None = None,
) -> RenderResult:
    """Write every frame of ``input_path`` through ``process(image, seconds) -> image`` to ``output_path``.

    ``process`` gets upright ``(H, W, 3) uint8 BGR`` frames and their presentation
    time in seconds (increasing) and must return a frame of the same shape; it may
    reuse its output buffer. ``progress`` shows a tqdm bar on stderr, or is called
    with the number of frames done as they are written; ``preset`` and ``crf`` are
    libx264's speed preset and quality (`VideoOutput`); ``start``/``end`` (seconds)
    render only that span (see the module docstring); ``audio_denoise`` cleans the sound;
    ``gif`` sets a ``.gif`` output's size and rate (`ParameterError` for another output).
    An existing output is refused (`OutputExistsError`)
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
    if gif is not None and not is_gif(output_path):
        raise ParameterError(f"--size and --fps set a GIF's size and rate, and {output_path} is not a .gif; "
                             "drop them or write a .gif")
    input_path = Path(input_path)
    check_input(input_path)
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
    with VideoReader(input_path) as reader, \
            AtomicOutput(destination, overwrite=overwrite, what=str(output_path)) as out:
        frames, duration, job = _run_job(out, reader, preset, crf, (start, end), process, progress,
                                         audio_denoise, gif)
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
        output_path, frames, duration, job.rate, job.audio_mode, time.perf_counter() - started, reader.rotation
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


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` are one file (same device and inode: hard links, symlinks, bind mounts)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # b missing (the usual case), a name too long, a NUL byte, ...
        return False


def _run_job(out: AtomicOutput, reader: VideoReader, preset: str, crf: int | None,
             span: tuple[float | None, float | None], process: Process,
             progress: bool | Progress, denoise: bool = False,
             gif: GifSettings | None = None) -> tuple[int, float, _Job]:
    """Render into ``out.temp``: (frames, seconds of video, the job); on an interrupt, the partial file is kept."""
    job: _Job | None = None
    try:
        job = _Job(reader, out.path, out.temp, preset, crf, span, denoise, gif)
        frames, duration = job.run(process, progress)
    except KeyboardInterrupt:
        raise _interrupted(out, job) from None
    except BaseException:
        _shielded(out.discard)
        raise
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


class _Job:
    """One render: the input's streams, the output with its streams, and the three stages."""

    def __init__(self, reader: VideoReader, destination: Path, temp: Path, preset: str, crf: int | None,
                 span: tuple[float | None, float | None], denoise: bool = False,
                 gif: GifSettings | None = None) -> None:
        self.reader = reader
        self.input_path = reader.path
        self.destination = destination  # named in messages; the bytes go to temp until finalised
        self.size = size = reader.size
        self.video, self.sound = reader.video, reader.sound
        self.rate = reader.rate
        self.time_base = reader.time_base
        try:
            self.output = open_output(temp, size, self.rate, gif=gif, time_base=self.time_base, preset=preset, crf=crf)
        except RecordingError as exc:
            raise RecordingError(f"cannot write {destination}: {reason(exc.__cause__ or exc)}") from exc
        if self.sound is not None and not self.output.format.audio_codec:
            log.info("the sound of %s is not kept: %s holds none", self.input_path.name, destination.name)
            self.sound = None
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
        self.frames_written = 0  # video frames the writer has encoded
        self.start, self.end = span
        self.ranged = self.start is not None or self.end is not None
        self.offset: Fraction | None = None if self.ranged else Fraction(0)  # seconds taken off every timestamp
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

    @property
    def damage(self) -> str | None:
        """Why the input looks corrupt or truncated (`VideoReader.damage`), once read."""
        return self.reader.damage

    def _read(self) -> None:
        """Demux; decode video to upright BGR frames; pass audio on as packets (copied) or frames (re-encoded)."""
        if self.start:  # to the keyframe at or before start; _put_video drops the frames before it
            self.reader.seek(self.start)
        for item in self.reader:
            if isinstance(item, av.VideoFrame):
                if not self._put_video(item):
                    break
            elif self.sound is None:  # the output holds no sound (a GIF)
                continue
            elif self.audio_mode == "copied":
                self._put_audio(item)
            else:
                for frame in item.decode():
                    self._put_audio(frame)
            if all(self.past_end.values()):
                break
        self.decoded.put(None)

    def _put_video(self, frame: av.VideoFrame) -> bool:
        """Pass on ``frame`` as upright BGR, cut and shifted to the range; False once the input is damaged."""
        pts = frame.pts
        if self.ranged and pts is not None:
            seconds = self.reader.seconds(frame)
            if seconds < (self.start or 0):
                return True
            if self.end is not None and seconds >= self.end:
                self.past_end["video"] = True
                return True
            if self.offset is None:  # the range's first frame: timestamps count from it
                self.offset = pts * self.time_base
                held, self.held = self.held, []
                for item in held:
                    self._put_audio(item)
            pts -= round(self.offset / self.time_base)
        image = self.reader.image(frame)
        if image is None:
            return False
        self.decoded.put(("video", image, pts, frame.duration))
        return True

    def _put_audio(self, item: av.Packet | av.AudioFrame) -> None:
        """Pass on an audio packet (copied) or frame (re-encoded), cut and shifted to the range if there is one."""
        if self.ranged and item.pts is not None:
            seconds = self.reader.seconds(item)
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

    def _filter(self, process: Process, progress: bool | Progress) -> tuple[int, float]:
        """Run ``process`` on each frame in order; pts made strictly increasing, missing ones filled in."""
        ticks = max(1, round(1 / (self.rate * self.time_base)))  # one frame at the nominal rate
        frames, first, last, end = 0, 0, -1, 0
        total = self.reader.frames_between(self.start, self.end)
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


def _close_quietly(output: VideoOutput) -> None:
    """Close ``output`` on an error path, logging (not raising) a second error."""
    try:
        output.close()
    except (OSError, av.FFmpegError, ValueError) as exc:
        log.warning("could not finalise %s: %s", output.path, reason(exc))
