"""Speech denoising of the sound: steady hum subtracted, then RNNoise (``pyrnnoise``, the ``denoise`` extra), 48 kHz.

RNNoise (Valin 2018, xiph/rnnoise) is a small recurrent network that estimates a gain per band
every 10 ms frame of 480 samples at 48 kHz; its model is compiled into the library ``pyrnnoise``
ships, so nothing is downloaded. It is called through pyrnnoise's ctypes binding directly
(``rnnoise_process_frame`` on float32 samples scaled to 16-bit range), not its ``RNNoise``
class, which rounds every sample to int16 and wraps values past full scale. Before it, a
`HumCanceller` subtracts steady tones (mains hum), which RNNoise could only turn down with the
voice under them; it adds no delay. Each channel has a state of its own, kept between blocks;
samples that do not fill a frame wait for the next block. The output lags the input by `DELAY` samples (RNNoise's overlapping window): `Denoiser`
says so, `LiveDenoiser` moves the blocks' times back by it, `FrameDenoiser` cuts it off.
"""

from __future__ import annotations

import ctypes
from fractions import Fraction

import numpy as np

from .errors import CamfiltersError
from .hum_canceller import HumCanceller

__all__ = ["DELAY", "FRAME", "RATE", "DenoiseUnavailable", "Denoiser", "FrameDenoiser", "LiveDenoiser", "denoise", "is_on",
           "load_rnnoise", "switch"]

#: RNNoise's sample rate (Hz), frame (samples: 10 ms) and output delay (samples: 20 ms, two frames, measured).
RATE = 48000
FRAME = 480
DELAY = 960
_SCALE = 32768.0  # RNNoise expects 16-bit sample values in float


class DenoiseUnavailable(CamfiltersError, RuntimeError):
    """``pyrnnoise`` is not installed (or its library does not load); exit code 1."""


def load_rnnoise():
    """pyrnnoise's ctypes handle on librnnoise, or `DenoiseUnavailable` in one line."""
    try:
        from pyrnnoise import rnnoise
    except (ImportError, OSError) as exc:  # OSError: the bundled library does not load
        raise DenoiseUnavailable(f"--audio-denoise needs pyrnnoise ({exc}); install it with: "
                                 'pip install "camfilters[denoise]"') from exc
    if rnnoise.FRAME_SIZE != FRAME or rnnoise.SAMPLE_RATE != RATE:
        raise DenoiseUnavailable(f"pyrnnoise works in frames of {rnnoise.FRAME_SIZE} samples at "
                                 f"{rnnoise.SAMPLE_RATE} Hz, not {FRAME} at {RATE}; install pyrnnoise 0.4")
    return rnnoise


