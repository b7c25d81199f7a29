"""Numba kernels of the ``lut`` filter: per-channel tables and 3D look-up with trilinear or tetrahedral weights.

Frames are seen as ``(H, W*3)`` uint8 rows in BGR order. The 3D kernels work in fixed point on packed
words: a table entry is one uint64 holding blue, green and red in three 21-bit fields, each ``8 * level``,
so a corner is one load and one integer multiply blends all three channels (a float kernel needed 24
scalar loads and ~120 instructions a pixel, which LLVM does not vectorise: ~22 ms per 1080p frame on
one core). Weights are integers in 0..1024; a sum of corners times weights stays below ``2**21`` per
field, so no field carries into the next, and an output byte is a field's bits 13..20 (``8 * 1024 =
2**13``). ``extra[k, v]`` (packed likewise) is added per input byte ``v`` of channel ``k``: the rounding
half-level and the ``(1 - strength) * v`` share of the original; the entries hold ``strength`` times
the grade, clipped to 0..255, so an out-of-range grade is clipped before the last interpolation step.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _store(orow, x, v):
    """The three output bytes of pixel ``x`` from a packed sum (fields of ``8 * 1024 * level``)."""
    orow[3 * x] = np.uint8(v >> np.uint64(13))
    orow[3 * x + 1] = np.uint8(v >> np.uint64(21 + 13))
    orow[3 * x + 2] = np.uint8(v >> np.uint64(42 + 13))


@njit(cache=True, nogil=True, parallel=True)
def build_planes(bgr, g_low, g_frac, r_low, r_frac, strength, planes):
    """Fill ``planes`` (``(N, 256, 256)`` uint64 packed) with the table bilinearly interpolated at every green and red byte.

    ``bgr``: ``(N, N, N, 3)`` float32 outputs in 0..255 (BGR), indexed [blue, green, red];
    ``*_low``/``*_frac``: each byte's lower grid index and the upper one's weight. An entry
    holds ``strength * grade + (1 - strength) * byte`` for green and red (exact: those
    axes are looked up, not interpolated, by `apply_trilinear`) and ``strength * grade``
    for blue, clipped to 0..255.
    """
    size = bgr.shape[0]
    rest = np.float32(1.0) - strength
    for bi in prange(size):
        for g in range(256):
            gl = g_low[g]
            fg = g_frac[g]
            for r in range(256):
                rl = r_low[r]
                fr = r_frac[r]
                packed = np.uint64(0)
                for c in range(3):
                    c00 = bgr[bi, gl, rl, c] + fr * (bgr[bi, gl, rl + 1, c] - bgr[bi, gl, rl, c])
                    c10 = bgr[bi, gl + 1, rl, c] + fr * (bgr[bi, gl + 1, rl + 1, c] - bgr[bi, gl + 1, rl, c])
                    v = strength * (c00 + fg * (c10 - c00))
                    if c == 1:
                        v += rest * np.float32(g)
                    elif c == 2:
                        v += rest * np.float32(r)
                    v = min(max(v, np.float32(0.0)), np.float32(255.0))
                    packed |= np.uint64(v * np.float32(8.0) + np.float32(0.5)) << np.uint64(21 * c)
                planes[bi, g, r] = packed


# The green offset comes from a table: computing ``g * 256 + r`` from the two adjacent bytes
# lets LLVM merge them into one 16-bit big-endian load (movbe) whose partial-register write
# chains every pixel to the one before: 4x slower (measured).
@njit(cache=True, nogil=True, parallel=True)
def apply_trilinear(src, b_offset, b_weight, g_offset, extra, planes, out):
    """Trilinear look-up of every pixel of ``src`` into ``out`` (both ``(H, W*3)`` uint8) through `build_planes`' planes.

    Green and red are exact bytes in a plane; blue interpolates between the planes of its
    two grid neighbours (``b_offset[b]``: the lower one's first entry, ``b_weight[b]``: the
    upper one's weight in 1/1024). ``extra[b]`` adds rounding and blue's share of the original.
    """
    step = np.uint64(planes.shape[1] * planes.shape[2])  # unsigned indices: no negative-index wraparound code
    flat = planes.reshape(-1)
    one = np.uint64(1024)
    for y in prange(src.shape[0]):
        row = src[y]
        orow = out[y]
        for x in range(src.shape[1] // 3):
            b = row[3 * x]
            i = b_offset[b] + g_offset[row[3 * x + 1]] + np.uint64(row[3 * x + 2])
            w = b_weight[b]
            _store(orow, x, flat[i] * (one - w) + flat[i + step] * w + extra[b])


@njit(cache=True, nogil=True, parallel=True)
def apply_tetrahedral(src, cells, extra, table, size, out):
    """Tetrahedral look-up in ``table`` (``N**3`` packed entries, index ``(b*N + g)*N + r``): 4 of the cell's 8 corners.

    ``cells[k, v]``: for byte ``v`` of channel ``k``, its lower grid index times the
    channel's stride in the low 32 bits and the upper one's weight (in 1/1024) above
    (one load instead of two: loads bound this kernel); ``extra[k, v]``: see the module,
    or None when ``strength`` is 1 (then only the rounding half level is added).
    The corners walk from the lower one to the upper one along the largest fraction first.
    """
    db = np.uint64(size * size)  # unsigned indices: no negative-index wraparound code
    dg = np.uint64(size)
    low = np.uint64(0xFFFFFFFF)
    half = np.uint64(4096 | (4096 << 21) | (4096 << 42))
    for y in prange(src.shape[0]):
        row = src[y]
        orow = out[y]
        for x in range(src.shape[1] // 3):
            b = row[3 * x]
            g = row[3 * x + 1]
            r = row[3 * x + 2]
            cb = cells[0, b]
            cg = cells[1, g]
            cr = cells[2, r]
            base = (cb & low) + (cg & low) + (cr & low)
            # Keys: a weight (high half) with its axis' stride (low half). The walk's first step is
            # along the largest weight, its last along the smallest; on ties the strides order the
            # keys, so the two steps are along different axes. Max and min, not branches: the order
            # changes from pixel to pixel (branchy: 2x slower, measured).
            kb = (cb & ~low) | db
            kg = (cg & ~low) | dg
            kr = (cr & ~low) | np.uint64(1)
            k1 = max(kr, max(kg, kb))
            k3 = min(kr, min(kg, kb))
            f1 = k1 >> np.uint64(32)
            f3 = k3 >> np.uint64(32)
            f2 = (cb >> np.uint64(32)) + (cg >> np.uint64(32)) + (cr >> np.uint64(32)) - f1 - f3
            first = k1 & low
            last = k3 & low
            top = base + db + dg + np.uint64(1)
            v = (table[base] * (np.uint64(1024) - f1) + table[base + first] * (f1 - f2)
                 + table[top - last] * (f2 - f3) + table[top] * f3)
            if extra is None:
                v += half
            else:
                v += extra[0, b] + extra[1, g] + extra[2, r]
            _store(orow, x, v)


@njit(cache=True, nogil=True, inline="always")
def _tables_row(row, tables, orow):
    """``orow[3x+k] = tables[k, row[3x+k]]`` for one ``(W*3,)`` row."""
    for x in range(row.shape[0] // 3):
        for k in range(3):
            orow[3 * x + k] = tables[k, row[3 * x + k]]


@njit(cache=True, nogil=True, parallel=True)
def apply_tables(src, tables, out):
    """``out[y, 3x+k] = tables[k, src[y, 3x+k]]``: one 256-entry uint8 table per channel (BGR)."""
    for y in prange(src.shape[0]):
        _tables_row(src[y], tables, out[y])


@njit(cache=True, nogil=True)
def apply_tables_here(src, tables, out):
    """``apply_tables`` on the calling thread alone (no parallel region to start or wait for)."""
    for y in range(src.shape[0]):
        _tables_row(src[y], tables, out[y])
