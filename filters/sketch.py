"""Pencil sketch (``sketch``): colour dodge of the grey frame with its blurred negative."""

from __future__ import annotations

import numpy as np

from ._kernels.gaussian import colour_dodge
from ._kernels.luma import inverted_luma
from .blur import SIGMA_OPTION, GaussianFilter, ksize_option
from .registry import register_filter


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
        grey = self._buffer("grey", (height, width), np.uint8)
        inverted = self._buffer("inverted", (height, width), np.uint8)
        inverted_luma(src.reshape(height, -1), grey, inverted)
        blurred = self._buffer("blurred", (height, width), np.uint8)
        self._gaussian(inverted, 1, 0.0, blurred)
        colour_dodge(grey, blurred, out.reshape(height, -1))
