"""Video noise removal (``denoise``): a per-pixel recursive average over time where the
picture is still, edge-aware smoothing where it moves.

The noise level is measured on every frame (Immerkaer's operator, a robust median, per
brightness band, so noise that grows with brightness is followed); ``strength`` scales it.
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
TOP = 2048  # histogram bins of |noise operator|; larger values land in the last one
MIN_SAMPLES = 400  # a band with fewer samples takes its neighbours' level
T_LO, T_HI = 2.0, 5.0  # motion test: keep the history fully below T_LO, drop it above T_HI
NMAX = 32.0  # the longest average, in frames (lighting may drift)
H2 = 2.0  # range of the smoothing's weights, in noise variances
REACH = 8  # the largest global shift looked for, in pixels per frame
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
    global shift, found from luma profiles); when the new pixel differs from it by more
    than the noise explains (a 3x3 colour test), the history is dropped, so moving
    edges leave no trail. The result is then smoothed by a 5x5 weighted mean whose
    weights fall with the difference of 3x3 luma means, scaled by the noise left in the
    average: pixels averaged over many frames stay sharp, new ones are smoothed. Colours
    are processed in an orthonormal opponent space. The state resets when the frame size
    changes. With ``temporal=false`` each frame is smoothed alone (a pure function of it).
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
        self._variance: np.ndarray | None = None  # per band, smoothed over frames
        self._profiles: tuple[np.ndarray, np.ndarray] | None = None
        self._flip = 0
        self.frames = 0
        self.shift = (0, 0)

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        if (height, width) != self._shape:
            self._reset((height, width))
        rows = src.reshape(height, -1)
        n = chunks(height)
        hist = self._buffer("hist", (n, BANDS, TOP), np.int32)
        colsum = self._buffer("colsum", (n, width))
        rowsum = self._buffer("rowsum", (height,))
        kernels.analyse(rows, 4, hist, colsum, rowsum)
        varlut = self._buffer("varlut", (256,))
        varlut[:] = np.interp(np.arange(256), (np.arange(BANDS) + 0.5) * 256 / BANDS, self._noise(hist))
        varlut *= self.strength**2

        shape = (3, height + 2 * PAD, width + 2 * PAD)
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
        kernels.temporal(rows, prev, prevn, dy, dx, varlut, np.float32(T_LO), np.float32(T_HI), np.float32(NMAX),
                         cur, curn, self._buffer("diff", (height, width)), self._buffer("vbuf", (n, width + 2)))
        rowmap = border_index(height, PAD, PAD, "reflect101")
        colmap = border_index(width, PAD, PAD, "reflect101")
        kernels.fill_border(cur, PAD, rowmap, colmap)
        guide = self._buffer("guide", shape[1:])
        kernels.guide(cur, PAD, guide)
        kernels.fill_border(guide[None], PAD, rowmap, colmap)
        kernels.smooth(cur, curn, guide, varlut, np.float32(H2), self._taps, rows_of(out),
                       self._buffer("ih", (height, width)),
                       self._buffer("acc", (n, 4, width)))
        self.frames += 1

    def _noise(self, hist: np.ndarray) -> np.ndarray:
        """Noise variance per channel in each brightness band, from this frame's histograms (smoothed over frames)."""
        merged = hist.sum(axis=0)
        totals = merged.sum(axis=1)
        medians = (np.cumsum(merged, axis=1) < (totals[:, None] + 1) // 2).sum(axis=1) + 0.5
        sigma = medians / SIGMA_MEDIAN
        good = totals >= MIN_SAMPLES
        if not good.any():
            good = totals > 0
        if good.any():
            centres = np.arange(BANDS)
            variance = np.interp(centres, centres[good], sigma[good] ** 2)
        else:  # too small a frame to measure: the last estimate, or webcam-like noise
            variance = self._variance if self._variance is not None else np.full(BANDS, 100.0)
        if self.temporal and self._variance is not None:
            variance = (1 - EMA) * self._variance + EMA * variance
        if self.temporal:
            self._variance = variance
        return variance

    def _global_shift(self, rows: np.ndarray, prev: np.ndarray, col: np.ndarray, row: np.ndarray) -> tuple[int, int]:
        """The shift ``(dy, dx)`` of the picture since the last frame: ``(y, x)`` now shows ``(y + dy, x + dx)`` then."""
        last, self._profiles = self._profiles, (row, col)
        if last is None or self.frames == 0:
            return 0, 0
        dy = kernels.best_shift(row, last[0], min(REACH, len(row) // 4))
        dx = kernels.best_shift(col, last[1], min(REACH, len(col) // 4))
        if (dy, dx) == (0, 0):
            return 0, 0
        still = kernels.shift_cost(rows, prev, 0, 0, 4)
        moved = kernels.shift_cost(rows, prev, dy, dx, 4)
        return (dy, dx) if moved < 0.9 * still else (0, 0)


def rows_of(frame: np.ndarray) -> np.ndarray:
    """The ``(H, W*3)`` row view of a C-contiguous ``(H, W, 3)`` frame."""
    return frame.reshape(frame.shape[0], -1)
