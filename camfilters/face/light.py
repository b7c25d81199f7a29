"""The ``light`` lens: face-priority auto exposure and white balance, smoothed in time.

Exposure meters every face's landmark hull (`Scene.face_region`; with none, a sample of the whole
frame) and solves on the histograms for the gain whose `tone_curve` puts their mean luma at
``target`` (the shoulder bends the mean, so it cannot just be divided out). White balance is a
gain per channel in log chromaticity: blue-yellow from the near-grey pixels (`grey_pixels`: plain
grey world is pulled off by coloured surfaces, log R/G 0.29 on the astronaut photo against 0.06),
green-magenta half that and half the skin's (`SKIN_TINT`; along blue-yellow skin varies with
melanin as with the light). Both follow a time constant in seconds towards a goal that moves only
when a measurement leaves a dead band, so a jittering meter does not pump; the result is one byte
table per channel, applied in place in one pass (`filters.apply_tables`).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from numba import njit

from filters import apply_tables
from filters.base import Option, in_range

from .lenses import Lens, Scene, register_lens

KNEE = 0.75  # output share of full scale where the highlight shoulder starts
MIN_SLOPE = 0.2  # the shoulder's slope at white: the top input levels keep a fifth of their steps
LUMA = np.array([0.114, 0.587, 0.299])  # BGR weights of luma (BT.601, as cv2.COLOR_BGR2GRAY)
FRAME_TARGET = 0.45  # mean luma aimed at without a face (mid-grey in sRGB is 0.46)
MIN_GAIN = 0.5  # the exposure is lowered at most to half (an over-exposed face)
GAINS = np.exp(np.linspace(math.log(MIN_GAIN / 2), math.log(16.0), 40))  # exposure gains the meter tries
LEVELS = np.arange(256) / 255.0  # the levels, share of full scale (as the table maps them)
LOG_LEVEL = np.log(np.arange(1.0, 257.0))  # log(level + 1) of each byte
GROUP = 4  # the meter evaluates the curve once per 4 levels, at their mean: 4x less work, the same mean
METER_WIDTH = 80  # px: the frame is metered on a sample about this wide (0.01 ms; an INTER_AREA copy: 0.7)
GREY_CHROMA = 0.25  # a pixel counts as near-grey within this log-chroma distance of the estimate
SKIN_TINT = 0.0  # skin's green-magenta log chroma (log R/G + log B/G) / sqrt 2 (the astronaut's: 0.03)
MAX_CAST = math.log(1.5)  # the white balance corrects at most this (log gain) per channel
EXPOSURE_BAND = 0.05  # log gain: a new exposure within 5 % of the goal leaves the goal where it is
BALANCE_BAND = 0.03  # log gain per channel: the same for the white balance
SETTLED = 1e-3  # log gain: closer than this to the goal, the applied value is the goal


def tone_curve(gain: np.ndarray | float, x: np.ndarray) -> np.ndarray:
    """The exposure curve at ``gain`` (any shape, broadcast against ``x``) of ``x`` in [0, 1], in [0, 1].

    ``gain * x`` up to the output `KNEE`, then a rational shoulder with the same slope there that
    reaches 1 exactly at ``x = 1`` with slope at least `MIN_SLOPE`; a gain up to 1 is the plain line.

    >>> [round(float(v), 3) for v in tone_curve(2.0, np.array([0.0, 0.25, 0.375, 1.0]))]
    [0.0, 0.5, 0.75, 1.0]
    """
    g = np.maximum(np.asarray(gain, np.float64), 1e-6)
    x = np.asarray(x, np.float64)
    line = g * x
    lifted = np.maximum(g, 1.0)  # the shoulder's own gain (where g <= 1 it is not used)
    knee_x = KNEE / lifted
    span = 1.0 - knee_x
    room = (1.0 - KNEE) - MIN_SLOPE * span  # > 0: MIN_SLOPE < 1 - KNEE and span <= 1
    bend = ((lifted - MIN_SLOPE) * span / room - 1.0) / span  # >= 0 for g >= 1: f(1) = 1
    u = np.maximum(x - knee_x, 0.0)
    shoulder = KNEE + MIN_SLOPE * u + (lifted - MIN_SLOPE) * u / (1.0 + bend * u)
    return np.where((g > 1.0) & (x > knee_x), shoulder, line)


def histograms(pixels: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-channel histograms ``(3, 256) float64`` of ``pixels`` ((h, w, 3) uint8) where ``mask`` is non-zero
    (all if None), as counts."""
    return np.stack([cv2.calcHist([pixels], [c], mask, [256], [0, 256])[:, 0] for c in range(3)]).astype(np.float64)


