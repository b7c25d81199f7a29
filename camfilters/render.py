"""Filtering a video file into another, keeping its timing and audio.

`render` runs three stages at once: a reader thread demuxes and decodes (FFmpeg's
own decoder threads on top), the calling thread runs ``process`` on every frame,
and a writer thread encodes and muxes. Each frame keeps the input's timestamp and
duration, so the output has the same frame count, frame rate and duration. The
first audio stream is copied packet for packet when the output container can hold
its codec, else re-encoded (AAC, or Opus for ``.webm``). The output format follows
its extension as for recording (`camfilters.recording.FORMATS`), odd sizes lose
their last column/row.
"""

from __future__ import annotations

import logging
import os
import queue
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

from camfilters.errors import CamfiltersError, ParameterError, RecordingError, SourceError
from camfilters.recording import DEFAULT_PRESET, VideoOutput, check_output_path

__all__ = ["RenderResult", "render"]

log = logging.getLogger(__name__)

Process = Callable[[np.ndarray, float], np.ndarray]
_QUEUE_FRAMES = 4  # frames in flight between two stages
_BT601 = {2, 5, 6}  # AVCOL_SPC_UNSPECIFIED, BT470BG, SMPTE170M: what cv2's I420 conversion assumes


@dataclass(frozen=True)
class RenderResult:
    """What `render` wrote."""

    output: Path
    frames: int
    duration: float  # seconds of video, first frame's start to last frame's end
    fps: Fraction  # the input's average frame rate, which the output keeps
    audio: str | None  # "copied", "re-encoded", or None when the input has no audio
    elapsed: float  # wall-clock seconds the render took


class _Cancelled(Exception):
    """Another stage failed or the caller was interrupted: stop quietly."""


class _Pipe:
    """A bounded queue between two stages that gives up when the render is cancelled."""

    def __init__(self, stop: threading.Event) -> None:
        self._queue: queue.Queue = queue.Queue(_QUEUE_FRAMES)
        self._stop = stop

    def put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                return self._queue.put(item, timeout=0.1)
            except queue.Full:
                pass
        raise _Cancelled

    def get(self) -> object:
        while not self._stop.is_set():
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        raise _Cancelled


def render(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    process: Process,
    *,
    progress: bool = True,
    preset: str = DEFAULT_PRESET,
    overwrite: bool = False,
) -> RenderResult:
    """Write every frame of ``input_path`` through ``process(image, seconds) -> image`` to ``output_path``.

    ``process`` gets ``(H, W, 3) uint8 BGR`` frames and their presentation time in
    seconds (increasing) and must return a frame of the same shape; it may reuse
    its output buffer. ``progress`` shows a tqdm bar on stderr; ``preset`` is the
    libx264 speed preset. An existing output is refused (`OutputExistsError`)
    unless ``overwrite``. Raises `SourceError` for an input that is missing, not a
    video or without frames, `RecordingError` for an output that cannot be
    written; the partial output is then removed, as when ``process`` raises. On
    `KeyboardInterrupt` the frames done so far stay in a finalised file.
    """
    started = time.perf_counter()
    input_path = Path(input_path)
    output_path = check_output_path(output_path, overwrite=overwrite)
    if input_path.exists() and input_path.resolve() == output_path.resolve():
        raise RecordingError(f"cannot render {input_path} onto itself; choose another output file")
    source = _open_input(input_path)
    try:
        job = _Job(source, input_path, output_path, preset)
        try:
            frames, duration = job.run(process, progress)
        except BaseException as exc:
            _close_quietly(job.output)
            if not isinstance(exc, KeyboardInterrupt):
                output_path.unlink(missing_ok=True)
            raise
    finally:
        source.close()
    if frames == 0:
        output_path.unlink(missing_ok=True)
        raise SourceError(f"cannot render {input_path}: it has no video frames")
    result = RenderResult(output_path, frames, duration, job.rate, job.audio_mode, time.perf_counter() - started)
    log.info("rendered %d frames (%.2f s of video) to %s in %.1f s", frames, duration, output_path, result.elapsed)
    return result


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise SourceError(f"cannot read {path}: {'it is a folder' if path.is_dir() else 'no such file'}")
    try:
        source = av.open(str(path))
    except (OSError, av.FFmpegError) as exc:
        raise SourceError(f"cannot read {path}: not a video file ({_reason(exc)})") from exc
    if not source.streams.video:
        source.close()
        raise SourceError(f"cannot read {path}: it has no video stream")
    return source


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


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


