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


@njit(cache=True, nogil=True)
def _store(src_value, lut_value, strength):
    """``src + strength * (lut - src)``, rounded and saturated to uint8."""
    v = np.float32(src_value) + strength * (lut_value - np.float32(src_value)) + np.float32(0.5)
    return np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))


@njit(cache=True, nogil=True, parallel=True)
def apply_3d(src, offset, frac, table, size, strength, tetrahedral, out):
    """Look every pixel of ``src`` up in ``table`` into ``out`` (both ``(H, W*3)`` uint8)."""
    height = src.shape[0]
    width = src.shape[1] // 3
    db = size * size
    dg = size
    for y in prange(height):
        row = src[y]
        orow = out[y]
        for x in range(width):
            b = row[3 * x]
            g = row[3 * x + 1]
            r = row[3 * x + 2]
            base = offset[0, b] + offset[1, g] + offset[2, r]
            fb = frac[0, b]
            fg = frac[1, g]
            fr = frac[2, r]
            for c in range(3):
                c000 = table[base, c]
                c111 = table[base + db + dg + 1, c]
                if tetrahedral:
                    if fr > fg:
                        if fg > fb:
                            v = ((1 - fr) * c000 + (fr - fg) * table[base + 1, c]
                                 + (fg - fb) * table[base + dg + 1, c] + fb * c111)
                        elif fr > fb:
                            v = ((1 - fr) * c000 + (fr - fb) * table[base + 1, c]
                                 + (fb - fg) * table[base + db + 1, c] + fg * c111)
                        else:
                            v = ((1 - fb) * c000 + (fb - fr) * table[base + db, c]
                                 + (fr - fg) * table[base + db + 1, c] + fg * c111)
                    elif fb > fg:
                        v = ((1 - fb) * c000 + (fb - fg) * table[base + db, c]
                             + (fg - fr) * table[base + db + dg, c] + fr * c111)
                    elif fb > fr:
                        v = ((1 - fg) * c000 + (fg - fb) * table[base + dg, c]
                             + (fb - fr) * table[base + db + dg, c] + fr * c111)
                    else:
                        v = ((1 - fg) * c000 + (fg - fr) * table[base + dg, c]
                             + (fr - fb) * table[base + dg + 1, c] + fb * c111)
                else:
                    c100 = table[base + 1, c]
                    c010 = table[base + dg, c]
                    c110 = table[base + dg + 1, c]
                    c001 = table[base + db, c]
                    c101 = table[base + db + 1, c]
                    c011 = table[base + db + dg, c]
                    c00 = c000 + fr * (c100 - c000)
                    c10 = c010 + fr * (c110 - c010)
                    c01 = c001 + fr * (c101 - c001)
                    c11 = c011 + fr * (c111 - c011)
                    c0 = c00 + fg * (c10 - c00)
                    c1 = c01 + fg * (c11 - c01)
                    v = c0 + fb * (c1 - c0)
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
