"""Numba kernels for 2-D correlation (no kernel flip) on row-flattened images.

An image ``(H, W, C)`` is seen as ``(H, W*C)`` rows; a horizontal tap ``dx`` is then an
offset of ``dx*C`` elements, so every inner loop runs over one contiguous row and
vectorises. Borders come from two index tables: ``rowmap[q]`` is the source row of
padded row ``q`` and ``colmap[j]`` the source column of padded column ``j`` (``-1``:
zero, constant border). Output rows are split into ``n`` chunks that run in parallel;
each chunk keeps, in a ring of ``kh`` float32 rows, the padded rows (general kernel) or
the row-filtered padded rows (separable kernel) that its current output row reads, so
every source row is converted and padded once and stays in cache while it is used.
Sums are float32, as in OpenCV's ``filter2D`` for ``uint8`` and ``float32``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload


def _store_row(acc, out):  # pragma: no cover - replaced by the overload in compiled code
    """Write the float32 row ``acc`` into ``out`` (uint8: rounded half to even, saturated)."""
    raise NotImplementedError


@overload(_store_row, jit_options={"nogil": True})
def _store_row_impl(acc, out):
    if out.dtype == types.uint8:

        def store_uint8(acc, out):
            for x in range(out.shape[0]):
                v = np.rint(acc[x])
                out[x] = np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))

        return store_uint8

    def store_float(acc, out):
        for x in range(out.shape[0]):
            out[x] = acc[x]

    return store_float


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
