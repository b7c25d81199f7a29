"""Numba kernel of the relief filter (``emboss``): one fused 3x3 pass per output row."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .rows import saturate


@njit(cache=True, nogil=True)
def _relief(centre, strength, delta, above_left, up, left, mid, right, down, below_right):
    """``delta + centre * mid + strength * relief`` of one element, rounded and saturated."""
    relief = np.float32(np.int32(np.int32(right) - np.int32(left) + np.int32(down) - np.int32(up)
                                 + 2 * (np.int32(below_right) - np.int32(above_left))))
    return saturate(delta + centre * np.float32(mid) + strength * relief)


@njit(cache=True, nogil=True)
def _edge_column(above, middle, below, colmap, j, c, centre, strength, delta, o, spread):
    """Output column ``j`` (all ``c`` channels) read through ``colmap``; ``spread``: one grey value to 3 channels."""
    left, here, right = colmap[j] * c, colmap[j + 1] * c, colmap[j + 2] * c
    for ch in range(c):
        value = _relief(centre, strength, delta, above[left + ch], above[here + ch], middle[left + ch],
                        middle[here + ch], middle[right + ch], below[here + ch], below[right + ch])
        if spread:
            o[3 * j] = value
            o[3 * j + 1] = value
            o[3 * j + 2] = value
        else:
            o[j * c + ch] = value


@njit(cache=True, nogil=True, parallel=True)
def emboss(src, rowmap, colmap, centre, strength, delta, channels, out):
    """Correlation (no flip) with ``[[-2s, -s, 0], [-s, centre, s], [0, s, 2s]]``, plus ``delta``.

    ``src`` ``(H, W*C)`` uint8 with ``C`` = 3 (colour) or 1 (grey, written to all three
    channels of ``out``); ``rowmap`` ``(H + 2,)`` and ``colmap`` ``(W + 2,)`` reflect-101
    maps; ``centre``, ``strength`` (``s``) and ``delta`` float32; ``out`` ``(H, W*3)``.
    Computed as ``centre * p + s * ((right - left) + (below - above) + 2 * (below_right -
    above_left))``, rounded half to even and saturated (``cv2.filter2D`` within 1 level, 0
    for integer weights). Columns 1 .. W-2 read the source rows directly in one
    vectorised pass; the two border columns go through ``colmap``.
    """
    c = channels
    width = src.shape[1] // c
    n = max(width - 2, 0) * c
    spread = c == 1
    for i in prange(out.shape[0]):
        above = src[rowmap[i]]
        middle = src[rowmap[i + 1]]
        below = src[rowmap[i + 2]]
        o = out[i]
        # Slices rather than ``row[x + c]``: an index that might be negative gets
        # wrap-around code that stops the loop from vectorising (5x slower here).
        above_left = above[0:n]
        up = above[c:c + n]
        left = middle[0:n]
        mid = middle[c:c + n]
        right = middle[2 * c:2 * c + n]
        down = below[c:c + n]
        below_right = below[2 * c:2 * c + n]
        if spread:
            inner = o[3:3 + 3 * n]
            for x in range(n):
                value = _relief(centre, strength, delta, above_left[x], up[x], left[x], mid[x], right[x],
                                down[x], below_right[x])
                inner[3 * x] = value
                inner[3 * x + 1] = value
                inner[3 * x + 2] = value
        else:
            inner = o[c:c + n]
            for x in range(n):
                inner[x] = _relief(centre, strength, delta, above_left[x], up[x], left[x], mid[x], right[x],
                                   down[x], below_right[x])
        _edge_column(above, middle, below, colmap, 0, c, centre, strength, delta, o, spread)
        if width > 1:
            _edge_column(above, middle, below, colmap, width - 1, c, centre, strength, delta, o, spread)
