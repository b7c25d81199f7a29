"""Numba kernels for 2-D correlation (no kernel flip) on row-flattened images.

Rows, ``rowmap``/``colmap`` (``-1``: zero, the constant border) and chunks as in `filters._kernels`.
Each chunk keeps, in a ring of ``kh`` float32 rows, the padded rows (general kernel) or the
row-filtered padded rows (separable kernel) that its current output row reads, so every source
row is converted and padded once and stays in cache while it is used. Sums are float32, as in
OpenCV's ``filter2D`` for ``uint8`` and ``float32``.

3x3 kernels skip the ring: ``correlate3x3`` reads the source rows directly, in one fused
pass per output row, and works out only the border columns through ``colmap``. With
integer weights on ``uint8`` it sums exactly in int16 or int32, the fastest forms.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload


def _store(out, x, value):  # pragma: no cover - replaced by the overload in compiled code
    """``out[x] = value``: float32 or int32 ``value``; uint8 ``out``: rounded half to even, saturated."""
    raise NotImplementedError


@overload(_store, jit_options={"nogil": True})
def _store_impl(out, x, value):
    if out.dtype != types.uint8:

        def store_float(out, x, value):
            out[x] = value

        return store_float
    if isinstance(value, types.Integer):

        def store_int_uint8(out, x, value):
            out[x] = np.uint8(min(max(value, 0), 255))

        return store_int_uint8

    def store_uint8(out, x, value):
        out[x] = np.uint8(min(max(np.rint(value), np.float32(0.0)), np.float32(255.0)))

    return store_uint8


def _like(weight, value):  # pragma: no cover - replaced by the overload in compiled code
    """``value`` as the sum type of ``weight``: int16 or int32 for integer weights, else float32.

    Integer sums wrap in that width; the caller picks it so that the final sum fits, which
    makes every partial sum exact modulo 2**16 or 2**32 and the result exact.
    """
    raise NotImplementedError


@overload(_like, jit_options={"nogil": True})
def _like_impl(weight, value):
    if isinstance(weight, types.Integer) and weight.bitwidth == 16:
        return lambda weight, value: np.int16(value)
    if isinstance(weight, types.Integer):
        return lambda weight, value: np.int32(value)
    return lambda weight, value: np.float32(value)


@njit(cache=True, nogil=True)
def _store_row(acc, out):
    """Write the float32 row ``acc`` into ``out`` (uint8: rounded half to even, saturated)."""
    for x in range(out.shape[0]):
        _store(out, x, acc[x])


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract"})
def correlate3x3(src, rowmap, colmap, left, kernel, channels, zeros, out):
    """``out[i, x] = sum k[dy, dx] * padded[i + dy, x + dx*C]`` for a ``(3, 3)`` kernel.

    Arguments as ``correlate_general``, without scratch; ``kernel`` float32, or for exact
    integer sums on ``uint8`` ``src`` int16 (``255 * sum|k| < 2**15``: 16 lanes per AVX2
    vector) or int32 (``255 * sum|k| < 2**31``);
    ``zeros`` a zero row of ``src``'s length and dtype (read for ``rowmap`` ``-1``).
    Each output row is one fused pass over nine shifted slices of three source rows,
    with the columns whose taps leave the image done one by one through ``colmap``.
    """
    c = channels
    width = src.shape[1] // c
    wout = out.shape[1] // c
    start = min(left, wout)  # output columns start..stop-1 read only inside the image
    stop = max(start, min(wout, width - 2 + left))
    n = (stop - start) * c
    k00, k01, k02 = kernel[0, 0], kernel[0, 1], kernel[0, 2]
    k10, k11, k12 = kernel[1, 0], kernel[1, 1], kernel[1, 2]
    k20, k21, k22 = kernel[2, 0], kernel[2, 1], kernel[2, 2]
    for i in prange(out.shape[0]):
        above = _source_row(src, rowmap[i], zeros)
        middle = _source_row(src, rowmap[i + 1], zeros)
        below = _source_row(src, rowmap[i + 2], zeros)
        # Fixed slices, not ``row[x + dx*c]``: Numba cannot prove that index non-negative
        # and its wrap-around check would keep the loop from vectorising.
        a0, a1, a2 = above[0:n], above[c:c + n], above[2 * c:2 * c + n]
        b0, b1, b2 = middle[0:n], middle[c:c + n], middle[2 * c:2 * c + n]
        c0, c1, c2 = below[0:n], below[c:c + n], below[2 * c:2 * c + n]
        o = out[i, start * c:start * c + n]
        for x in range(n):
            total = (k00 * _like(k00, a0[x]) + k01 * _like(k00, a1[x]) + k02 * _like(k00, a2[x])
                     + k10 * _like(k00, b0[x]) + k11 * _like(k00, b1[x]) + k12 * _like(k00, b2[x])
                     + k20 * _like(k00, c0[x]) + k21 * _like(k00, c1[x]) + k22 * _like(k00, c2[x]))
            _store(o, x, _like(k00, total))
        for x in range(start):
            _edge_pixel(src, rowmap, colmap, kernel, c, zeros, i, x, out[i])
        for x in range(stop, wout):
            _edge_pixel(src, rowmap, colmap, kernel, c, zeros, i, x, out[i])


@njit(cache=True, nogil=True)
def _source_row(src, r, zeros):
    """Source row ``r``, or ``zeros`` for ``r < 0`` (constant border)."""
    if r < 0:
        return zeros
    return src[r]


@njit(cache=True, nogil=True)
def _edge_pixel(src, rowmap, colmap, kernel, channels, zeros, i, x, o):
    """All channels of output pixel ``x`` of row ``i`` into ``o``, reading through both maps."""
    kh, kw = kernel.shape
    for ch in range(channels):
        total = _like(kernel[0, 0], 0)
        for dy in range(kh):
            row = _source_row(src, rowmap[i + dy], zeros)
            for dx in range(kw):
                s = colmap[x + dx]
                if s >= 0:
                    total += kernel[dy, dx] * _like(kernel[0, 0], row[s * channels + ch])
        _store(o, x * channels + ch, _like(kernel[0, 0], total))


@njit(cache=True, nogil=True, parallel=True)
def correlate_general(src, rowmap, colmap, left, kernel, channels, out, ring, acc):
    """``out[i, x] = sum k[dy, dx] * padded[i + dy, x + dx*C]`` for a full 2-D kernel.

    ``src`` ``(H, W*C)`` uint8/float32; ``rowmap`` ``(Hout+kh-1,)`` and ``colmap``
    ``(Wout+kw-1,)`` int64 with source columns ``0..W-1`` at ``left..left+W-1``;
    ``kernel`` ``(kh, kw)`` float32; ``out`` ``(Hout, Wout*C)`` of ``src``'s dtype;
    scratch ``ring`` ``(n, kh, (Wout+kw-1)*C)`` and ``acc`` ``(n, Wout*C)`` float32.
    """
    hout = out.shape[0]
    nchunks = acc.shape[0]
    for chunk in prange(nchunks):
        _general_chunk(src, rowmap, colmap, left, kernel, channels, out, ring[chunk], acc[chunk],
                       (chunk * hout) // nchunks, ((chunk + 1) * hout) // nchunks)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _general_chunk(src, rowmap, colmap, left, kernel, channels, out, rows, a, start, stop):
    kh = kernel.shape[0]
    for q in range(start, start + kh - 1):
        _pad_row(src, rowmap[q], colmap, left, channels, rows[q % kh])
    for i in range(start, stop):
        q = i + kh - 1
        _pad_row(src, rowmap[q], colmap, left, channels, rows[q % kh])
        a[:] = 0
        for dy in range(kh):
            _add_taps(a, rows[(i + dy) % kh], kernel[dy], channels)
        _store_row(a, out[i])


@njit(cache=True, nogil=True, parallel=True)
def correlate_separable(src, rowmap, colmap, left, col_taps, row_taps, channels, out, line, ring, acc):
    """Rank-1 kernel ``outer(col_taps, row_taps)``: a row pass, then a column pass.

    Arguments as ``correlate_general`` with the kernel as ``col_taps`` ``(kh,)`` and
    ``row_taps`` ``(kw,)`` float32; scratch ``line`` ``(n, (Wout+kw-1)*C)``, ``ring``
    ``(n, kh, Wout*C)`` and ``acc`` ``(n, Wout*C)`` float32.
    """
    hout = out.shape[0]
    nchunks = acc.shape[0]
    for chunk in prange(nchunks):
        _separable_chunk(src, rowmap, colmap, left, col_taps, row_taps, channels, out,
                         line[chunk], ring[chunk], acc[chunk],
                         (chunk * hout) // nchunks, ((chunk + 1) * hout) // nchunks)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _separable_chunk(src, rowmap, colmap, left, col_taps, row_taps, channels, out, line, rows, a,
                     start, stop):
    kh = col_taps.shape[0]
    for q in range(start, stop + kh - 1):
        _pad_row(src, rowmap[q], colmap, left, channels, line)
        filtered = rows[q % kh]
        filtered[:] = 0
        _add_taps(filtered, line, row_taps, channels)
        i = q - kh + 1
        if i >= start:
            a[:] = 0
            pairs_end = kh - 3 if kh % 2 == 1 else kh
            for dy in range(0, pairs_end, 2):
                _add_rows(a, rows[(i + dy) % kh], rows[(i + dy + 1) % kh], col_taps[dy], col_taps[dy + 1])
            if kh % 2 == 1:
                dy = kh - 3
                _add_rows3(a, rows[(i + dy) % kh], rows[(i + dy + 1) % kh], rows[(i + dy + 2) % kh],
                           col_taps[dy], col_taps[dy + 1], col_taps[dy + 2])
            _store_row(a, out[i])


@njit(cache=True, nogil=True)
def _pad_row(src, r, colmap, left, channels, dst):
    """``dst`` = padded row of source row ``r`` as float32 (zeros when ``r < 0``)."""
    if r < 0:
        dst[:] = 0
        return
    row = src[r]
    width = row.shape[0] // channels
    inner = dst[left * channels:left * channels + row.shape[0]]
    for x in range(inner.shape[0]):
        inner[x] = np.float32(row[x])
    for j in range(left):
        _pad_column(row, colmap[j], channels, dst[j * channels:(j + 1) * channels])
    for j in range(left + width, colmap.shape[0]):
        _pad_column(row, colmap[j], channels, dst[j * channels:(j + 1) * channels])


@njit(cache=True, nogil=True)
def _pad_column(row, s, channels, dst):
    for c in range(channels):
        dst[c] = np.float32(row[s * channels + c]) if s >= 0 else np.float32(0.0)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _add_taps(a, row, taps, step):
    """``a[x] += sum taps[j] * row[x + j*step]``, two to four taps per pass over ``a``."""
    length = a.shape[0]
    n = taps.shape[0]
    j = 0
    while n - j > 5 or n - j == 4:
        _add_rows4(a, row[j * step:j * step + length], row[(j + 1) * step:(j + 1) * step + length],
                   row[(j + 2) * step:(j + 2) * step + length], row[(j + 3) * step:(j + 3) * step + length],
                   taps[j], taps[j + 1], taps[j + 2], taps[j + 3])
        j += 4
    if n - j == 5 or n - j == 2:
        _add_rows(a, row[j * step:j * step + length], row[(j + 1) * step:(j + 1) * step + length],
                  taps[j], taps[j + 1])
        j += 2
    if n - j == 3:
        _add_rows3(a, row[j * step:j * step + length], row[(j + 1) * step:(j + 1) * step + length],
                   row[(j + 2) * step:(j + 2) * step + length], taps[j], taps[j + 1], taps[j + 2])
    elif n - j == 1:
        _add_row(a, row[j * step:j * step + length], taps[j])


@njit(cache=True, nogil=True, fastmath={"contract"})
def _add_rows4(a, r0, r1, r2, r3, w0, w1, w2, w3):
    """``a += w0 * r0 + w1 * r1 + w2 * r2 + w3 * r3`` over float32 rows of ``a``'s length."""
    for x in range(a.shape[0]):
        a[x] += (w0 * r0[x] + w1 * r1[x]) + (w2 * r2[x] + w3 * r3[x])


@njit(cache=True, nogil=True, fastmath={"contract"})
def _add_row(a, r0, w0):
    """``a += w0 * r0`` over float32 rows of ``a``'s length."""
    for x in range(a.shape[0]):
        a[x] += w0 * r0[x]


@njit(cache=True, nogil=True, fastmath={"contract"})
def _add_rows(a, r0, r1, w0, w1):
    """``a += w0 * r0 + w1 * r1`` over float32 rows of ``a``'s length."""
    for x in range(a.shape[0]):
        a[x] += w0 * r0[x] + w1 * r1[x]


@njit(cache=True, nogil=True, fastmath={"contract"})
def _add_rows3(a, r0, r1, r2, w0, w1, w2):
    """``a += w0 * r0 + w1 * r1 + w2 * r2`` over float32 rows of ``a``'s length."""
    for x in range(a.shape[0]):
        a[x] += w0 * r0[x] + w1 * r1[x] + w2 * r2[x]
