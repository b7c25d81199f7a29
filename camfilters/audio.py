"""The microphone: audio inputs found, and capture stamped on the video frames' clock.

Opt-in (``camfilters run --audio [DEVICE]``): nothing here opens a device unless asked.
Without it, a video file source's own sound is recorded instead (`ClipAudio`).
Uses PortAudio through ``sounddevice`` (the ``audio`` extra). Either source hands each block
of ``(n, channels) float32`` samples in [-1, 1] to a sink (the `Recorder`'s
`~camfilters.recording.Recorder.write_audio`) with the `time.monotonic` time its first sample
was captured, through its ``denoiser`` (a `camfilters.audio_denoise.LiveDenoiser`, set by the
owner) if any. The recorder places blocks by these times (`camfilters.recording`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import CamfiltersError, ParameterError

__all__ = ["AudioDevice", "AudioError", "ClipAudio", "Microphone", "UnknownAudioDevice", "find_input", "list_inputs"]

log = logging.getLogger(__name__)

#: Samples per second recorded: what Opus takes, and AAC's usual rate.
SAMPLE_RATE = 48000
#: Samples per block handed to the sink: 20 ms.
BLOCK = 960
#: Blocks a new stream delivers before it is used, and the seconds it may take: PulseAudio starts a stream
#: with a burst of buffered blocks whose times are off by up to ~0.2 s, steady after about a second.
SETTLE_BLOCKS = 75
SETTLE_TIMEOUT_S = 5.0
#: Callbacks over which the smallest (monotonic - stream clock) offset is kept: one second of blocks.
OFFSET_WINDOW = SAMPLE_RATE // BLOCK

Sink = Callable[[np.ndarray, float], None]


def _hand(sink: Sink, denoiser, samples: np.ndarray, timestamp: float) -> None:
    """Give ``samples`` to ``sink``, through ``denoiser`` (None: as they are), which may hold them back."""
    if denoiser is not None:
        samples, timestamp = denoiser(samples, timestamp)
    if len(samples):
        sink(samples, timestamp)


class AudioError(CamfiltersError, RuntimeError):
    """No audio input, or one that cannot be opened (busy, gone); exit code 1."""


class UnknownAudioDevice(AudioError, ParameterError):
    """``--audio DEVICE`` names no input found; a usage error, exit code 2."""


@dataclass(frozen=True)
class AudioDevice:
    """One audio input as PortAudio lists it."""

    index: int
    name: str
    channels: int  # input channels
    rate: float  # default sample rate, Hz
    host_api: str

    def __str__(self) -> str:
        return f"{self.index}: {self.name}"


def _sounddevice():
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
        raise AudioError(f"audio needs sounddevice and PortAudio ({exc}); "
                         'install them with: pip install "camfilters[audio]" and apt install libportaudio2') from exc
    return sounddevice


def list_inputs() -> list[AudioDevice]:
    """The audio inputs PortAudio finds (empty if none, or if PortAudio cannot start)."""
    sd = _sounddevice()
    apis = sd.query_hostapis()
    return [AudioDevice(i, d["name"], d["max_input_channels"], d["default_samplerate"], apis[d["hostapi"]]["name"])
            for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]


def _found(inputs: list[AudioDevice]) -> str:
    return "found: " + ", ".join(map(str, inputs)) if inputs else "no audio input found"


def find_input(spec: str | None) -> AudioDevice:
    """The input ``spec`` names: None or "" for the default, an index, or a unique part of a name.

    `UnknownAudioDevice` (naming the inputs found) when it names none; `AudioError` when there is no input at all.
    """
    sd = _sounddevice()
    inputs = list_inputs()
    if not inputs:
        raise AudioError("no audio input found (is a microphone connected and the sound server running?); "
                         "run without --audio to record video only")
    if not spec:
        default = sd.default.device[0]
        return next((d for d in inputs if d.index == default), inputs[0])
    if spec.isdigit():
        match = [d for d in inputs if d.index == int(spec)]
    else:
        match = [d for d in inputs if d.name == spec] or [d for d in inputs if spec.lower() in d.name.lower()]
    if len(match) != 1:
        what = "no audio input" if not match else "more than one audio input"
        raise UnknownAudioDevice(f"--audio {spec}: {what} by that name; {_found(inputs)}; "
                                 "see camfilters devices")
    return match[0]


class Microphone:
    """Captures an audio input in PortAudio's thread; ``sink`` gets each block with its capture time.

    ``Microphone(spec)`` finds the device (`find_input`) and opens it at once, so a
    busy or broken device is one `AudioError` line before anything else starts.
    ``sink`` (set and cleared by the owner; None drops the blocks) is called in the
    audio thread and must not block. ``level`` is the last block's peak, 0..1, for a
    meter. Use as a context manager, or `close`.
    """

    def __init__(self, spec: str | None = None, *, channels: int = 1) -> None:
        sd = _sounddevice()
        self.device = find_input(spec)
        self.channels = min(channels, self.device.channels)
        self.rate = SAMPLE_RATE
        self.sink: Sink | None = None
        self.denoiser = None
        self.level = 0.0
        self.blocks = 0  # blocks captured
        self._offsets: collections.deque[float] = collections.deque(maxlen=OFFSET_WINDOW)
        self._lock = threading.Lock()  # close() vs a callback in progress
        self._settled = threading.Event()
        try:
            self._stream = sd.InputStream(device=self.device.index, samplerate=self.rate, channels=self.channels,
                                          dtype="float32", blocksize=BLOCK, latency="low", callback=self._callback)
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioError(f"cannot open audio input {self.device} ({exc}); it may be busy or gone; "
                             f"{_found(list_inputs())}") from exc
        if not self._settled.wait(SETTLE_TIMEOUT_S):
            self.close()
            raise AudioError(f"audio input {self.device} gives no sound ({self.blocks} blocks in "
                             f"{SETTLE_TIMEOUT_S:g} s); check it, or choose another: {_found(list_inputs())}")
        log.info("audio: %s at %d Hz, %d channel%s", self.device.name, self.rate, self.channels,
                 "" if self.channels == 1 else "s")

    def _callback(self, data: np.ndarray, frames: int, info, status) -> None:
        # The block's first sample is stamped on the stream's clock (inputBufferAdcTime) and moved onto the
        # monotonic one by the smallest offset seen over the last second: the callback's own delay only adds.
        now = time.monotonic()
        self._offsets.append(now - info.currentTime)
        adc = info.inputBufferAdcTime or info.currentTime - frames / self.rate  # 0: not reported
        captured = adc + min(self._offsets)
        self.blocks += 1
        self.level = float(np.abs(data).max()) if frames else 0.0
        if self.blocks < SETTLE_BLOCKS:
            return
        self._settled.set()
        with self._lock:
            sink = self.sink
            if sink is not None:
                _hand(sink, self.denoiser, data.copy(), captured)

    def frame_shown(self, frame) -> None:
        """Nothing: the microphone keeps its own time (`ClipAudio` follows the frames)."""

    def detach(self) -> None:
        """Stop handing blocks to the sink; once this returns, no callback is still inside it."""
        with self._lock:
            self.sink = None

    def close(self) -> None:
        """Stop and release the device; idempotent."""
        self.detach()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close(ignore_errors=True)
            except Exception as exc:  # noqa: BLE001 - a device gone mid-take; nothing to keep here
                log.debug("closing the audio input: %r", exc)

    def __enter__(self) -> Microphone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ClipAudio:
    """A video file's own sound, handed to the sink with the frames that carry it (`Frame.sound`).

    A `~camfilters.file_source.FileSource` gives each frame its share of the file's sound,
    stamped on the frames' clock (the file's times), so the recording holds all of it, without
    gaps, however slowly the frames are shown. ``ClipAudio(rate, channels)`` is the source's
    ``sound_format``. Same sink, ``level``, `detach` and `close` as `Microphone`.
    """

    def __init__(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        self.sink: Sink | None = None
        self.denoiser = None
        self.level = 0.0
        self._lock = threading.Lock()  # detach() vs frame_shown

    def frame_shown(self, frame) -> None:
        """Hand the sound ``frame`` carries (a `camfilters.source.Frame`) to the sink."""
        sound = frame.sound
        if sound is None:
            return
        self.level = float(np.abs(sound.samples).max())
        with self._lock:
            if self.sink is not None:
                _hand(self.sink, self.denoiser, sound.samples, sound.timestamp)

    def detach(self) -> None:
        with self._lock:
            self.sink = None

    def close(self) -> None:
        self.detach()
