"""Numba kernels of the ``lut`` filter: per-channel tables and 3D look-up with trilinear or tetrahedral weights.

Frames are seen as ``(H, W*3)`` uint8 rows in BGR order. The 3D table is flat, ``(N**3, 3)``
float32 output values in 0..255 (BGR), entry ``(b*N + g)*N + r``. Per input channel ``k``
(0 blue, 1 green, 2 red) and byte value ``v``, ``offset[k, v]`` is the lower grid index
times that channel's stride (``N*N``, ``N``, ``1``) and ``frac[k, v]`` the weight of the
upper one, so the kernel does no division and no clamping of indices.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _store(src_value, lut_value, strength):
    """``src + strength * (lut - src)``, rounded and saturated to uint8."""
    v = np.float32(src_value) + strength * (lut_value - np.float32(src_value)) + np.float32(0.5)
    return np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))


@njit(cache=True, nogil=True, inline="always")
def _cell(row, x, offset, frac):
    """Pixel ``x`` of a BGR row: its lattice cell's first entry and the blue, green, red fractions inside it."""
    b = row[3 * x]
    g = row[3 * x + 1]
    r = row[3 * x + 2]
    return offset[0, b] + offset[1, g] + offset[2, r], frac[0, b], frac[1, g], frac[2, r]


# Two kernels, not one with a flag: a branch on the method inside the pixel loop costs ~30% (measured).
@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def apply_trilinear(src, offset, frac, table, size, strength, out):
    """Look every pixel of ``src`` up in ``table`` with trilinear weights into ``out`` (both ``(H, W*3)`` uint8)."""
    height = src.shape[0]
    width = src.shape[1] // 3
    db = size * size
    dg = size
    for y in prange(height):
        row = src[y]
        orow = out[y]
        for x in range(width):
            base, fb, fg, fr = _cell(row, x, offset, frac)
            for c in range(3):
                c000 = table[base, c]
                c100 = table[base + 1, c]
                c010 = table[base + dg, c]
                c110 = table[base + dg + 1, c]
                c001 = table[base + db, c]
                c101 = table[base + db + 1, c]
                c011 = table[base + db + dg, c]
                c111 = table[base + db + dg + 1, c]
                c00 = c000 + fr * (c100 - c000)
                c10 = c010 + fr * (c110 - c010)
                c01 = c001 + fr * (c101 - c001)
                c11 = c011 + fr * (c111 - c011)
                c0 = c00 + fg * (c10 - c00)
                c1 = c01 + fg * (c11 - c01)
                orow[3 * x + c] = _store(row[3 * x + c], c0 + fb * (c1 - c0), strength)


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def apply_tetrahedral(src, offset, frac, table, size, strength, out):
    """As `apply_trilinear` with tetrahedral weights: 4 of the cube's 8 corners, chosen by the fractions' order."""
    height = src.shape[0]
    width = src.shape[1] // 3
    db = size * size
    dg = size
    for y in prange(height):
        row = src[y]
        orow = out[y]
        for x in range(width):
            base, fb, fg, fr = _cell(row, x, offset, frac)
            # the two middle corners and the three weights of the tetrahedron holding (fr, fg, fb)
            if fr > fg:
                if fg > fb:
                    m1, m2, w0, w1, w2, w3 = base + 1, base + dg + 1, 1 - fr, fr - fg, fg - fb, fb
                elif fr > fb:
                    m1, m2, w0, w1, w2, w3 = base + 1, base + db + 1, 1 - fr, fr - fb, fb - fg, fg
                else:
                    m1, m2, w0, w1, w2, w3 = base + db, base + db + 1, 1 - fb, fb - fr, fr - fg, fg
            elif fb > fg:
                m1, m2, w0, w1, w2, w3 = base + db, base + db + dg, 1 - fb, fb - fg, fg - fr, fr
            elif fb > fr:
                m1, m2, w0, w1, w2, w3 = base + dg, base + db + dg, 1 - fg, fg - fb, fb - fr, fr
            else:
                m1, m2, w0, w1, w2, w3 = base + dg, base + dg + 1, 1 - fg, fg - fr, fr - fb, fb
            top = base + db + dg + 1
            for c in range(3):
                v = w0 * table[base, c] + w1 * table[m1, c] + w2 * table[m2, c] + w3 * table[top, c]
                orow[3 * x + c] = _store(row[3 * x + c], v, strength)


@njit(cache=True, nogil=True, parallel=True)
def apply_tables(src, tables, out):
    """``out[y, 3x+k] = tables[k, src[y, 3x+k]]``: one 256-entry uint8 table per channel (BGR)."""
    height = src.shape[0]
    width = src.shape[1] // 3
    for y in prange(height):
        row = src[y]
        orow = out[y]
        for x in range(width):
            for k in range(3):
                orow[3 * x + k] = tables[k, row[3 * x + k]]
