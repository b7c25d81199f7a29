"""Video noise removal (``denoise``): a per-pixel recursive average over time where the
picture is still, edge-aware smoothing where it moves.

The noise level is measured on every frame (Immerkaer's operator, a robust median, per
brightness band, fitted with a Poisson-Gaussian model so that noise that grows with
brightness is followed); ``strength`` scales it.
"""

from __future__ import annotations

import numpy as np

from ._kernels import denoise as kernels
from .base import Filter, Option, in_range
from .blur import chunks
from .correlation import border_index
from .registry import register_filter

PAD = kernels.RADIUS
BANDS = 8  # brightness bands of the noise estimate (of B + G + R)
TOP = 1024  # histogram bins of |noise operator|; larger values land in the last one
MIN_SAMPLES = 400  # a band with fewer samples takes its neighbours' level
TAU, BETA = 1.15, 16.0  # motion test: innovation above TAU noise variances counts, BETA times (temporal_update)
NMAX = 32.0  # the longest average, in frames (lighting may drift)
H2 = 2.0  # range of the smoothing's weights, in noise variances
REACH = 8  # the largest global shift looked for, in pixels per frame
SHIFT_STEP = 6  # the shift test compares every 6th pixel of every 6th row
SIGMA_MEDIAN = 0.6745 * 6.0 * np.sqrt(3.0)  # median |operator| of unit Gaussian noise per channel
EMA = 0.3  # weight of the newest frame's noise estimate


def _taps() -> np.ndarray:
    d = np.arange(-PAD, PAD + 1, dtype=np.float32)
    return np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * 1.5**2)).astype(np.float32)