def exposure_for(hist: np.ndarray, balance: np.ndarray, target: float) -> float:
    """The log exposure gain that brings the mean luma of ``hist`` ((3, 256) counts) to ``target``
    through `tone_curve` at ``exp(gain) * balance[c]`` for channel c (``balance``: (3,) gains)."""
    counts = hist.reshape(3, -1, GROUP).sum(axis=2)
    levels = (hist * LEVELS).reshape(3, -1, GROUP).sum(axis=2) / np.maximum(counts, 1e-9)
    weights = counts / max(float(counts[0].sum()), 1.0)
    curves = tone_curve(GAINS[None, :, None] * balance[:, None, None], levels[:, None, :])  # (channel, gain, level)
    mean = np.einsum("cgk,ck,c->g", curves, weights, LUMA)
    mean = np.maximum.accumulate(mean)  # rising in the gain already; make ties safe for np.interp
    return float(np.interp(target, mean, np.log(GAINS)))


def grey_pixels(small: np.ndarray) -> np.ndarray:
    """The illuminant's log chromaticity (log R/G, log B/G) from the near-grey pixels of ``small``
    ((h, w, 3) uint8 BGR): grey world over the pixels within `GREY_CHROMA` of the estimate, three rounds."""
    return np.array(_grey_world(small, LOG_LEVEL, LUMA, GREY_CHROMA ** 2))


@njit(cache=True, nogil=True)
def _grey_world(small, logs, luma, radius2):
    """`grey_pixels` in one loop a round, as ``(log R/G, log B/G)``: ``logs[v]`` is ``log(v + 1)``; pixels whose
    luma (of ``v + 1``) is outside 12..243 are left out (black, clipped); fewer than 16 left: no cast. Numba:
    NumPy took 0.6 ms for the three rounds' masks and means."""
    red = blue = 0.0  # the estimate
    for _ in range(3):
        nb = ng = nr = nn = 0.0  # sums of B+1, G+1, R+1 and the count over the pixels near the estimate
        ab = ag = ar = an = 0.0  # the same over all usable pixels
        for y in range(small.shape[0]):
            for x in range(small.shape[1]):
                b, g, r = small[y, x, 0], small[y, x, 1], small[y, x, 2]
                if not 12.0 < luma[0] * (b + 1.0) + luma[1] * (g + 1.0) + luma[2] * (r + 1.0) < 243.0:
                    continue
                ab += b + 1.0
                ag += g + 1.0
                ar += r + 1.0
                an += 1.0
                dr = logs[r] - logs[g] - red
                db = logs[b] - logs[g] - blue
                if dr * dr + db * db < radius2:
                    nb += b + 1.0
                    ng += g + 1.0
                    nr += r + 1.0
                    nn += 1.0
        if an < 16.0:
            return 0.0, 0.0
        if nn < 0.05 * an:
            nb, ng, nr = ab, ag, ar
        red = math.log(nr / ng)
        blue = math.log(nb / ng)
    return red, blue


def balance_gains(illuminant: np.ndarray) -> np.ndarray:
    """(3,) BGR gains, luma-weighted mean 1, that make the light of log chromaticity ``illuminant``
    (log R/G, log B/G) neutral, each limited to `MAX_CAST`."""
    logs = np.clip(-np.array([illuminant[1], 0.0, illuminant[0]]), -MAX_CAST, MAX_CAST)
    gains = np.exp(logs)
    return gains / float(LUMA @ gains)


