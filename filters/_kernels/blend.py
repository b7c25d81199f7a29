"""Numba kernel of ``filters.composite``: blend two frames with a per-pixel 8-bit weight."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def composite(fg, bg, alpha, out):
    """``out = round((fg * alpha + bg * (255 - alpha)) / 255)``, rows in parallel.

    ``fg``, ``bg``, ``out`` ``(H, W*3)`` uint8 (``out`` may be ``fg`` or ``bg``: each
    element is read before it is written); ``alpha`` ``(H, W)`` uint8. The division by
    255 is ``(v + (v >> 8)) >> 8`` with ``v`` offset by 128: exact for
    ``0 <= v <= 255 * 255 + 128``.
    """
    h, w = alpha.shape
    for y in prange(h):
        f_row, b_row, o_row, a_row = fg[y], bg[y], out[y], alpha[y]
        for x in range(w):
            a = np.int32(a_row[x])
            b = 255 - a
            for c in range(3):
                j = 3 * x + c
                v = np.int32(f_row[j]) * a + np.int32(b_row[j]) * b + 128
                o_row[j] = np.uint8((v + (v >> 8)) >> 8)
