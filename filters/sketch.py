"""Pencil sketch (``sketch``): colour dodge of the grey frame with its blurred negative."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._kernels.luma import inverted_luma
from ._kernels.sketch import colour_dodge, sketch16
from .blur import SIGMA_OPTION, GaussianFilter, chunks, ksize_option
from .correlation import border_index
from .registry import register_filter


@lru_cache(maxsize=16)
def _ring_index(rows: int, k: int) -> np.ndarray:
    """``j % k`` for ``j`` in ``0 .. rows - 1``: the ring slot of each padded row (``sketch16``)."""
    index = np.arange(rows, dtype=np.int64) % k
    index.setflags(write=False)
    return index


@register_filter("sketch")
class Sketch(GaussianFilter):
    """Pencil sketch, the classic OpenCV recipe, as a grey ``(H, W, 3)`` frame.

    ``grey`` = BT.601 luma, ``blurred`` = Gaussian of ``255 - grey``, result =
    ``grey * 256 / (255 - blurred)`` rounded and saturated (0 where the divisor is 0):
    ``cv2.divide(grey, 255 - cv2.GaussianBlur(255 - grey, (k, k), sigma), scale=256)``
    with ``BORDER_REFLECT_101``. Larger ``ksize`` gives broader, softer strokes.
    """

    summary = "a pencil drawing on white paper"

    options = (
        ksize_option(21, "size of the Gaussian in pixels: stroke width (odd, 3..255)"),
        SIGMA_OPTION,
    )

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        rows, out_rows = src.reshape(height, -1), out.reshape(height, -1)
        if self._sixteen is not None:  # OpenCV's default 3 or 5 taps: all in one kernel
            k = len(self._sixteen)
            n = chunks(height)
            sketch16(rows, border_index(height, k // 2, k // 2, "reflect101"),
                     border_index(width, k // 2, k // 2, "reflect101"), _ring_index(height + k - 1, k),
                     self._sixteen, out_rows, self._buffer("sketch_ring", (n, k, width), np.uint8),
                     self._buffer("sketch_p", (n, width + k - 1), np.uint16),
                     self._buffer("sketch_blurred", (n, width), np.uint8), self._chunk_counter())
            return
        inverted = self._buffer("inverted", (height, width), np.uint8)
        inverted_luma(rows, inverted)
        blurred = self._buffer("blurred", (height, width), np.uint8)
        self._gaussian(inverted, 1, 0.0, blurred)
        colour_dodge(inverted, blurred, out_rows)