class _Job:
    """One render: the input's streams, the output with its streams, and the three stages."""

    def __init__(self, source: av.container.InputContainer, input_path: Path, output_path: Path, preset: str) -> None:
        self.source = source
        self.input_path = input_path
        self.video = source.streams.video[0]
        self.video.thread_type = "AUTO"  # frame and slice threads in the decoder
        self.sound = source.streams.audio[0] if source.streams.audio else None
        self.rate = Fraction(self.video.average_rate or self.video.guessed_rate or 30)
        self.time_base = self.video.time_base
        self.output = VideoOutput(
            output_path, (self.video.width, self.video.height), self.rate, time_base=self.time_base, preset=preset
        )
        self.audio_out: av.stream.Stream | None = None
        self.audio_mode: str | None = None
        if self.sound is not None:
            try:
                self._add_audio(self.sound)
            except BaseException:
                _close_quietly(self.output)
                raise
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.decoded, self.filtered = _Pipe(self.stop), _Pipe(self.stop)

    def _add_audio(self, sound: av.audio.stream.AudioStream) -> None:
        """A copy of ``sound`` if the output container takes its codec, else a new encoder."""
        container = self.output.container
        if sound.codec_context.name in container.supported_codecs:
            self.audio_out, self.audio_mode = container.add_stream_from_template(sound), "copied"
            return
        codec = self.output.format.audio_codec
        stream = container.add_stream(codec, rate=48000 if codec == "libopus" else sound.rate or 48000)
        stream.layout = sound.layout.name if sound.layout.nb_channels <= 2 else "stereo"
        self.audio_out, self.audio_mode = stream, "re-encoded"

    def run(self, process: Process, progress: bool) -> tuple[int, float]:
        """Read and write on two threads, filter on this one; (frames written, seconds of video)."""
        threads = [self._start(self._read), self._start(self._write)]
        result = 0, 0.0
        try:
            result = self._filter(process, progress)
        except _Cancelled:  # a stage failed: its error is raised below
            pass
        except BaseException:
            self.stop.set()
            _join(threads)
            raise
        _join(threads)
        if self.errors:
            exc = self.errors[0]
            if isinstance(exc, CamfiltersError):
                raise exc
            raise RecordingError(f"cannot render {self.input_path}: {_reason(exc)}") from exc
        return result

    def _start(self, stage: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                stage()
            except _Cancelled:
                pass
            except BaseException as exc:  # noqa: BLE001 - raised again by run() on the calling thread
                self.errors.append(exc)
                self.stop.set()

        thread = threading.Thread(target=run, name=f"render{stage.__name__}", daemon=True)
        thread.start()
        return thread

    def _read(self) -> None:
        """Demux; decode video to BGR frames; pass audio on as packets (copied) or frames (re-encoded)."""
        streams = [self.video] if self.sound is None else [self.video, self.sound]
        try:
            for packet in self.source.demux(*streams):
                if packet.stream.index == self.video.index:
                    for frame in packet.decode():
                        self.decoded.put(("video", _to_bgr(frame), frame.pts, frame.duration))
                elif self.audio_mode == "copied":
                    if packet.dts is not None and packet.size:  # not the end-of-stream marker
                        self.decoded.put(("audio", packet))
                else:
                    for frame in packet.decode():
                        self.decoded.put(("audio", frame))
        except (OSError, av.FFmpegError) as exc:
            raise SourceError(f"cannot decode {self.input_path}: {_reason(exc)}") from exc
        self.decoded.put(None)

    def _filter(self, process: Process, progress: bool) -> tuple[int, float]:
        """Run ``process`` on each frame in order; pts made strictly increasing, missing ones filled in."""
        ticks = max(1, round(1 / (self.rate * self.time_base)))  # one frame at the nominal rate
        frames, first, last, end = 0, 0, -1, 0
        total = _frame_total(self.source, self.video)
        with tqdm(total=total, unit="frame", desc=self.input_path.name, file=sys.stderr, disable=not progress) as bar:
            while (item := self.decoded.get()) is not None:
                if item[0] != "video":
                    self.filtered.put(item)
                    continue
                _, image, pts, duration = item
                pts = max(frames * ticks if pts is None else pts, last + 1)
                out = process(image, float(pts * self.time_base))
                if out.shape != image.shape or out.dtype != np.uint8:
                    raise ParameterError(
                        f"process must return a {image.shape} uint8 frame like its input, "
                        f"got {out.shape} {out.dtype}"
                    )
                self.filtered.put(("video", out.copy(), pts, duration or ticks))
                first = pts if frames == 0 else first
                last, end = pts, pts + (duration or ticks)
                frames += 1
                bar.update()
        self.filtered.put(None)
        return frames, float((end - first) * self.time_base)

    def _write(self) -> None:
        """Encode frames and mux them with the audio; finalise the file, also when cancelled."""
        output = self.output
        try:
            while (item := self.filtered.get()) is not None:
                if item[0] == "video":
                    output.encode(*item[1:])
                elif self.audio_mode == "copied":
                    item[1].stream = self.audio_out
                    output.container.mux(item[1])
                else:
                    output.container.mux(self.audio_out.encode(item[1]))
            if self.audio_mode == "re-encoded":
                output.container.mux(self.audio_out.encode(None))
            output.close()
        except BaseException as exc:
            _close_quietly(output)  # so an interrupted render leaves a playable file
            if isinstance(exc, (OSError, av.FFmpegError)):
                raise RecordingError(f"cannot write {output.path}: {_reason(exc)}") from exc
            raise


def _frame_total(source: av.container.InputContainer, video: av.video.stream.VideoStream) -> int | None:
    """The number of frames the container says it holds, or estimates from its duration (None if neither)."""
    if video.frames:
        return video.frames
    if source.duration and video.average_rate:
        return round(source.duration / av.time_base * video.average_rate)
    return None


def _close_quietly(output: VideoOutput) -> None:
    """Close ``output`` on an error path, logging (not raising) a second error."""
    try:
        output.close()
    except (OSError, av.FFmpegError) as exc:
        log.warning("could not finalise %s: %s", output.path, _reason(exc))


def _join(threads: list[threading.Thread]) -> None:
    """Join ``threads``, holding back a `KeyboardInterrupt` until they have finished."""
    interrupted = False
    for thread in threads:
        while thread.is_alive():
            try:
                thread.join()
            except KeyboardInterrupt:
                interrupted = True
    if interrupted:
        raise KeyboardInterrupt
