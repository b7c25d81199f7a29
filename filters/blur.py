"""Gaussian (``blur``) and mean (``box``) filters, and the fixed-point Gaussian that
``sharpen`` and ``sketch`` build on.

Both match OpenCV on uint8 frames with ``BORDER_REFLECT_101``: ``blur`` is bit-exact with
``cv2.GaussianBlur`` (the same 8-bit fixed-point taps and rounding); ``box`` is the exact
rounded mean, equal to ``cv2.blur`` up to ksize 101 and within 1 level beyond (where
OpenCV's own rounding drifts).
"""

from __future__ import annotations

import numba
import numpy as np

from ._kernels import box, gaussian
from .base import Filter, Option, in_range, odd_at_least
from .correlation import border_index
from .kernels import gaussian_taps
from .registry import register_filter

MAX_KSIZE = 255  # largest kernel side; box sums of up to 255**2 * 255 still fit int32


def _ksize_check(value: int) -> str | None:
    if value > MAX_KSIZE:
        return f"must be at most {MAX_KSIZE}"
    return odd_at_least(3)(value)


def ksize_option(default: int, text: str) -> Option:
    """The odd kernel-size option (3 .. 255) of the smoothing filters, described by ``text``."""
    return Option("ksize", int, default, text, _ksize_check)


SIGMA_OPTION = Option(
    "sigma", float, 0.0,
    "blur width in pixels (the Gaussian's standard deviation); 0 picks it from ksize",
    in_range(0.0, 100.0),
)


def chunks(height: int) -> int:
    """How many row chunks a frame of ``height`` rows is split into for the parallel kernels."""
    return max(1, min(height, 4 * numba.get_num_threads()))


_SIXTEEN_BIT = {3: (1, 2, 1), 5: (1, 4, 6, 4, 1)}  # OpenCV's default taps / 64 and / 16


def sixteen_bit_taps(taps: np.ndarray) -> np.ndarray | None:
    """The taps ``gaussian16`` takes (uint16) when ``taps`` is OpenCV's default 3 or 5 tap kernel, else None."""
    small = _SIXTEEN_BIT.get(len(taps))
    if small is None or (taps * sum(small) != np.array(small) * 256).any():
        return None
    return np.array(small, np.uint16)


class GaussianFilter(Filter):
    """Base of the filters built on the fixed-point Gaussian (options ``ksize`` and ``sigma``)."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        # Zero outer taps (ksize 21's default sigma rounds its two ends to 0) are dropped:
        # they add nothing, and each costs a pass over the row in both directions.
        taps = np.trim_zeros(gaussian_taps(self.ksize, self.sigma))
        self._ky, self._kx = taps.astype(np.uint16), taps.astype(np.float32)
        self._sixteen = sixteen_bit_taps(taps)

    def _gaussian(self, src: np.ndarray, channels: int, amount: float, out: np.ndarray) -> None:
        """Blur ``src`` ``(H, W*channels)`` uint8 into ``out`` (or its unsharp mask by ``amount > 0``):
        ``gaussian16`` for OpenCV's default 3 and 5 taps, ``gaussian`` for the others."""
        # cv2.GaussianBlur drops the kernel along a 1-pixel axis; reflect-101 gives the
        # same result there (all taps read that one pixel and sum to 256).
        height, width = src.shape[0], src.shape[1] // channels
        taps = len(self._kx)
        radius = taps // 2
        n = chunks(height)
        rowmap = border_index(height, radius, radius, "reflect101")
        colmap = border_index(width, radius, radius, "reflect101")
        padded = (width + taps - 1) * channels
        if self._sixteen is not None:
            gaussian.gaussian16(src, rowmap, colmap, self._sixteen, self._sixteen, channels, np.float32(amount),
                                out, self._buffer("gauss16_p", (n, padded), np.uint16), self._chunk_counter())
            return
        ring = self._buffer("gauss_ring", (n, taps + 1, width * channels), np.uint16)
        gaussian.gaussian(src, rowmap, colmap, self._ky, self._kx, channels, np.float32(amount), out, ring,
                          self._buffer("gauss_p", (n, padded)), self._buffer("gauss_h", (n, width * channels)),
                          self._chunk_counter())


@register_filter("blur")
class Blur(GaussianFilter):
    """Gaussian blur, bit-exact with ``cv2.GaussianBlur(src, (k, k), sigma,
    borderType=cv2.BORDER_REFLECT_101)`` on uint8 frames (separable correlation).

    The default 3x3 and 5x5 kernels run in 16-bit integers alone (``gaussian16``), the
    others through float32 sums of exact integers (``gaussian``).
    """

    summary = "soft focus: smooths the picture (Gaussian blur)"

    options = (
        ksize_option(21, "kernel width and height in pixels (odd, 3..255); the default is clearly soft at 720p"),
        SIGMA_OPTION,
    )

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height = src.shape[0]
        self._gaussian(src.reshape(height, -1), 3, 0.0, out.reshape(height, -1))


@register_filter("box")
class Box(Filter):
    """Mean over a ``ksize x ksize`` window (reflect-101) from integer column sums: tap by tap
    up to ksize 15, from sums of 2, 4 and 8 taps up to 31, running sums above (cost
    independent of ``ksize``); exact rounding, so within 1 level of ``cv2.blur(...,
    borderType=cv2.BORDER_REFLECT_101)`` (equal below the largest kernels)."""

    summary = "a flat blur: each pixel becomes the average of a square around it"

    options = (ksize_option(9, "window width and height in pixels (odd, 3..255)"),)

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        radius = self.ksize // 2
        rowmap = border_index(height, radius, radius, "reflect101")
        colmap = border_index(width, radius, radius, "reflect101")
        n = chunks(height)
        ladder = box.BOX_TAPS_MAX < self.ksize <= box.BOX_LADDER_MAX
        dtype = np.uint16 if self.ksize <= box.BOX_LADDER_MAX else np.int32
        hbuf = self._buffer("box_h", (n, 3 if ladder else 1, (width + self.ksize) * 3), dtype)
        pbuf = self._buffer("box_p", (n, (width + self.ksize) * 3), np.uint16)
        box.box(src.reshape(height, -1), rowmap, colmap, self.ksize, out.reshape(height, -1), hbuf, pbuf,
                self._chunk_counter())