@register_lens("light")
class LightLens(Lens):
    help = "face-priority auto exposure and white balance for a dim or back-lit face (whole frame without one)"
    options = (
        Option("target", float, 0.5, "mean luma of the face to reach, share of full scale", in_range(0.3, 0.7)),
        Option("smoothing", float, 0.25, "time constant of the adaptation in seconds (higher: slower, steadier)",
               in_range(0.02, 5.0)),
        Option("max_gain", float, 4.0, "the most the exposure is raised", in_range(1.0, 8.0)),
        Option("balance", float, 1.0, "how much of the white balance correction to apply, 0 (off) to 1",
               in_range(0.0, 1.0)),
    )

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._goal: np.ndarray | None = None  # (log exposure, log gain B, G, R)
        self._value = np.zeros(4)
        self._t: float | None = None
        self._table = np.empty((3, 256), np.uint8)
        self._table_for: np.ndarray | None = None
        pixel = np.zeros((1, 1, 3), np.uint8)  # load (or compile, once) the two Numba kernels before the first frame
        grey_pixels(pixel)
        apply_tables(pixel, self._table)

    def measure(self, frame: np.ndarray, scene: Scene) -> np.ndarray:
        """The wanted (log exposure, log gain B, G, R) for ``frame`` ((H, W, 3) uint8 BGR) and its faces."""
        step = max(1, frame.shape[1] // METER_WIDTH)
        small = np.ascontiguousarray(frame[step // 2::step, step // 2::step])  # a sample is enough for means
        illuminant = grey_pixels(small)
        face = np.zeros((3, 256))
        for one in scene.faces:
            region = scene.face_region(one, frame.shape)
            if region is not None:
                roi, alpha = region
                face += histograms(frame[roi], (alpha > 0.5).astype(np.uint8))
        seen = face[0].sum() >= 16
        if seen:
            mean = face @ LEVELS / face[0].sum() + 1.0 / 255.0  # never log(0)
            skin = np.log(mean[[2, 0]] / mean[1])
            warm = (illuminant[0] - illuminant[1]) / math.sqrt(2.0)  # the two axes, from near-grey pixels ...
            tint = 0.5 * (illuminant.sum() / math.sqrt(2.0)) + 0.5 * (skin.sum() / math.sqrt(2.0) - SKIN_TINT)  # ... and skin
            illuminant = np.array([warm + tint, tint - warm]) / math.sqrt(2.0)
        balance = balance_gains(illuminant * self.balance)
        hist, target = (face, self.target) if seen else (histograms(small), FRAME_TARGET)
        exposure = min(max(exposure_for(hist, balance, target), math.log(MIN_GAIN)), math.log(self.max_gain))
        return np.concatenate([[exposure], np.log(balance)])

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        wanted = self.measure(frame, scene)
        t = scene.timestamp
        if self._goal is None:
            self._goal, self._value = wanted.copy(), wanted.copy()
        else:
            # The value moves towards the goal it had since the last frame; a new goal acts from this frame
            # on, so the response to a change is the same exponential of time at any frame rate.
            if self._t is not None and t > self._t:
                self._value += (1.0 - math.exp(-(t - self._t) / self.smoothing)) * (self._goal - self._value)
            if np.abs(self._goal - self._value).max() < SETTLED:
                self._value = self._goal.copy()
            if abs(wanted[0] - self._goal[0]) > EXPOSURE_BAND or np.abs(wanted[1:] - self._goal[1:]).max() > BALANCE_BAND:
                self._goal = wanted
        self._t = t if self._t is None else max(t, self._t)
        apply_tables(frame, self.table())

    def table(self) -> np.ndarray:
        """The ``(3, 256) uint8`` BGR tables of the applied exposure and white balance (rebuilt when they change)."""
        if self._table_for is None or not np.array_equal(self._table_for, self._value):
            gains = np.exp(self._value[0] + self._value[1:])
            curves = tone_curve(gains[:, None], LEVELS[None, :]) * 255.0 + 0.5
            np.clip(curves, 0, 255, out=curves)
            self._table[:] = curves
            self._table_for = self._value.copy()
        return self._table
