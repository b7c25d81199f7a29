"""BT.601 luma of BGR uint8 pixels, bit-exact with ``cv2.cvtColor(src, cv2.COLOR_BGR2GRAY)``.

OpenCV 4's 15-bit fixed point: ``(3735 B + 19235 G + 9798 R + 2**14) >> 15``. The one
definition every kernel that needs grey uses.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

LUMA_B, LUMA_G, LUMA_R = 3735, 19235, 9798  # sum 2**15
_ROUND = 1 << 14


@njit(cache=True, nogil=True)
def luma_at(row, x):
    """Luma (int32, 0..255) of pixel ``x`` of a BGR row ``(W*3,)`` uint8."""
    return (np.int32(row[3 * x]) * LUMA_B + np.int32(row[3 * x + 1]) * LUMA_G
            + np.int32(row[3 * x + 2]) * LUMA_R + _ROUND) >> 15


@njit(cache=True, nogil=True, parallel=True)
def luma(src, grey):
    """Luma of ``src`` ``(H, W*3)`` BGR into ``grey`` ``(H, W)`` uint8."""
    for i in prange(grey.shape[0]):
        s = src[i]
        g = grey[i]
        for x in range(grey.shape[1]):
            g[x] = np.uint8(luma_at(s, x))


@njit(cache=True, nogil=True)
def inverted_luma_row(row, inverted):
    """``255 - luma`` of a BGR row ``(W*3,)`` into ``inverted`` ``(W,)`` uint8."""
    for x in range(inverted.shape[0]):
        inverted[x] = np.uint8(255 - luma_at(row, x))


@njit(cache=True, nogil=True, parallel=True)
def inverted_luma(src, inverted):
    """``255 - luma`` of ``src`` ``(H, W*3)`` BGR into ``inverted`` ``(H, W)`` uint8."""
    for i in prange(inverted.shape[0]):
        inverted_luma_row(src[i], inverted[i])
