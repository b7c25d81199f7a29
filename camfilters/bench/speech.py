"""Noisy speech and how well it was cleaned: the test sound and metrics of the tests and `benchmarks/audio_denoise.py`.

Speech is espeak-ng's (Debian package ``espeak-ng``), resampled to 48 kHz mono float; noise
is pink (1/f power, seeded) plus a 100 Hz mains hum with its 200 and 300 Hz harmonics, scaled
to a given SNR over the whole clip. Scores compare a cleaned track with the clean speech after
alignment (the lag found by cross-correlation within `MAX_LAG_S`):

- `aligned_snr`: 10 log10 of speech power over residual power, the least-squares gain fitted
  (so a uniformly quieter output is not an error; SI-SDR, Le Roux et al. 2019);
- `envelope_correlation`: Pearson correlation of the 10 ms RMS envelopes in dB, floored
  60 dB below the clean peak (what a listener hears as the speech's rhythm and pauses).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

RATE = 48000
MAX_LAG_S = 0.05
TEXT = ("The quick brown fox jumps over the lazy dog. Please call Stella and ask her to bring "
        "these things with her from the store.")


def espeak_available() -> str | None:
    """Why `speech` cannot run here, or None if it can."""
    return None if shutil.which("espeak-ng") else "needs espeak-ng (apt install espeak-ng)"


def speech(text: str = TEXT, seconds: float | None = None) -> np.ndarray:
    """``text`` spoken by espeak-ng: ``(n,) float32`` at 48 kHz, peak 0.5, cut to ``seconds`` if given."""
    import av

    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(wav), text], check=True,
                       capture_output=True, timeout=60)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        with av.open(str(wav)) as container:
            parts = [out.to_ndarray().ravel() for frame in container.decode(audio=0)
                     for out in resampler.resample(frame)]
        parts += [out.to_ndarray().ravel() for out in resampler.resample(None)]
    samples = np.concatenate(parts)
    if seconds is not None:
        samples = samples[:round(seconds * RATE)]
    return (samples * (0.5 / np.abs(samples).max())).astype(np.float32)


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    """``(n,) float64`` pink noise of unit RMS: white noise shaped to 1/f power in the frequency domain."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n)
    spectrum[1:] /= np.sqrt(f[1:])
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2))


def hum(n: int) -> np.ndarray:
    """``(n,) float64`` mains hum of unit RMS: 100 Hz with its 200 and 300 Hz harmonics at half and a quarter."""
    t = np.arange(n) / RATE
    wave = sum(a * np.sin(2 * np.pi * 100 * k * t + k) for k, a in ((1, 1.0), (2, 0.5), (3, 0.25)))
    return wave / np.sqrt(np.mean(wave**2))


def noise(n: int, rms: float, seed: int = 0) -> np.ndarray:
    """``(n,) float64`` pink noise plus hum, of equal power, together of RMS ``rms``."""
    mix = pink_noise(n, seed) + hum(n)
    return mix * (rms / np.sqrt(np.mean(mix**2)))


def noisy(clean: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``clean`` plus `noise` at ``snr_db`` over the clip; float32, clipped to [-1, 1]."""
    rms = np.sqrt(np.mean(clean.astype(np.float64)**2) / 10 ** (snr_db / 10))
    return np.clip(clean + noise(len(clean), rms, seed), -1, 1).astype(np.float32)


def lag(reference: np.ndarray, signal: np.ndarray, max_lag_s: float = MAX_LAG_S) -> int:
    """Samples by which ``signal`` lags ``reference`` (positive: later), from their cross-correlation."""
    n = len(reference) + len(signal)
    size = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(reference, size)), size)
    limit = round(max_lag_s * RATE)
    lags = np.r_[np.arange(0, limit + 1), np.arange(-limit, 0)]
    return int(lags[np.argmax(xc[lags])])


def _aligned(reference: np.ndarray, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shift = lag(reference, signal)
    signal = signal[shift:] if shift >= 0 else np.r_[np.zeros(-shift, signal.dtype), signal]
    n = min(len(reference), len(signal))
    return reference[:n].astype(np.float64), signal[:n].astype(np.float64)


def aligned_snr(clean: np.ndarray, signal: np.ndarray) -> float:
    """SNR (dB) of ``signal`` against ``clean`` after alignment and the least-squares gain."""
    s, y = _aligned(clean, signal)
    gain = np.dot(y, s) / np.dot(s, s)
    return float(10 * np.log10(np.sum((gain * s) ** 2) / np.sum((y - gain * s) ** 2)))


def envelope(samples: np.ndarray, floor: float) -> np.ndarray:
    """RMS of each 10 ms of ``samples``, in dB, at least ``floor`` dB."""
    frames = samples[: len(samples) // 480 * 480].reshape(-1, 480)
    return np.maximum(10 * np.log10(np.mean(frames**2, axis=1) + 1e-20), floor)


def envelope_correlation(clean: np.ndarray, signal: np.ndarray) -> float:
    """Pearson correlation of the 10 ms dB envelopes of ``signal`` and ``clean`` after alignment."""
    s, y = _aligned(clean, signal)
    floor = envelope(s, -200).max() - 60
    return float(np.corrcoef(envelope(s, floor), envelope(y, floor))[0, 1])


def onsets(samples: np.ndarray, quiet_s: float = 0.3, below_db: float = 20.0) -> np.ndarray:
    """Times (s) where the 10 ms envelope rises to ``below_db`` under its peak after ``quiet_s`` under it."""
    level = envelope(np.asarray(samples, np.float64), -200)
    loud = np.flatnonzero(level >= level.max() - below_db)
    gaps = np.diff(loud, prepend=-10**9)
    return loud[gaps > quiet_s * 100] * 0.01


def pause_ratio(clean: np.ndarray, signal: np.ndarray, margin_s: float = 0.05) -> float:
    """Power (dB) of ``signal`` where ``clean`` speaks over where it pauses, after alignment: how far the noise
    sits under the speech. Pauses: 10 ms frames 50 dB under the clean peak, ``margin_s`` from any louder one;
    unlike `aligned_snr`, small time warps (a live recording's drift correction) do not change it."""
    s, y = _aligned(clean, signal)
    level = envelope(s, -200)
    speaking = level >= level.max() - 20
    near = np.convolve(level >= level.max() - 50, np.ones(2 * round(margin_s * 100) + 1), "same") > 0
    frames = y[: len(y) // 480 * 480].reshape(-1, 480) ** 2
    return float(10 * np.log10(frames[speaking].mean() / frames[~near].mean()))
