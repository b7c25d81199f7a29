"""Relief (``emboss``): a 3x3 correlation lit from the top left, in colour or grey."""

from __future__ import annotations

import numpy as np

from ._kernels import emboss
from ._kernels.luma import luma
from .base import Filter, Option, in_range
from .correlation import border_index
from .kernels import emboss_kernel
from .registry import register_filter


@register_filter("emboss")
class Emboss(Filter):
    """Relief: 3x3 correlation with ``[[-2s, -s, 0], [-s, c, s], [0, s, 2s]]`` (reflect-101).

    ``gray`` (default): the BT.601 luma with ``c = 0`` plus 128, the grey stone look: flat
    areas become mid-grey and only the relief shows (obvious at any size).
    Colour (``gray=false``): ``c = 1``, so with ``strength`` ``s = 1`` this is the classic
    emboss kernel ``[[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]``: flat areas keep their colour
    and the light comes from the top left: a bright shape is lit along its top-left
    edges and shadowed along its bottom-right ones (subtle on a smooth 720p picture).
    Sums are float32, rounded half to even and saturated, as
    ``cv2.filter2D(..., delta=128 if gray else 0)``.
    """

    summary = "a stone relief lit from the top left"

    options = (
        Option("strength", float, 1.0, "relief depth, the weight s of the off-centre taps (0..10)",
               in_range(0.0, 10.0)),
        Option("gray", bool, True, "grey relief around 128; false keeps the colours (subtle)"),
    )

    def kernel(self) -> np.ndarray:
        """The ``(3, 3)`` float32 correlation kernel this filter applies."""
        return emboss_kernel(self.strength, 0.0 if self.gray else 1.0)

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        rowmap = border_index(height, 1, 1, "reflect101")
        colmap = border_index(width, 1, 1, "reflect101")
        rows = src.reshape(height, -1)
        channels = 3
        if self.gray:
            channels = 1
            rows = self._buffer("grey", (height, width), np.uint8)
            luma(src.reshape(height, -1), rows)
        centre, delta = (0.0, 128.0) if self.gray else (1.0, 0.0)
        emboss.emboss(rows, rowmap, colmap, np.float32(centre), np.float32(self.strength), np.float32(delta),
                      channels, out.reshape(height, -1))
