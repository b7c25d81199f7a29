"""Steady tones (mains hum and its harmonics, a whine) taken out of 48 kHz sound, with no delay.

RNNoise (`camfilters.audio_denoise`) only turns bands down, so a hum on the voice's own pitch
and harmonics (100-300 Hz) costs speech wherever it is removed. A steady tone can instead be
subtracted: its frequency, amplitude and phase are known from the past, so each new hop's
share of it is predicted and taken away, and the speech under it stays. Each hop, a 200 ms
Hann window of the past (5 Hz bins, up to `MAX_HZ`) is analysed; per bin, the correlation of
spectra 200 ms apart (frames that share no sample) gives the tone's frequency (its phase turns
by ``2 pi f 200 ms``) and its coherence (near 1 for a steady tone, near 0 for noise and speech,
smoothed over ~3 s); the bin's complex amplitude is followed at that frequency (~0.5 s). Bins
that are coherent and a local peak are synthesised over the next hop and subtracted.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HumCanceller"]

RATE = 48000


class HumCanceller:
    """Subtracts the steady tones predicted from the past from each ``(hop,) float`` block of 48 kHz mono sound.

    ``canceller(block)`` returns the block less the tones, float64, as long, with no delay; the first
    second or two passes unchanged while the tones are learnt. One state per channel: not thread-safe.

    >>> t = np.arange(3 * RATE) / RATE
    >>> canceller = HumCanceller()
    >>> out = np.concatenate([canceller(x) for x in np.sin(2 * np.pi * 60 * t).reshape(-1, 480)])
    >>> bool(20 * np.log10(np.sqrt(np.mean(out[-RATE // 2:] ** 2) / 0.5)) < -40)  # 60 Hz alone, after 2.5 s
    True
    """

    WINDOW = 9600  # analysis (samples; 200 ms: 5 Hz bins)
    MAX_HZ = 1000  # highest tone looked for
    COHERENCE = 0.5  # least coherence of a bin taken for a tone
    SLOW = 0.003  # per hop: frequency and coherence averaging (~3 s at 10 ms hops)
    TRACK = 0.02  # per hop: amplitude and phase following (~0.5 s)

    def __init__(self, hop: int = 480) -> None:
        if self.WINDOW % hop:
            raise ValueError(f"hop must divide {self.WINDOW}, got {hop}")
        self.hop = hop
        bins = self.MAX_HZ * self.WINDOW // RATE
        self._window = np.hanning(self.WINDOW + 2)[1:-1]
        self._offsets = np.arange(self.WINDOW) - (self.WINDOW - 1) / 2  # samples from the window's centre
        self._centres = 2 * np.pi * np.arange(bins) / self.WINDOW  # bin centres, rad/sample
        self._ahead = np.arange(self.WINDOW, self.WINDOW + hop)  # the next hop, from the window's first sample
        self._past = np.zeros(self.WINDOW)
        self._spectra = np.zeros((self.WINDOW // hop, bins), complex)  # ring of the last 200 ms of spectra
        self._turn = np.zeros(bins, complex)  # smoothed correlation with the spectrum 200 ms before
        self._power = np.full(bins, 1e-30)  # smoothed power
        self._tone = np.zeros(bins, complex)  # each bin's steady part, this window
        self._hops = 0

    def __repr__(self) -> str:
        return f"HumCanceller(hop={self.hop})"

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if block.shape != (self.hop,):
            raise ValueError(f"block must be ({self.hop},), got {block.shape}")
        omega = self._centres + np.angle(self._turn) / self.WINDOW  # rad/sample; a bin's offset is within +-pi
        strength = np.abs(self._tone)
        tones = (np.abs(self._turn) > self.COHERENCE * self._power) & (strength >= np.r_[0, strength[:-1]]) \
            & (strength >= np.r_[strength[1:], 0])
        tones[0] = False
        out = np.array(block, np.float64)
        k = np.flatnonzero(tones)
        if len(k):
            offset = omega[k] - self._centres[k]
            gain = np.cos(np.outer(offset, self._offsets)) @ self._window  # the window's response off the bin centre
            amplitude = 2 * self._tone[k] * np.exp(-1j * offset * (self.WINDOW - 1) / 2) / gain
            out -= np.real(amplitude @ np.exp(1j * np.outer(omega[k], self._ahead)))
        self._learn(block)
        return out

    def _learn(self, block: np.ndarray) -> None:
        self._past = np.r_[self._past[self.hop:], block]
        spectrum = np.fft.rfft(self._past * self._window)[:len(self._centres)]
        slot = self._hops % len(self._spectra)
        self._turn += self.SLOW * (spectrum * np.conj(self._spectra[slot]) - self._turn)
        self._power += self.SLOW * (np.abs(spectrum) ** 2 - self._power)
        self._spectra[slot] = spectrum
        self._hops += 1
        predicted = self._tone * np.exp(1j * (self._centres + np.angle(self._turn) / self.WINDOW) * self.hop)
        self._tone = predicted + self.TRACK * (spectrum - predicted)
