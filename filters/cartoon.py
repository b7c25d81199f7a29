"""Cartoon look: flat colour regions, quantised shading and bold dark outlines.

All steps but the last run on a copy shrunk by ``f = ceil(max(H, W) / 640)`` (area averaging),
so the cost and the look hardly depend on the frame size: ``smooth`` iterations of the
domain-transform recursive filter (`filters._kernels.cartoon`) flatten skin, cloth and background
but keep object borders; the outlines are the Sobel magnitude of the smoothed luma, thinned to
its ridge where lines crowd (the Sobel band, 2 pixels on each side of a step, closed eyes and
mouths into dark blobs) and widened by ``thickness`` 3x3 maximum filters. At full resolution:
bilinear upsampling, luma snapped to ``levels`` levels with the three channels shifted equally
(per-channel levels turned smooth grey backgrounds into pink and yellow blotches on the test
photos), and black where the outline value goes from ``edges`` to ``2*edges``.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ._kernels.cartoon import (
    area_downsample,
    compose,
    dilate,
    domain_differences,
    luma_edges,
    recursive_horizontal,
    recursive_vertical,
    thin_in_detail,
    widen,
)
from .base import Filter, Option, in_range
from .correlation import border_index
from .registry import register_filter

_LOW_SIDE = 640  # longer side of the working copy, pixels
_SIGMA_SPACE = 0.04  # spatial sigma of the smoothing, fraction of the longer side
_SIGMA_RANGE = 50.0  # range sigma, grey levels (summed absolute BGR difference)
_DETAIL_RADIUS = 3  # window of the line-crowding measure, working-resolution pixels
_DETAIL_LOW, _DETAIL_HIGH = 0.16, 0.36  # ridge-pixel share of that window: bold lines below, thin above


def _sample_map(n: int, factor: int, low: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear sources of each full-res index (pixel centres aligned, clamped at the ends).

    Returns ``(n,)`` int64 ``i0``, ``i1`` and float32 weight of ``i1``, plus ``(low+1,)``
    int64 ``starts``: the first index whose ``i0`` is ``>= i`` (``widen``'s intervals).
    """
    u = np.clip((np.arange(n) + 0.5) / factor - 0.5, 0, low - 1)
    i0 = np.floor(u)
    i1 = np.minimum(i0 + 1, low - 1)
    starts = np.searchsorted(i0, np.arange(low + 1), side="left").astype(np.int64)
    return starts, i0.astype(np.int64), i1.astype(np.int64), (u - i0).astype(np.float32)


def _feedback_luts(iterations: int, sigma_space: float) -> np.ndarray:
    """``(iterations, 766)`` float32 recursive-filter weights for summed differences 0..765."""
    d = np.arange(766, dtype=np.float64)
    luts = np.empty((iterations, 766), np.float32)
    for i in range(iterations):
        sigma_i = sigma_space * math.sqrt(3) * 2 ** (iterations - i - 1) / math.sqrt(4 ** iterations - 1)
        a = math.exp(-math.sqrt(2) / sigma_i)
        luts[i] = a ** (1 + sigma_space / _SIGMA_RANGE * d)
    return luts


@register_filter("cartoon")
class Cartoon(Filter):
    """Cartoon rendering of an ``(H, W, 3) uint8 BGR`` frame.

    Options: ``levels`` luma levels (2..32); ``smooth`` smoothing iterations (0..6);
    ``edges`` outline threshold in grey levels per pixel of smoothed luma gradient
    (None: no outlines; lower draws more lines); ``thickness`` extra outline width (0..4
    low-resolution pixels).
    """

    summary = "a cartoon: flat colour areas with dark outlines"

    options = (
        Option("levels", int, 8, "luma levels, 2..32", check=in_range(2, 32)),
        Option("smooth", int, 2, "edge-preserving smoothing iterations, 0..6", check=in_range(0, 6)),
        Option("edges", float, 12.0, "outline threshold, grey levels per pixel (none: no outlines)",
               check=lambda v: None if 0 < v <= 255 else "must be > 0 and <= 255", optional=True),
        Option("thickness", int, 0, "extra outline width in working-resolution pixels, 0..4",
               check=in_range(0, 4)),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._geometry: tuple[Any, ...] = ()

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width = src.shape[:2]
        factor, luts, rowmap, colmap, ys, xs = self._setup(height, width)
        lh, lw = -(-height // factor), -(-width // factor)
        low = self._buffer("low", (lh, lw * 3))
        nchunks = min(lh, 4 * numba.get_num_threads())
        area_downsample(src.reshape(height, width * 3), factor, low,
                        self._buffer("acc", (nchunks, width * 3)))
        if self.smooth:
            dh = self._buffer("dh", (lh, lw), np.uint16)
            dv = self._buffer("dv", (lh, lw), np.uint16)
            domain_differences(low, dh, dv)
            bands = min(lw, 4 * numba.get_num_threads())
            for lut in luts:
                recursive_horizontal(low, dh, lut)
                recursive_vertical(low, dv, lut, bands)
        edges = self._buffer("edges", (lh, lw))
        if self.edges is not None:
            luma_edges(low, rowmap, colmap, self._buffer("luma", (lh, lw)), edges)
            spare = self._buffer("spare", (lh, lw))
            thin_in_detail(edges, np.float32(self.edges), _DETAIL_RADIUS, _DETAIL_LOW, _DETAIL_HIGH,
                           self._buffer("luma", (lh, lw)), self._buffer("hits", (lh, lw)), spare)
            edges, spare = spare, edges
            for _ in range(self.thickness):
                dilate(edges, rowmap, colmap, self._buffer("luma", (lh, lw)), spare)
                edges, spare = spare, edges
        else:
            edges.fill(0)
        x_starts, _, _, x_weights = xs
        _, y0, y1, y_weights = ys
        wide = self._buffer("wide", (lh, 4, width))
        widen(low, edges, x_starts, x_weights, wide)
        compose(wide, y0, y1, y_weights, self.levels, 0.0 if self.edges is None else float(self.edges),
                out.reshape(height, width * 3))

    def _setup(self, height: int, width: int) -> tuple[Any, ...]:
        """Factor, filter weights and index maps for this frame size (kept while it stays)."""
        if not self._geometry or self._geometry[0] != (height, width):
            factor = max(1, math.ceil(max(height, width) / _LOW_SIDE))
            lh, lw = -(-height // factor), -(-width // factor)
            sigma = _SIGMA_SPACE * max(height, width) / factor
            self._geometry = ((height, width), factor, _feedback_luts(self.smooth, sigma),
                              border_index(lh, 1, 1, "reflect101"), border_index(lw, 1, 1, "reflect101"),
                              _sample_map(height, factor, lh), _sample_map(width, factor, lw))
        return self._geometry[1:]
