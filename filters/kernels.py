"""The filters' weights: OpenCV's fixed-point Gaussian taps, derivative apertures, the emboss kernel."""

from __future__ import annotations

import math

import numpy as np

# OpenCV's fixed Gaussian kernels for sigma <= 0 and the small sizes, in 1/256 units.
_SMALL_TAPS = {
    3: (64, 128, 64),
    5: (16, 64, 96, 64, 16),
    7: (8, 28, 56, 72, 56, 28, 8),
    9: (4, 13, 30, 51, 60, 51, 30, 13, 4),
}

# Sobel smoothing and derivative taps by aperture, as cv2.getDerivKernels (ksize 1: 3 taps, no smoothing).
_SMOOTH = {1: (0, 1, 0), 3: (1, 2, 1), 5: (1, 4, 6, 4, 1), 7: (1, 6, 15, 20, 15, 6, 1)}
_DERIV = {1: (-1, 0, 1), 3: (-1, 0, 1), 5: (-1, -2, 0, 2, 1), 7: (-1, -4, -5, 0, 5, 4, 1)}
_DERIV2 = {1: (1, -2, 1), 3: (1, -2, 1), 5: (1, 0, -2, 0, 1)}

#: Aperture sizes each gradient method accepts.
DERIVATIVE_KSIZES = {"sobel": (1, 3, 5, 7), "scharr": (3,), "laplacian": (1, 3, 5)}


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


def derivative_taps(method: str, ksize: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(kv1, kh1, kv2, kh2)`` float32 1-D taps of a gradient: ``a = kh1 (x) kv1``, ``b = kh2 (x) kv2``.

    ``a`` is the horizontal derivative, ``b`` the vertical one; ``method`` is sobel,
    scharr or laplacian (second derivatives, whose sum ``a + b`` is ``cv2.Laplacian``),
    ``ksize`` one of ``DERIVATIVE_KSIZES[method]``.
    """
    if method == "scharr":
        smooth, deriv = (3, 10, 3), (-1, 0, 1)
    elif method == "laplacian":
        smooth, deriv = _SMOOTH[ksize], _DERIV2[ksize]
    else:
        smooth, deriv = _SMOOTH[ksize], _DERIV[ksize]
    if method == "laplacian" and ksize == 1:
        smooth = (0, 1, 0)  # cv2.Laplacian ksize=1 is the 4-neighbour kernel
    s = np.array(smooth, np.float32)
    d = np.array(deriv, np.float32)
    return s, d, d, s


def emboss_kernel(strength: float, centre: float) -> np.ndarray:
    """The ``(3, 3)`` float32 relief kernel ``[[-2s, -s, 0], [-s, centre, s], [0, s, 2s]]``."""
    s = strength
    return np.array([[-2 * s, -s, 0], [-s, centre, s], [0, s, 2 * s]], np.float32)
