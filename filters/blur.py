"""Gaussian (``blur``) and mean (``box``) filters, and the fixed-point Gaussian that
``sharpen`` and ``sketch`` build on.

Both match OpenCV on uint8 frames with ``BORDER_REFLECT_101``: ``blur`` is bit-exact with
``cv2.GaussianBlur`` (the same 8-bit fixed-point taps and rounding); ``box`` is the exact
rounded mean, equal to ``cv2.blur`` up to ksize 101 and within 1 level beyond (where
OpenCV's own rounding drifts).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._kernels import smooth
from .base import Filter, Option, in_range, odd_at_least
from .correlation import border_index
from .registry import register_filter

MAX_KSIZE = 255  # largest kernel side; box sums of up to 255**2 * 255 still fit int32

# OpenCV's fixed kernels for sigma <= 0 and the small sizes, in 1/256 units.
_SMALL_TAPS = {
    3: (64, 128, 64),
    5: (16, 64, 96, 64, 16),
    7: (8, 28, 56, 72, 56, 28, 8),
    9: (4, 13, 30, 51, 60, 51, 30, 13, 4),
}


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


def gaussian_taps(ksize: int, sigma: float) -> np.ndarray:
    """OpenCV's 8-bit Gaussian taps: ``(ksize,)`` int64, symmetric, summing to 256.

    The float kernel ``exp(-x**2 / (2 sigma**2))`` (normalised) is scaled by 256 and
    rounded with error diffusion from the tails inwards; the centre takes the rest, as
    in OpenCV's ``getGaussianKernelFixedPoint_ED``. ``sigma <= 0`` means
    ``0.3*((ksize-1)*0.5-1)+0.8``, with OpenCV's fixed kernels for ksize 3..9.
    """
    if sigma <= 0 and ksize in _SMALL_TAPS:
        return np.array(_SMALL_TAPS[ksize], np.int64)
    if sigma <= 0:
        sigma = ksize * 0.15 + 0.35
    half = (ksize - 1) // 2
    tails = [math.exp(-0.5 * (x / sigma) * (x / sigma)) for x in range(-half, 0)]  # no sigma**2 underflow
    norm = 1.0 / (2.0 * sum(tails) + 1.0)
    taps = np.empty(ksize, np.int64)
    error = 0.0
    for i, value in enumerate(tails):
        scaled = value * norm * 256.0 + error
        taps[i] = taps[ksize - 1 - i] = round(scaled)  # half to even, as cvRound
        error = scaled - taps[i]
    taps[half] = 256 - 2 * int(taps[:half].sum())
    return taps


def chunks(height: int) -> int:
    """How many row chunks a frame of ``height`` rows is split into for the parallel kernels."""
    return max(1, min(height, 4 * numba.get_num_threads()))


class GaussianFilter(Filter):
    """Base of the filters built on the fixed-point Gaussian: taps, border maps, scratch rows."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._plan_key: tuple[int, int] | None = None
        self._plan: tuple = ()

    def _gaussian_args(self, height: int, width: int, channels: int) -> tuple:
        """``(rowmap, colmap, ky, kx, pbuf, hbuf)`` for the ``gaussian`` family of kernels."""
        key = (height, width)
        if self._plan_key != key:
            taps = gaussian_taps(self.ksize, self.sigma)
            # cv2.GaussianBlur drops the kernel along a 1-pixel axis; reflect-101 gives
            # the same result there (all taps read that one pixel and sum to 256).
            radius = self.ksize // 2
            self._plan = (border_index(height, radius, radius, "reflect101"), border_index(width, radius, radius, "reflect101"),
                          taps.astype(np.int32), taps.astype(np.float32))
            self._plan_key = key
        n = chunks(height)
        pbuf = self._buffer("gauss_p", (n, (width + self.ksize - 1) * channels))
        hbuf = self._buffer("gauss_h", (n, width * channels))
        return (*self._plan, pbuf, hbuf)


@register_filter("blur")
class Blur(GaussianFilter):
    """Gaussian blur, bit-exact with ``cv2.GaussianBlur(src, (k, k), sigma,
    borderType=cv2.BORDER_REFLECT_101)`` on uint8 frames (separable correlation)."""

    summary = "soft focus: smooths the picture (Gaussian blur)"

    options = (
        ksize_option(21, "kernel width and height in pixels (odd, 3..255); the default is clearly soft at 720p"),
        SIGMA_OPTION,
    )

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        rowmap, colmap, ky, kx, pbuf, hbuf = self._gaussian_args(height, width, 3)
        smooth.gaussian(src.reshape(height, -1), rowmap, colmap, ky, kx, 3, np.float32(0.0),
                        out.reshape(height, -1), pbuf, hbuf)


@register_filter("box")
class Box(Filter):
    """Mean over a ``ksize x ksize`` window (reflect-101) from integer column sums: tap by tap
    up to ksize 15, running sums above (cost independent of ``ksize``); exact rounding, so
    within 1 level of ``cv2.blur(..., borderType=cv2.BORDER_REFLECT_101)`` (equal below
    the largest kernels)."""

    summary = "a flat blur: each pixel becomes the average of a square around it"

    options = (ksize_option(9, "window width and height in pixels (odd, 3..255)"),)

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._maps_key: tuple[int, int] | None = None
        self._maps: tuple = ()

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        key = (height, width)
        if self._maps_key != key:
            radius = self.ksize // 2
            self._maps = (border_index(height, radius, radius, "reflect101"), border_index(width, radius, radius, "reflect101"))
            self._maps_key = key
        n = chunks(height)
        dtype = np.uint16 if self.ksize <= smooth.BOX_TAPS_MAX else np.int32
        hbuf = self._buffer("box_h", (n, width * 3), dtype)
        pbuf = self._buffer("box_p", (n, (width + self.ksize) * 3), dtype)
        # Chunks go to whichever thread is free (not split up front), so one busy core
        # does not hold the frame back.
        default_chunksize = numba.set_parallel_chunksize(1)
        try:
            smooth.box(src.reshape(height, -1), *self._maps, self.ksize, out.reshape(height, -1), hbuf, pbuf)
        finally:
            numba.set_parallel_chunksize(default_chunksize)
