"""Numba kernels of the fixed-point Gaussian (``blur``, ``sharpen``, ``sketch``).

Rows, reflect-101 ``rowmap``/``colmap`` and chunks as in `filters._kernels`; ``rowmap[i + dy]``
is the source row that output row ``i`` reads for tap row ``dy``, so borders cost nothing in the loops.

The Gaussian is OpenCV's bit-exact 8-bit fixed point: integer taps summing to 256, the
vertical pass sums ``ky * src`` (``<= 65280``), the horizontal pass sums ``kx * v``
(``< 2**24``, so float32 holds every partial sum exactly) and the result is
``(sum + 2**15) >> 16``: the same numbers ``cv2.GaussianBlur`` gives for uint8.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._parallel import claim
from .rows import pad_row, saturate

_ROUND16 = np.float32(32768.0)
_INV16 = np.float32(1.0 / 65536.0)


@njit(cache=True, nogil=True)
def _load_rows(src, rowmap, i, start, ring):
    """Widen into ``ring`` the source rows that output row ``i`` reads and the ring lacks.

    ``ring`` ``(k + 1, n)`` uint16 for ``k`` taps: padded row ``j`` (source row
    ``rowmap[j]``) sits in ``ring[j % k]``; ``ring[k]`` is `_vertical`'s accumulator. At
    the band's first row ``start`` all ``k`` rows are loaded, then the one new row per
    output row: each source row is widened once per band, not once per tap, and the taps
    then read 16-bit rows that stay in cache.
    """
    k = ring.shape[0] - 1
    first = i if i == start else i + k - 1
    for j in range(first, i + k):
        s = src[rowmap[j]]
        w = ring[j % k]
        for x in range(w.shape[0]):
            w[x] = s[x]


@njit(cache=True, nogil=True)
def _row_pair(ring, i, ky, d):
    """Rows ``i + r - d`` and ``i + r + d`` of the ring and their tap ``ky[r - d]``."""
    k = ky.shape[0]
    r = k // 2
    return ring[(i + r - d) % k], ring[(i + r + d) % k], ky[r - d]


@njit(cache=True, nogil=True)
def _vertical(ring, i, ky, v):
    """``v[x] = sum_dy ky[dy] * ring[(i + dy) % k, x]`` (float32) for a symmetric uint16 ``ky``.

    The sums run in uint16 lanes (twice as many per vector as float32): the taps sum to
    256, so every partial sum is at most ``255 * 256 = 65280``. Up to 5 taps take one
    pass; above, the centre and the inner pairs go in passes of four pairs, then two,
    then one, into ``ring[k]`` (few passes without unrolling per kernel size), and the
    outermost pair's pass converts to float32.
    ``np.uint16(...)`` around a sum lets LLVM narrow Numba's int64 arithmetic to 16-bit lanes.
    """
    r = ky.shape[0] // 2
    acc = ring[ky.shape[0]]
    n = acc.shape[0]
    centre, _, k0 = _row_pair(ring, i, ky, 0)
    u1, d1, k1 = _row_pair(ring, i, ky, min(1, r))
    u2, d2, k2 = _row_pair(ring, i, ky, min(2, r))
    if r <= 2:  # one pass; a missing pair has weight 0
        k1 = k1 if r >= 1 else 0
        k2 = k2 if r >= 2 else 0
        for x in range(n):
            v[x] = np.float32(np.uint16(k0 * centre[x] + k1 * (u1[x] + d1[x]) + k2 * (u2[x] + d2[x])))
        return
    q = r - 1  # pairs 1..q into acc
    if q < 4:
        for x in range(n):
            acc[x] = np.uint16(k0 * centre[x] + k1 * (u1[x] + d1[x]) + k2 * (u2[x] + d2[x]))
    else:
        u3, d3, k3 = _row_pair(ring, i, ky, 3)
        u4, d4, k4 = _row_pair(ring, i, ky, 4)
        for x in range(n):
            acc[x] = np.uint16(k0 * centre[x] + k1 * (u1[x] + d1[x]) + k2 * (u2[x] + d2[x])
                               + k3 * (u3[x] + d3[x]) + k4 * (u4[x] + d4[x]))
    d = 3 if q < 4 else 5
    while d + 3 <= q:
        u1, d1, k1 = _row_pair(ring, i, ky, d)
        u2, d2, k2 = _row_pair(ring, i, ky, d + 1)
        u3, d3, k3 = _row_pair(ring, i, ky, d + 2)
        u4, d4, k4 = _row_pair(ring, i, ky, d + 3)
        for x in range(n):
            acc[x] = np.uint16(acc[x] + k1 * (u1[x] + d1[x]) + k2 * (u2[x] + d2[x])
                               + k3 * (u3[x] + d3[x]) + k4 * (u4[x] + d4[x]))
        d += 4
    if d + 1 <= q:
        u1, d1, k1 = _row_pair(ring, i, ky, d)
        u2, d2, k2 = _row_pair(ring, i, ky, d + 1)
        for x in range(n):
            acc[x] = np.uint16(acc[x] + k1 * (u1[x] + d1[x]) + k2 * (u2[x] + d2[x]))
        d += 2
    if d == q:
        u1, d1, k1 = _row_pair(ring, i, ky, d)
        for x in range(n):
            acc[x] = np.uint16(acc[x] + k1 * (u1[x] + d1[x]))
    u1, d1, k1 = _row_pair(ring, i, ky, r)
    for x in range(n):
        v[x] = np.float32(np.uint16(acc[x] + k1 * (u1[x] + d1[x])))


@njit(cache=True, nogil=True)
def _column_pair(p, kx, channels, n, d):
    """The ``n`` elements of the padded row ``p`` at taps ``r - d`` and ``r + d``, and their tap."""
    r = kx.shape[0] // 2
    return p[(r - d) * channels:(r - d) * channels + n], p[(r + d) * channels:(r + d) * channels + n], kx[r - d]


@njit(cache=True, nogil=True, fastmath={"contract"})
def _horizontal(p, kx, channels, h, o):
    """``o[x] = round(sum_dx kx[dx] * p[x + dx*C] / 2**16)`` (uint8) for a symmetric ``kx``
    over the padded row ``p``: ``(sum + 2**15) >> 16``, as OpenCV rounds.

    Passes as in `_vertical`, summing into ``h`` (float32); the outermost pair's pass
    rounds into ``o``. Fused multiply-adds are allowed ("contract"): every product and
    sum is an integer below ``2**24``, exact in float32 with or without the intermediate
    rounding.
    """
    r = kx.shape[0] // 2
    n = h.shape[0]
    c = channels
    centre, _, k0 = _column_pair(p, kx, c, n, 0)
    a1, b1, k1 = _column_pair(p, kx, c, n, min(1, r))
    a2, b2, k2 = _column_pair(p, kx, c, n, min(2, r))
    if r <= 2:  # one pass, as in `_vertical`
        k1 = k1 if r >= 1 else np.float32(0.0)
        k2 = k2 if r >= 2 else np.float32(0.0)
        for x in range(n):
            o[x] = np.uint8(np.int32((k0 * centre[x] + k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x]) + _ROUND16)
                                     * _INV16))
        return
    q = r - 1
    if q < 4:
        for x in range(n):
            h[x] = k0 * centre[x] + k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x])
    else:
        a3, b3, k3 = _column_pair(p, kx, c, n, 3)
        a4, b4, k4 = _column_pair(p, kx, c, n, 4)
        for x in range(n):
            h[x] = (k0 * centre[x] + k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x])
                    + k3 * (a3[x] + b3[x]) + k4 * (a4[x] + b4[x]))
    d = 3 if q < 4 else 5
    while d + 3 <= q:
        a1, b1, k1 = _column_pair(p, kx, c, n, d)
        a2, b2, k2 = _column_pair(p, kx, c, n, d + 1)
        a3, b3, k3 = _column_pair(p, kx, c, n, d + 2)
        a4, b4, k4 = _column_pair(p, kx, c, n, d + 3)
        for x in range(n):
            h[x] += k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x]) + k3 * (a3[x] + b3[x]) + k4 * (a4[x] + b4[x])
        d += 4
    if d + 1 <= q:
        a1, b1, k1 = _column_pair(p, kx, c, n, d)
        a2, b2, k2 = _column_pair(p, kx, c, n, d + 1)
        for x in range(n):
            h[x] += k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x])
        d += 2
    if d == q:
        a1, b1, k1 = _column_pair(p, kx, c, n, d)
        for x in range(n):
            h[x] += k1 * (a1[x] + b1[x])
    a1, b1, k1 = _column_pair(p, kx, c, n, r)
    for x in range(n):
        o[x] = np.uint8(np.int32((h[x] + k1 * (a1[x] + b1[x]) + _ROUND16) * _INV16))


@njit(cache=True, nogil=True)
def _unsharp_row(s, gain, amount, o):
    """The unsharp mask of row ``s`` over its blur ``o`` (uint8, rounded), in place:
    ``o = saturate(gain * s - amount * o)``, float32, ``gain = 1 + amount``."""
    for x in range(o.shape[0]):
        o[x] = saturate(gain * np.float32(s[x]) - amount * np.float32(o[x]))


@njit(cache=True, nogil=True, parallel=True)
def gaussian(src, rowmap, colmap, ky, kx, channels, amount, out, ring, pbuf, hbuf, counter):
    """Gaussian blur (correlation, reflect-101) of ``src`` ``(H, W*C)`` uint8 into ``out``;
    with ``amount > 0`` the unsharp mask ``src + amount * (src - blur)`` instead.

    ``ky`` uint16 / ``kx`` float32 integer taps summing to 256; ``rowmap`` ``(H + len(ky) - 1,)``
    and ``colmap`` ``(W + len(kx) - 1,)`` int64; ``amount`` float32; scratch ``ring``
    ``(n, len(ky) + 1, W*C)`` uint16, ``pbuf`` ``(n, (W + len(kx) - 1)*C)`` and ``hbuf``
    ``(n, W*C)`` float32; the zeroed ``counter`` hands out the ``n`` chunks
    (`filters._parallel.claim`). The unsharp mask rounds the blur to uint8 first (as
    ``cv2.GaussianBlur``), then takes the weighted sum in float32, rounded half to even
    and saturated (as ``cv2.addWeighted``). One kernel for both keeps the cold JIT
    compile time down.
    """
    height = out.shape[0]
    nchunks = pbuf.shape[0]
    pad = kx.shape[0] // 2
    c = channels
    n = out.shape[1]
    gain = np.float32(1.0) + amount
    for _ in prange(nchunks):  # each claims chunks until none are left: see `claim`
        chunk = claim(counter)
        while chunk < nchunks:
            p = pbuf[chunk]
            h = hbuf[chunk]
            rg = ring[chunk]
            start = (chunk * height) // nchunks
            for i in range(start, ((chunk + 1) * height) // nchunks):
                o = out[i]
                _load_rows(src, rowmap, i, start, rg)
                _vertical(rg, i, ky, p[pad * c:pad * c + n])
                pad_row(p, colmap, pad, c)
                _horizontal(p, kx, c, h, o)
                if amount > 0:
                    _unsharp_row(src[i], gain, amount, o)
            chunk = claim(counter)


@njit(cache=True, nogil=True)
def row16(src, rowmap, colmap, ky, kx, channels, i, p, o):
    """Row ``i`` of ``gaussian16`` into ``o``; ``p`` is the uint16 padded row.

    Constant shifts: a variable one keeps LLVM from narrowing the sums to 16-bit lanes.
    """
    r = kx.shape[0] // 2
    c = channels
    n = o.shape[0]
    v = p[r * c:r * c + n]
    centre = src[rowmap[i + r]]
    u1 = src[rowmap[i + r - 1]]
    d1 = src[rowmap[i + r + 1]]
    k0 = ky[r]
    k1 = ky[r - 1]
    if r == 1:
        for x in range(n):
            v[x] = np.uint16(k0 * np.uint16(centre[x]) + k1 * (np.uint16(u1[x]) + np.uint16(d1[x])))
    else:
        u2 = src[rowmap[i]]
        d2 = src[rowmap[i + 4]]
        k2 = ky[0]
        for x in range(n):
            v[x] = np.uint16(k0 * np.uint16(centre[x]) + k1 * (np.uint16(u1[x]) + np.uint16(d1[x]))
                             + k2 * (np.uint16(u2[x]) + np.uint16(d2[x])))
    pad_row(p, colmap, r, c)
    a1 = p[(r - 1) * c:(r - 1) * c + n]
    b1 = p[(r + 1) * c:(r + 1) * c + n]
    h0 = kx[r]
    h1 = kx[r - 1]
    if r == 1:
        for x in range(n):
            o[x] = np.uint8(np.uint16(h0 * v[x] + h1 * (a1[x] + b1[x]) + 8) >> 4)
        return
    a2 = p[0:n]
    b2 = p[4 * c:4 * c + n]
    h2 = kx[0]
    for x in range(n):
        o[x] = np.uint8(np.uint16(h0 * v[x] + h1 * (a1[x] + b1[x]) + h2 * (a2[x] + b2[x]) + 128) >> 8)


@njit(cache=True, nogil=True, parallel=True)
def gaussian16(src, rowmap, colmap, ky, kx, channels, amount, out, pbuf, counter):
    """``gaussian`` (blur, or the unsharp mask when ``amount > 0``) with the blur in 16-bit
    integers alone, for OpenCV's default kernels: 3 taps ``64 * (1, 2, 1)`` or 5 taps
    ``16 * (1, 4, 6, 4, 1)``.

    ``ky``, ``kx`` uint16: the taps divided by ``g`` (64 or 16; they sum to 4 or 16), so
    each pass stays below ``255 * 16 * 16 = 65280``, exact in uint16 lanes (twice as many
    per vector as float32). OpenCV's ``(g**2 S + 2**15) >> 16`` is then ``(S + 8) >> 4``
    for 3 taps and ``(S + 128) >> 8`` for 5. Other arguments as in ``gaussian``; ``pbuf``
    ``(n, (W + len(kx) - 1)*C)`` uint16.
    """
    height = out.shape[0]
    nchunks = pbuf.shape[0]
    gain = np.float32(1.0) + amount
    for _ in prange(nchunks):  # each claims chunks until none are left: see `claim`
        chunk = claim(counter)
        while chunk < nchunks:
            p = pbuf[chunk]
            for i in range((chunk * height) // nchunks, ((chunk + 1) * height) // nchunks):
                o = out[i]
                row16(src, rowmap, colmap, ky, kx, channels, i, p, o)
                if amount > 0:
                    _unsharp_row(src[i], gain, amount, o)
            chunk = claim(counter)
