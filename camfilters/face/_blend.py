"""Numba kernel of the face stage: blend two frames with a per-pixel 8-bit weight."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def _composite(fg, bg, alpha, out):
    """``out = round((fg * alpha + bg * (255 - alpha)) / 255)`` row by row, rows in parallel.

    The division by 255 is ``(v + (v >> 8)) >> 8`` with ``v`` offset by 128: exact for
    ``0 <= v <= 255 * 255 + 128``.
    """
    h, w = alpha.shape
    for y in prange(h):
        f_row, b_row, o_row, a_row = fg[y].ravel(), bg[y].ravel(), out[y].ravel(), alpha[y]
        for x in range(w):
            a = np.int32(a_row[x])
            b = 255 - a
            for c in range(3):
                j = 3 * x + c
                v = np.int32(f_row[j]) * a + np.int32(b_row[j]) * b + 128
                o_row[j] = np.uint8((v + (v >> 8)) >> 8)


def composite(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Blend C-contiguous ``(H, W, 3) uint8`` frames ``fg`` (where ``alpha`` is 255) and ``bg`` (0) into ``out``.

    ``alpha`` is ``(H, W) uint8``; ``out`` may be ``fg`` or ``bg`` (each pixel is read before
    it is written). Returns ``out``.
    """
    _composite(fg, bg, alpha, out)
    return out
