"""Unsharp-mask sharpening (``sharpen``)."""

from __future__ import annotations

import numpy as np

from .base import Option, in_range
from .blur import SIGMA_OPTION, GaussianFilter, ksize_option
from .registry import register_filter


@register_filter("sharpen")
class Sharpen(GaussianFilter):
    """Unsharp mask ``src + amount * (src - gaussian(src))``, saturated to uint8.

    The Gaussian is ``blur``'s (bit-exact with ``cv2.GaussianBlur``), rounded to uint8
    before the weighted sum, so the result is ``cv2.addWeighted(src, 1 + amount,
    blurred, -amount, 0)`` of OpenCV's own blur.
    """

    summary = "crisper details and edges"

    options = (
        Option("amount", float, 1.0, "strength: 0 leaves the frame as it is (0..5)", in_range(0.0, 5.0)),
        ksize_option(5, "size of the Gaussian in pixels (odd, 3..255)"),
        SIGMA_OPTION,
    )

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        amount = np.float32(self.amount)
        if amount == 0:  # the kernel would return the blur itself
            out[...] = src
            return
        height = src.shape[0]
        self._gaussian(src.reshape(height, -1), 3, amount, out.reshape(height, -1))
