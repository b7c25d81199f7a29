"""One render's three stages (`RenderJob`): read and decode, run ``process`` on every frame, encode and mux.

`camfilters.render.render` sets up the files around it (see there); this is the work between them.
"""

from __future__ import annotations

import errno
import logging
import sys
import threading
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import av
import numpy as np
from tqdm import tqdm

from camfilters.errors import CamfiltersError, ParameterError, RecordingError, reason
from camfilters.media.reader import VideoReader
from camfilters.media.writer import open_output
from camfilters.recording import VideoOutput
from camfilters.signals import join_holding
from camfilters.threads import CancellableQueue, Cancelled, Worker

if TYPE_CHECKING:
    from camfilters.options import RenderOptions

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # called with the number of frames just done
# A frame's filter, or an object whose ``push(image, seconds, tag)`` returns the frames it has finished,
# ``[(frame, tag)]``, and ``drain()`` the rest (frames held back: `face.offline.OfflineLenses`).
Process = Callable[[np.ndarray, float], np.ndarray]
_QUEUE_FRAMES = 4  # frames in flight between two stages
# Audio codecs copied into MP4/MOV as they are; players expect these there (PCM also in MOV: QuickTime-only).
_MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})


class RenderJob:
    """One render: the input's streams, the output with its streams, and the three stages."""

    def __init__(self, reader: VideoReader, destination: Path, temp: Path, options: RenderOptions) -> None:
        self.reader = reader
        self.input_path = reader.path
        self.destination = destination  # named in messages; the bytes go to temp until finalised
        self.size = size = reader.size
        self.video, self.sound = reader.video, reader.sound
        self.rate = reader.rate
        self.time_base = reader.time_base
        try:
            self.output = open_output(temp, size, self.rate, gif=options.gif, time_base=self.time_base,
                                      preset=options.speed, crf=options.crf)
        except RecordingError as exc:
            raise RecordingError(f"cannot write {destination}: {reason(exc.__cause__ or exc)}") from exc
        if self.sound is not None and not self.output.format.audio_codec:
            log.info("the sound of %s is not kept: %s holds none", self.input_path.name, destination.name)
            self.sound = None
        self.audio_out: av.stream.Stream | None = None
        self.audio_mode: str | None = None
        self.denoise = None
        if self.sound is not None and options.audio_denoise:
            from .audio_denoise import FrameDenoiser

            self.denoise = FrameDenoiser()
        elif options.audio_denoise and reader.sound is None:
            log.info("%s has no sound: --audio-denoise has nothing to clean", self.input_path.name)
        if self.sound is not None:
            try:
                self._add_audio(self.sound)
            except BaseException:
                close_quietly(self.output)
                raise
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.frames_written = 0  # video frames the writer has encoded
        self.start, self.end = options.start, options.end
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
            close_quietly(output)  # so an interrupted render leaves a playable file
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


def close_quietly(output: VideoOutput) -> None:
    """Close ``output`` on an error path, logging (not raising) a second error."""
    try:
        output.close()
    except (OSError, av.FFmpegError, ValueError) as exc:
        log.warning("could not finalise %s: %s", output.path, reason(exc))
