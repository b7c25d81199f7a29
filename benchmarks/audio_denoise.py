"""``--audio-denoise`` (RNNoise through pyrnnoise) against noisereduce's spectral gating, on noisy speech.

    python benchmarks/audio_denoise.py [--seconds 7.6] [--json PATH] [--png PATH]

The sound (`camfilters.bench.speech`): two espeak-ng sentences, 48 kHz mono, with pink noise
and a 100 Hz hum (with harmonics) mixed in at 0 and 10 dB SNR. Each method gets the noisy
track and is scored on the clean speech:

- ``SNR gain``: aligned SI-SNR of the output minus that of the input (dB);
- ``envelope r``: correlation of the 10 ms dB envelopes with the clean speech;
- ``pauses``: speech-to-pause power ratio of the output (dB; the input's is in the row "input");
- ``latency``: how far the streamed output lags the input (cross-correlation, ms) plus the
  wait for a whole block: RNNoise fed the microphone's 20 ms blocks (they fill its 10 ms
  frames: no wait); noisereduce run as it would stream, on 0.5 s blocks (its STFT and time
  smoothing need that much), so it waits 500 ms;
- ``RTF``: processing time over the sound's duration, one thread, both timed in this run.

``noisereduce`` runs twice: non-stationary (its default: noise tracked over time) and
stationary (one noise profile for the whole clip, which needs the whole clip: offline only).
``--png`` draws the spectrograms of the clean, noisy (0 dB) and denoised speech (the README's).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from camfilters.audio_denoise import Denoiser, denoise  # noqa: E402
from camfilters.bench import speech as sp  # noqa: E402

BLOCK_S = 0.5  # noisereduce's streaming block


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


def _rnnoise_streamed(noisy: np.ndarray) -> np.ndarray:
    """What the live path records: the streaming output, delay and all (the microphone's 20 ms blocks)."""
    denoiser = Denoiser()
    return np.concatenate([denoiser.process(noisy[i:i + 960, None])[:, 0] for i in range(0, len(noisy), 960)])


#: name: (offline run, the run whose output lag is measured, and the wait for a block on top (ms), or None: offline)
METHODS = {
    "rnnoise (ours)": (denoise, _rnnoise_streamed, 0.0),
    "noisereduce non-stationary, 0.5 s blocks": (_noisereduce(False), _noisereduce(False), BLOCK_S * 1000),
    "noisereduce stationary, whole clip": (_noisereduce(True), None, None),
}


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
                                           ("--audio-denoise (RNNoise)", cleaned)]):
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
