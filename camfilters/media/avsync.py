"""Keeping a live recording's sound in sync with its frames: `AudioTrack` places timed blocks on the video's
timeline (gaps filled with silence, overlaps cut, clock drift resampled away)."""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .writer import VideoOutput

__all__ = ["AudioTrack"]

log = logging.getLogger(__name__)


class AudioTrack:
    """Places timed audio blocks on the video's timeline and feeds them to a `VideoOutput`'s audio stream.

    Sample 0 belongs at ``start`` (the first video frame's timestamp, set by `begin`;
    blocks before it wait, the last second of them, and are cut to it). A block whose
    time is more than `GAP_S` after the samples so far is preceded by silence (a gap:
    overflows, a paused device); one more than `OVERLAP_S` before loses its
    overlapping start; either only from the second such block in a row (a single block's
    time can be off by that much on a loaded machine). Smaller differences are clock drift, jitter, or a single lost
    block: blocks are resampled by at most `MAX_STRETCH` to bring the smoothed
    difference back to zero, so audio stays in sync over hours. Samples are encoded only up to the video's end
    so far (`release`), so the file's audio never outlasts its video; `finish` ends it
    exactly there.
    """

    GAP_S = 0.06  # three blocks: the times of blocks step by up to one, which is no gap
    OVERLAP_S = 0.06
    # The timestamps of blocks jitter and step by up to a block (~20 ms, PulseAudio's latency estimate),
    # while real clocks drift by 10-1000 ppm: the correction follows a slow average (about 2 s of blocks)
    # and removes a share of it per block (about 10 s to correct a step), so a step bends the pitch by
    # ~0.2 % for a few seconds, and a 1000 ppm drift is held ~10 ms away from sync.
    MAX_STRETCH = 0.005  # 0.5 %: a 5 ms correction per second at most
    GAIN = 0.002  # share of the smoothed difference corrected per block
    SMOOTH = 0.01  # weight of each block's difference in the smoothed one
    JITTER_S = 0.02  # a block's difference counts at most this much in it
    STALL_S = 1.0  # no sound for this long behind the video: silence is recorded in its place
    START_S = 3.0  # the same before the first sound: a device may take a while to start

    def __init__(self, output: VideoOutput, rate: int, channels: int) -> None:
        self.output, self.rate, self.channels = output, rate, channels
        self.start: float | None = None
        self.placed = 0  # samples on the timeline (encoded or held)
        self.written = 0  # samples encoded
        self.stalls = 0  # times silence was put in for a microphone that went quiet
        self._heard = False  # a block has been placed
        self._held: collections.deque[np.ndarray] = collections.deque()
        self._early: collections.deque[tuple[np.ndarray, float]] = collections.deque()  # the last second
        self._drift = 0.0  # smoothed (block time - its place on the timeline), samples
        self._carry = 0.0  # correction owed, samples (applied a whole sample at a time)
        self._outlier = False  # the last block's time was far from its place (a gap is two such blocks in a row)
        self.gaps: list[tuple[float, int]] = []  # (s into the track, samples of silence put in)
        self.cuts: list[tuple[float, int]] = []  # (s into the track, samples left out)

    def add(self, samples: np.ndarray, timestamp: float) -> None:
        """Place ``(n, channels) float32`` samples whose first was captured at ``timestamp`` (monotonic s)."""
        if self.start is None:
            self._early.append((samples, timestamp))
            while self._early[0][1] < timestamp - 1.0:
                self._early.popleft()
            return
        if timestamp < self.start:  # captured before the first frame: only what follows it counts
            cut = round((self.start - timestamp) * self.rate)
            if cut >= len(samples):
                return
            samples, timestamp = samples[cut:], self.start
        error = (timestamp - self.start) * self.rate - self.placed
        n = len(samples)
        far = error >= self.GAP_S * self.rate or error <= -self.OVERLAP_S * self.rate
        self._outlier, outlier = far, far and not self._outlier
        if outlier:  # one block's time far off is taken for a glitch of its timestamp: placed as it comes
            pass
        elif error >= self.GAP_S * self.rate:
            self._place(np.zeros((round(error), self.channels), np.float32))
            self._drift = 0.0
            self.gaps.append((self.placed / self.rate, round(error)))
        elif error <= -self.OVERLAP_S * self.rate:
            self.cuts.append((self.placed / self.rate, min(n, round(-error))))
            samples = samples[round(-error) :]
            self._drift = 0.0
        else:  # a slow average of the clipped difference: one late callback's timestamp barely moves it
            jitter = self.JITTER_S * self.rate
            self._drift += self.SMOOTH * (max(-jitter, min(jitter, error)) - self._drift)
            limit = n * self.MAX_STRETCH
            self._carry = max(-limit, min(limit, self._carry + self._drift * self.GAIN))
            change = round(self._carry)
            self._carry -= change
            if change:
                samples = _stretch(samples, n + change)
        if len(samples):
            self._place(samples)
            self._heard = True

    def begin(self, start: float) -> None:
        """Set the time of sample 0 and place the blocks that came before."""
        self.start = start
        early, self._early = list(self._early), collections.deque()
        for samples, timestamp in early:
            self.add(samples, timestamp)

    def _place(self, samples: np.ndarray) -> None:
        self._held.append(samples)
        self.placed += len(samples)

    def release(self, until: float) -> None:
        """Encode the samples placed before ``until`` (monotonic s: the video's end so far)."""
        if self.start is None:
            return
        end = round((until - self.start) * self.rate)
        quiet = self.STALL_S if self._heard else self.START_S
        if self.placed < end - quiet * self.rate:
            # the microphone went quiet (or never started): silence in its place, so the file keeps up
            if not self.stalls:
                log.warning("no sound from the microphone for %.1f s (unplugged?); recording silence until it "
                            "returns", quiet)
            self.stalls += 1
            self._place(np.zeros((end - self.placed, self.channels), np.float32))
        while self._held and self.written < end:
            block = self._held.popleft()
            take = min(len(block), end - self.written)
            if take < len(block):
                self._held.appendleft(block[take:])
            self.output.encode_audio(block[:take])
            self.written += take

    def finish(self, end: float) -> None:
        """End the track at ``end`` (monotonic s, the video's end): silence to it, or cut after it."""
        if self.start is None:
            self.begin(end)
        missing = round((end - self.start) * self.rate) - self.placed
        if missing > 0:
            self._place(np.zeros((missing, self.channels), np.float32))
        self.release(end)
        log.debug("sound: %d gaps filled with silence %s, %d overlaps cut %s, %d stalls", len(self.gaps),
                  [(round(t, 2), n) for t, n in self.gaps[:20]], len(self.cuts),
                  [(round(t, 2), n) for t, n in self.cuts[:20]], self.stalls)


def _stretch(samples: np.ndarray, n: int) -> np.ndarray:
    """``(m, channels)`` samples resampled to ``n`` (linear interpolation, first and last kept)."""
    m = len(samples)
    where = np.linspace(0.0, m - 1, n)
    return np.stack([np.interp(where, np.arange(m), samples[:, c]) for c in range(samples.shape[1])],
                    axis=1).astype(np.float32)