class Denoiser:
    """Streaming hum canceller and RNNoise on ``(n, channels) float32`` blocks at 48 kHz; `process` returns whole frames.

    Each call returns the denoised samples of the frames completed so far, a multiple of
    `FRAME` (the rest waits for the next call), `DELAY` samples behind the input: output
    sample ``k`` is input sample ``k - DELAY`` cleaned. ``taken`` and ``given`` count the
    samples in and out; ``vad`` holds RNNoise's speech probability (0-1) of each frame returned
    by the last call, ``(m // FRAME, channels) float32``. ``hum=False``: RNNoise alone (the
    benchmark's reference). Not thread-safe: one caller at a time.
    """

    def __init__(self, channels: int = 1, *, hum: bool = True) -> None:
        self._lib = load_rnnoise().lib
        self.channels = channels
        self._states = [self._lib.rnnoise_create(None) for _ in range(channels)]
        self._cancellers = [HumCanceller(FRAME) for _ in range(channels)] if hum else None
        self._pending = np.zeros((0, channels), np.float32)
        self._frame = np.zeros(FRAME, np.float32)  # one channel's frame, denoised in place
        self._pointer = self._frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.taken = 0
        self.given = 0
        self.vad = np.zeros((0, channels), np.float32)

    def __repr__(self) -> str:
        return f"Denoiser(channels={self.channels}, hum={self._cancellers is not None})"

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Denoise ``(n, channels)`` float samples in [-1, 1]; the ``(m, channels) float32`` frames done."""
        if samples.ndim != 2 or samples.shape[1] != self.channels:
            raise ValueError(f"samples must be (n, {self.channels}), got {samples.shape}")
        self.taken += len(samples)
        data = np.concatenate([self._pending, samples.astype(np.float32, copy=False)]) if len(self._pending) \
            else np.asarray(samples, np.float32)
        done = len(data) // FRAME * FRAME
        out = np.empty((done, self.channels), np.float32)
        self.vad = np.empty((done // FRAME, self.channels), np.float32)
        for c, state in enumerate(self._states):
            for start in range(0, done, FRAME):
                frame = data[start:start + FRAME, c]
                np.multiply(frame if self._cancellers is None else self._cancellers[c](frame), _SCALE,
                            out=self._frame)
                self.vad[start // FRAME, c] = self._lib.rnnoise_process_frame(state, self._pointer, self._pointer)
                out[start:start + FRAME, c] = self._frame
        out *= 1.0 / _SCALE
        np.clip(out, -1.0, 1.0, out=out)
        self._pending = data[done:].copy()
        self.given += done
        return out

    def restart(self) -> None:
        """Drop the samples waiting for a whole frame and count from 0 again (the channels' states are kept)."""
        self._pending = self._pending[:0]
        self.taken = self.given = 0

    def close(self) -> None:
        """Free the RNNoise states; idempotent."""
        states, self._states = self._states, []
        for state in states:
            self._lib.rnnoise_destroy(state)

    def __del__(self) -> None:
        self.close()


def denoise(samples: np.ndarray) -> np.ndarray:
    """A whole ``(n, channels)`` (or ``(n,)``) float track at 48 kHz denoised, aligned with it, same shape.

    The delay is cut off and the tail flushed with silence, so sample ``k`` of the result is sample ``k``
    of ``samples`` cleaned.
    """
    two_d = samples.reshape(len(samples), -1)
    denoiser = Denoiser(two_d.shape[1])
    try:
        out = np.concatenate([denoiser.process(two_d), denoiser.process(np.zeros((DELAY + FRAME, two_d.shape[1]),
                                                                                  np.float32))])
    finally:
        denoiser.close()
    return out[DELAY:DELAY + len(samples)].reshape(samples.shape)


class LiveDenoiser:
    """Denoises a live sound source's timed blocks (`camfilters.audio`), switched on and off as it runs.

    ``LiveDenoiser(channels)`` loads RNNoise at once (so a missing package is said before the
    session starts). `__call__` takes a ``(n, channels) float32`` block at 48 kHz and the
    monotonic time of its first sample and returns the block to record and its time: denoised,
    timed where its sound was captured (``DELAY`` samples and the wait for a whole frame earlier),
    while ``enabled``; else the block as it came. Switching on starts from an empty frame buffer.
    """

    def __init__(self, channels: int = 1, *, enabled: bool = True) -> None:
        self._denoiser = Denoiser(channels)
        self.enabled = enabled
        self._was_enabled = False

    def __call__(self, samples: np.ndarray, timestamp: float) -> tuple[np.ndarray, float]:
        if not self.enabled:
            self._was_enabled = False
            return samples, timestamp
        d = self._denoiser
        if not self._was_enabled:  # the frame left half-filled when it was switched off belongs to the past
            d.restart()
            self._was_enabled = True
        first = d.given  # index of the first output sample; it is input sample first - DELAY
        start = d.taken  # index of this block's first input sample
        out = d.process(samples)
        return out, timestamp + (first - DELAY - start) / RATE


class FrameDenoiser:
    """Denoises a file's decoded PyAV audio frames for re-encoding: frames in, 48 kHz float frames out, aligned.

    The first frame's time is kept: the output starts there, the delay cut off, and `flush` gives
    the tail. Any rate and layout is resampled to 48 kHz float (PyAV's `AudioResampler`: FFmpeg's
    swresample), mono staying mono and anything else made stereo.
    """

    def __init__(self) -> None:
        self._resampler = None
        self._denoiser: Denoiser | None = None
        self._layout = None
        self._start: int | None = None  # pts of the output's first sample, in 1/RATE s
        self._cut = DELAY  # delay samples still to drop
        self._emitted = 0  # samples handed on

    def __call__(self, frame):
        """The denoised frames ready after ``frame`` (a decoded `av.AudioFrame`), possibly none."""
        import av

        if self._resampler is None:
            channels = 1 if frame.layout.nb_channels == 1 else 2  # as `camfilters.render` encodes it
            self._layout = "mono" if channels == 1 else "stereo"
            self._resampler = av.AudioResampler(format="flt", layout=self._layout, rate=RATE)
            self._denoiser = Denoiser(channels)
            self._start = 0 if frame.pts is None else round(frame.pts * frame.time_base * RATE)
        out = [self._frames(r.to_ndarray().reshape(-1, self._denoiser.channels)) for r in self._resampler.resample(frame)]
        return [f for f in out if f is not None]

    def flush(self):
        """The frames still held: the resampler's tail and the last `DELAY` samples."""
        if self._resampler is None:
            return []
        channels = self._denoiser.channels
        out = [self._frames(r.to_ndarray().reshape(-1, channels)) for r in self._resampler.resample(None)]
        out.append(self._frames(np.zeros((DELAY + FRAME, channels), np.float32), limit=self._denoiser.taken))
        self._denoiser.close()
        return [f for f in out if f is not None]

    def _frames(self, samples: np.ndarray, limit: int | None = None):
        """An `av.AudioFrame` of what ``samples`` completes, the delay cut off and nothing past ``limit``."""
        import av

        out = self._denoiser.process(samples)
        drop = min(self._cut, len(out))
        self._cut -= drop
        out = out[drop:]
        if limit is not None:
            out = out[:max(0, limit - self._emitted)]
        if not len(out):
            return None
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(out).reshape(1, -1), format="flt", layout=self._layout)
        frame.sample_rate = RATE
        frame.time_base = Fraction(1, RATE)
        frame.pts = self._start + self._emitted
        self._emitted += len(out)
        return frame


def switch(source, on: bool | None = None) -> bool:
    """Turn the denoising of a live sound source (`camfilters.audio`'s ``Microphone``, ``ClipAudio``) on, off
    or over (``on`` None); whether it is on now. The first time on loads RNNoise (`DenoiseUnavailable`)."""
    if source.denoiser is None:
        if on is False:
            return False
        source.denoiser = LiveDenoiser(source.channels)
    else:
        source.denoiser.enabled = not source.denoiser.enabled if on is None else on
    return source.denoiser.enabled


def is_on(source) -> bool:
    """Whether a live sound source (or None, or one that cannot be denoised) is being denoised."""
    denoiser = getattr(source, "denoiser", None)
    return denoiser is not None and denoiser.enabled
