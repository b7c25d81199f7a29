"""Unsharp-mask sharpening (``sharpen``) and relief (``emboss``)."""

from __future__ import annotations

import numpy as np

from ._kernels import smooth
from .base import Filter, Option, in_range
from .blur import SIGMA_OPTION, GaussianFilter, ksize_option
from .correlation import border_index
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
        height, width, _ = src.shape
        rowmap, colmap, ky, kx, pbuf, hbuf = self._gaussian_args(height, width, 3)
        smooth.gaussian(src.reshape(height, -1), rowmap, colmap, ky, kx, 3, amount,
                        out.reshape(height, -1), pbuf, hbuf)


@register_filter("emboss")
class Emboss(Filter):
    """Relief: 3x3 correlation with ``[[-2s, -s, 0], [-s, c, s], [0, s, 2s]]`` (reflect-101).

    ``gray`` (default): the BT.601 luma with ``c = 0`` plus 128, the grey stone look: flat
    areas become mid-grey and only the relief shows (obvious at any size).
    Colour (``gray=false``): ``c = 1``, so with ``strength`` ``s = 1`` this is the classic
    emboss kernel ``[[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]``: flat areas keep their colour
    and the light comes from the top left: a bright shape is lit along its top-left
    edges and shadowed along its bottom-right ones (subtle on a smooth 720p picture). Sums are float32, rounded half to even
    and saturated, as ``cv2.filter2D(..., delta=128 if gray else 0)``.
    """

    summary = "a stone relief lit from the top left"

    options = (
        Option("strength", float, 1.0, "relief depth, the weight s of the off-centre taps (0..10)",
               in_range(0.0, 10.0)),
        Option("gray", bool, True, "grey relief around 128; false keeps the colours (subtle)"),
    )

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._maps_key: tuple[int, int] | None = None
        self._maps: tuple = ()

    def kernel(self) -> np.ndarray:
        """The ``(3, 3)`` float32 correlation kernel this filter applies."""
        s = self.strength
        centre = 0.0 if self.gray else 1.0
        return np.array([[-2 * s, -s, 0], [-s, centre, s], [0, s, 2 * s]], np.float32)

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        if self._maps_key != (height, width):
            self._maps = (border_index(height, 1, 1, "reflect101"), border_index(width, 1, 1, "reflect101"))
            self._maps_key = (height, width)
        rowmap, colmap = self._maps
        rows = src.reshape(height, -1)
        channels = 3
        if self.gray:
            channels = 1
            rows = self._buffer("grey", (height, width), np.uint8)
            smooth.luma(src.reshape(height, -1), rows)
        padded = self._buffer("padded", (height, (width + 2) * channels), np.uint8)
        smooth.pad_columns(rows, colmap, channels, padded)
        centre, delta = (0.0, 128.0) if self.gray else (1.0, 0.0)
        smooth.emboss(padded, rowmap, np.float32(centre), np.float32(self.strength), np.float32(delta),
                      channels, out.reshape(height, -1))