@register_filter("denoise")
class Denoise(Filter):
    """Webcam noise removal: a recursive average over time where the picture is still,
    edge-aware smoothing where it moves; the noise level is measured on each frame.

    Each pixel keeps a running average of its past frames (following the camera's
    global shift, found from luma profiles); where the frame differs from it by more
    than the noise explains (a 5x5 colour test), a Kalman step keeps little of the
    history, so moving edges leave no trail. The result is then smoothed by a 5x5
    weighted mean whose weights fall with the difference of 3x3 luma means, with a
    range that shrinks as the average grows: pixels averaged over many frames stay
    sharp, new ones are smoothed. Colours are processed in an orthonormal opponent
    space. The state resets when the frame size changes. With ``temporal=false`` each
    frame is smoothed alone (a pure function of it).
    """

    summary = "video noise removal: averages still parts over time, smooths moving ones"

    options = (
        Option("strength", float, 1.0, "how much: 1 removes the measured noise, 0 none, up to 4",
               in_range(0.0, 4.0)),
        Option("temporal", bool, True, "average over time where the picture is still (false: each frame alone)"),
    )

    temporal = True  # the option of the same name sets it per instance: off, frames are independent

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._taps = _taps()
        self._reset((0, 0))

    def _reset(self, shape: tuple[int, int]) -> None:
        self._shape = shape
        self._rowmap = border_index(shape[0], PAD, PAD, "reflect101")
        self._colmap = border_index(shape[1], PAD, PAD, "reflect101")
        self._model: np.ndarray | None = None  # the noise model (var0, var1), smoothed over frames
        self._profiles: tuple[np.ndarray, np.ndarray] | None = None
        self._flip = 0
        self.frames = 0
        self.shift = (0, 0)

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        if self.strength == 0:  # the weights' floor would still mix pixels whose 3x3 means are equal
            out[...] = src
            return
        height, width, _ = src.shape
        if (height, width) != self._shape:
            self._reset((height, width))
        rows = src.reshape(height, -1)
        n = chunks(height)
        hist = self._buffer("hist", (n, BANDS, TOP), np.int32)
        colsum = self._buffer("colsum", (n, width))
        rowsum = self._buffer("rowsum", (height,))
        kernels.analyse(rows, 4, hist, colsum, rowsum)
        var0, var1 = (np.float32(v * self.strength**2) for v in self._noise(hist))

        shape = (3, height, width + 2 * PAD)
        states = (self._buffer("state0", shape), self._buffer("state1", shape))
        counts = (self._buffer("count0", (height, width)), self._buffer("count1", (height, width)))
        if self.frames == 0:  # no history (and no NaN left in new memory: it is weighted by 0, not skipped)
            for array in states + counts:
                array[:] = 0
        prev, cur = states[self._flip], states[1 - self._flip]
        prevn, curn = counts[self._flip], counts[1 - self._flip]
        dy = dx = 0
        if self.temporal:
            dy, dx = self._global_shift(rows, prev, colsum.sum(axis=0), rowsum.copy())
            self._flip = 1 - self._flip
        else:
            prevn = self._buffer("nothing", (height, width))
            prevn[:] = 0
        self.shift = (dy, dx)
        kernels.temporal(rows, prev, prevn, dy, dx, var0, var1, np.float32(TAU), np.float32(BETA), np.float32(NMAX),
                         self._colmap, cur, curn, self._buffer("tring", (n, 10, width + 4)))
        kernels.smooth(cur, curn, var0, var1, np.float32(H2), self._taps, self._rowmap, self._colmap,
                       rows_of(out), self._buffer("sring", (n, 11, width + 2 * PAD)))
        self.frames += 1

    def _noise(self, hist: np.ndarray) -> tuple[float, float]:
        """The noise model ``(var0, var1)``: variance per channel ``var0 + var1 * v`` at brightness ``v`` (0..255).

        Fitted (least squares, weighted by samples) to the median-based variance of each
        brightness band of this frame, and smoothed over frames when ``temporal``.
        """
        merged = hist.sum(axis=0)
        totals = merged.sum(axis=1)
        medians = (np.cumsum(merged, axis=1) < (totals[:, None] + 1) // 2).sum(axis=1) + 0.5
        variance = (medians / SIGMA_MEDIAN) ** 2
        good = totals >= MIN_SAMPLES
        if not good.any():
            good = totals > 0
        if not good.any():  # too small a frame to measure: the last estimate, or webcam-like noise
            model = self._model if self._model is not None else np.array([100.0, 0.0])
        elif good.sum() == 1:
            model = np.array([variance[good][0], 0.0])
        else:
            level = (np.arange(BANDS) + 0.5) * 256 / BANDS
            weight = np.sqrt(totals[good])
            design = np.stack([np.ones(good.sum()), level[good]], axis=1) * weight[:, None]
            model = np.linalg.lstsq(design, variance[good] * weight, rcond=None)[0]
            if model[1] < 0:  # noise does not fall with brightness: a constant
                model = np.array([np.average(variance[good], weights=totals[good]), 0.0])
            elif model[0] < 0:  # photon noise alone
                model = np.array([0.0, np.average(variance[good] / level[good], weights=totals[good])])
        if self.temporal and self._model is not None:
            model = (1 - EMA) * self._model + EMA * model
        if self.temporal:
            self._model = model
        return float(model[0]), float(model[1])

    def _global_shift(self, rows: np.ndarray, prev: np.ndarray, col: np.ndarray, row: np.ndarray) -> tuple[int, int]:
        """The shift ``(dy, dx)`` of the picture since the last frame: ``(y, x)`` now shows ``(y + dy, x + dx)`` then."""
        last, self._profiles = self._profiles, (row, col)
        if last is None or self.frames == 0:
            return 0, 0
        dy = kernels.best_shift(row, last[0], min(REACH, len(row) // 4))
        dx = kernels.best_shift(col, last[1], min(REACH, len(col) // 4))
        # The profiles give the shift to a pixel or so; the frame against the average decides
        # among its neighbours, the last shift and none (which wins ties).
        candidates = {(0, 0), self.shift} | {(dy + i, dx + j) for i in (-1, 0, 1) for j in (-1, 0, 1)}
        shifts = np.array(sorted(candidates), np.int64)  # sorted: ties go the same way every time
        costs = self._buffer("costs", (len(shifts),), np.float64)
        kernels.shift_costs(rows, prev, shifts, SHIFT_STEP, costs)
        best = int(np.argmin(costs))
        still = costs[np.flatnonzero((shifts == 0).all(axis=1))[0]]
        return (int(shifts[best, 0]), int(shifts[best, 1])) if costs[best] < 0.97 * still else (0, 0)


def rows_of(frame: np.ndarray) -> np.ndarray:
    """The ``(H, W*3)`` row view of a C-contiguous ``(H, W, 3)`` frame."""
    return frame.reshape(frame.shape[0], -1)
