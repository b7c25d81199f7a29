"""Numba kernels of the smoothing family: Gaussian, box, unsharp mask, emboss, pencil sketch.

An image ``(H, W, C)`` is seen as rows ``(H, W*C)``; a horizontal tap ``dx`` is an offset
of ``dx*C`` elements, so inner loops run over one contiguous row and vectorise. Borders
cost nothing in the loops: ``rowmap[i + dy]`` is the source row that output row ``i``
reads for tap row ``dy`` and ``colmap[j]`` the source column of padded column ``j``
(reflect-101 maps built by the callers). The work is split into ``n`` chunks of
consecutive output rows that run in parallel; scratch arrays have one row per chunk.

The Gaussian is OpenCV's bit-exact 8-bit fixed point: integer taps summing to 256, the
vertical pass sums ``ky * src`` (``<= 65280``), the horizontal pass sums ``kx * v``
(``< 2**24``, so float32 holds every partial sum exactly) and the result is
``(sum + 2**15) >> 16``: the same numbers ``cv2.GaussianBlur`` gives for uint8.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_HALF = np.float32(0.5)
_ROUND16 = np.float32(32768.0)
_INV16 = np.float32(1.0 / 65536.0)
_LUMA_B, _LUMA_G, _LUMA_R, _LUMA_ROUND = 3735, 19235, 9798, 16384  # cv2 BGR2GRAY, 15-bit


@njit(cache=True, nogil=True)
def _saturate(value):
    """float32 -> uint8 rounded half to even and saturated, as OpenCV's ``saturate_cast``."""
    return np.uint8(min(max(np.rint(value), np.float32(0.0)), np.float32(255.0)))


@njit(cache=True, nogil=True)
def _vertical(src, rowmap, i, ky, v):
    """``v[x] = sum_dy ky[dy] * src[rowmap[i + dy], x]`` (float32) for a symmetric int32 ``ky``.

    Taps go two pairs per pass (the first pass also takes the centre), which keeps
    the number of passes over ``v`` low without unrolling per kernel size. Each pass
    sums in integers and converts once: ``np.int32(...)`` around the sum lets LLVM
    narrow Numba's int64 arithmetic to 32-bit vectors (1.5x faster than converting
    every uint8 tap to float32).
    """
    r = ky.shape[0] // 2
    n = v.shape[0]
    centre = src[rowmap[i + r]]
    k0 = ky[r]
    if r == 0:
        for x in range(n):
            v[x] = np.float32(np.int32(k0 * np.int32(centre[x])))
        return
    u1 = src[rowmap[i + r - 1]]
    d1 = src[rowmap[i + r + 1]]
    k1 = ky[r - 1]
    if r == 1:
        for x in range(n):
            v[x] = np.float32(np.int32(k0 * np.int32(centre[x])
                                       + k1 * (np.int32(u1[x]) + np.int32(d1[x]))))
        return
    u2 = src[rowmap[i + r - 2]]
    d2 = src[rowmap[i + r + 2]]
    k2 = ky[r - 2]
    for x in range(n):
        v[x] = np.float32(np.int32(k0 * np.int32(centre[x])
                                   + k1 * (np.int32(u1[x]) + np.int32(d1[x]))
                                   + k2 * (np.int32(u2[x]) + np.int32(d2[x]))))
    d = 3
    while d < r:
        u1 = src[rowmap[i + r - d]]
        d1 = src[rowmap[i + r + d]]
        k1 = ky[r - d]
        u2 = src[rowmap[i + r - d - 1]]
        d2 = src[rowmap[i + r + d + 1]]
        k2 = ky[r - d - 1]
        for x in range(n):
            v[x] += np.float32(np.int32(k1 * (np.int32(u1[x]) + np.int32(d1[x]))
                                        + k2 * (np.int32(u2[x]) + np.int32(d2[x]))))
        d += 2
    if d == r:
        u1 = src[rowmap[i]]
        d1 = src[rowmap[i + 2 * r]]
        k1 = ky[0]
        for x in range(n):
            v[x] += np.float32(np.int32(k1 * (np.int32(u1[x]) + np.int32(d1[x]))))


@njit(cache=True, nogil=True)
def _pad_row(p, colmap, pad, channels):
    """Fill the ``pad`` border columns at both ends of the padded row ``p`` from its inside."""
    width = colmap.shape[0] - 2 * pad
    for j in range(pad):
        s = (pad + colmap[j]) * channels
        t = (pad + colmap[pad + width + j]) * channels
        for c in range(channels):
            p[j * channels + c] = p[s + c]
            p[(pad + width + j) * channels + c] = p[t + c]


@njit(cache=True, nogil=True)
def _horizontal(p, kx, channels, h):
    """``h[x] = sum_dx kx[dx] * p[x + dx*C]`` for a symmetric ``kx`` over the padded row ``p``."""
    r = kx.shape[0] // 2
    n = h.shape[0]
    c = channels
    centre = p[r * c:r * c + n]
    k0 = kx[r]
    if r == 0:
        for x in range(n):
            h[x] = k0 * centre[x]
        return
    a1 = p[(r - 1) * c:(r - 1) * c + n]
    b1 = p[(r + 1) * c:(r + 1) * c + n]
    k1 = kx[r - 1]
    if r == 1:
        for x in range(n):
            h[x] = k0 * centre[x] + k1 * (a1[x] + b1[x])
        return
    a2 = p[(r - 2) * c:(r - 2) * c + n]
    b2 = p[(r + 2) * c:(r + 2) * c + n]
    k2 = kx[r - 2]
    for x in range(n):
        h[x] = k0 * centre[x] + k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x])
    d = 3
    while d < r:
        a1 = p[(r - d) * c:(r - d) * c + n]
        b1 = p[(r + d) * c:(r + d) * c + n]
        k1 = kx[r - d]
        a2 = p[(r - d - 1) * c:(r - d - 1) * c + n]
        b2 = p[(r + d + 1) * c:(r + d + 1) * c + n]
        k2 = kx[r - d - 1]
        for x in range(n):
            h[x] += k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x])
        d += 2
    if d == r:
        a1 = p[0:n]
        b1 = p[2 * r * c:2 * r * c + n]
        k1 = kx[0]
        for x in range(n):
            h[x] += k1 * (a1[x] + b1[x])


@njit(cache=True, nogil=True)
def _gaussian_row(src, rowmap, colmap, ky, kx, channels, i, p, h):
    """Row ``i`` of the Gaussian into ``h`` as exact integers scaled by ``2**16`` (float32)."""
    pad = kx.shape[0] // 2
    n = h.shape[0]
    _vertical(src, rowmap, i, ky, p[pad * channels:pad * channels + n])
    _pad_row(p, colmap, pad, channels)
    _horizontal(p, kx, channels, h)


@njit(cache=True, nogil=True, parallel=True)
def gaussian(src, rowmap, colmap, ky, kx, channels, amount, out, pbuf, hbuf):
    """Gaussian blur (correlation, reflect-101) of ``src`` ``(H, W*C)`` uint8 into ``out``;
    with ``amount > 0`` the unsharp mask ``src + amount * (src - blur)`` instead.

    ``ky`` int32 / ``kx`` float32 integer taps summing to 256; ``rowmap`` ``(H + len(ky) - 1,)``
    and ``colmap`` ``(W + len(kx) - 1,)`` int32; ``amount`` float32; scratch ``pbuf``
    ``(n, (W + len(kx) - 1)*C)`` and ``hbuf`` ``(n, W*C)`` float32. The unsharp mask
    rounds the blur to uint8 first (as ``cv2.GaussianBlur``), then takes the weighted sum
    in float32, rounded half to even and saturated (as ``cv2.addWeighted``). One kernel
    for both keeps the cold JIT compile time down.
    """
    height = out.shape[0]
    nchunks = pbuf.shape[0]
    gain = np.float32(1.0) + amount
    for chunk in prange(nchunks):
        p = pbuf[chunk]
        h = hbuf[chunk]
        for i in range((chunk * height) // nchunks, ((chunk + 1) * height) // nchunks):
            _gaussian_row(src, rowmap, colmap, ky, kx, channels, i, p, h)
            o = out[i]
            if amount > 0:
                s = src[i]
                for x in range(h.shape[0]):
                    blurred = np.float32(np.int32((h[x] + _ROUND16) * _INV16))
                    o[x] = _saturate(gain * np.float32(s[x]) - amount * blurred)
            else:
                for x in range(h.shape[0]):
                    o[x] = np.uint8(np.int32((h[x] + _ROUND16) * _INV16))


@njit(cache=True, nogil=True)
def _luma(row, x):
    """BT.601 luma of pixel ``x`` of a BGR row, exactly as cv2's 15-bit ``COLOR_BGR2GRAY``."""
    return (np.int32(row[3 * x]) * _LUMA_B + np.int32(row[3 * x + 1]) * _LUMA_G
            + np.int32(row[3 * x + 2]) * _LUMA_R + _LUMA_ROUND) >> 15


@njit(cache=True, nogil=True, parallel=True)
def luma(src, grey):
    """BT.601 luma of ``src`` ``(H, W*3)`` BGR into ``grey`` ``(H, W)`` uint8."""
    for i in prange(grey.shape[0]):
        s = src[i]
        g = grey[i]
        for x in range(grey.shape[1]):
            g[x] = np.uint8(_luma(s, x))


@njit(cache=True, nogil=True, parallel=True)
def inverted_luma(src, grey, inverted):
    """BT.601 luma of ``src`` ``(H, W*3)`` BGR into ``grey`` ``(H, W)`` and ``255 - grey``
    into ``inverted`` (both uint8)."""
    for i in prange(grey.shape[0]):
        s = src[i]
        g = grey[i]
        inv = inverted[i]
        for x in range(grey.shape[1]):
            y = _luma(s, x)
            g[x] = np.uint8(y)
            inv[x] = np.uint8(255 - y)


@njit(cache=True, nogil=True, parallel=True)
def colour_dodge(grey, inverted, rowmap, colmap, ky, kx, out, pbuf, hbuf):
    """Pencil sketch: ``grey * 256 / (255 - gaussian(inverted))`` into all 3 channels of ``out``.

    ``grey``/``inverted`` ``(H, W)`` uint8; ``out`` ``(H, W*3)`` uint8. The quotient is
    computed in float32, rounded half to even and saturated, and is 0 where the divisor
    is 0, as ``cv2.divide(grey, 255 - blurred, scale=256)``. Other arguments as in
    ``gaussian`` with ``C = 1``.
    """
    height = out.shape[0]
    width = grey.shape[1]
    nchunks = pbuf.shape[0]
    scale = np.float32(256.0)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for chunk in prange(nchunks):
        p = pbuf[chunk]
        h = hbuf[chunk]
        for i in range((chunk * height) // nchunks, ((chunk + 1) * height) // nchunks):
            _gaussian_row(inverted, rowmap, colmap, ky, kx, 1, i, p, h)
            g = grey[i]
            o = out[i]
            for x in range(width):  # branch-free so that it vectorises; h[x] becomes the result
                divisor = np.float32(255.0) - np.float32(np.int32((h[x] + _ROUND16) * _INV16))
                q = min(np.rint(np.float32(g[x]) * scale / max(divisor, one)), np.float32(255.0))
                h[x] = q if divisor > zero else zero
            for x in range(width):
                value = np.uint8(h[x])
                o[3 * x] = value
                o[3 * x + 1] = value
                o[3 * x + 2] = value


BOX_TAPS_MAX = 15  # largest ksize summed tap by tap; also the largest with uint16 sums


@njit(cache=True, nogil=True)
def _box_taps(p, ksize, h, o, inv):
    """Row of ``box`` for ``ksize <= BOX_TAPS_MAX``: ``h[x] = sum_j p[x + 3j]`` over the
    padded column sums ``p``, then ``o = round(h * inv)``.

    Tap by tap, 3 or 5 taps in the first pass and 4 in each further one: every pass is a
    vectorised loop (16 uint16 lanes per AVX2 vector), faster than the sequential
    running sum for these sizes.
    """
    n = h.shape[0]
    j = 3 if ksize % 4 == 3 else 5
    t0 = p[0:n]
    t1 = p[3:3 + n]
    t2 = p[6:6 + n]
    if j == 3:
        for x in range(n):
            h[x] = t0[x] + t1[x] + t2[x]
    else:
        t3 = p[9:9 + n]
        t4 = p[12:12 + n]
        for x in range(n):
            h[x] = t0[x] + t1[x] + t2[x] + t3[x] + t4[x]
    while j < ksize:
        t0 = p[3 * j:3 * j + n]
        t1 = p[3 * j + 3:3 * j + 3 + n]
        t2 = p[3 * j + 6:3 * j + 6 + n]
        t3 = p[3 * j + 9:3 * j + 9 + n]
        for x in range(n):
            h[x] += t0[x] + t1[x] + t2[x] + t3[x]
        j += 4
    for x in range(n):
        o[x] = np.uint8(np.int32(np.float32(h[x]) * inv + _HALF))


@njit(cache=True, nogil=True)
def _box_running(p, ksize, h, o):
    """Row of ``box`` for any ``ksize``: the window slides along the padded column sums ``p``
    with one add and one subtract per element (three int32 channel chains), into ``h``;
    then ``o = round(h / ksize**2)`` in float64 (exact for every sum)."""
    n = h.shape[0]
    s0 = np.int32(0)
    s1 = np.int32(0)
    s2 = np.int32(0)
    for j in range(ksize):
        s0 += p[3 * j]
        s1 += p[3 * j + 1]
        s2 += p[3 * j + 2]
    for x in range(n // 3):
        a = 3 * (x + ksize)
        b = 3 * x
        h[b] = s0
        h[b + 1] = s1
        h[b + 2] = s2
        s0 += p[a] - p[b]
        s1 += p[a + 1] - p[b + 1]
        s2 += p[a + 2] - p[b + 2]
    inv = 1.0 / (ksize * ksize)
    for x in range(n):
        o[x] = np.uint8(np.int32(np.float64(h[x]) * inv + 0.5))


@njit(cache=True, nogil=True, parallel=True)
def box(src, rowmap, colmap, ksize, out, hbuf, pbuf):
    """Mean over ``ksize x ksize`` (reflect-101) of ``src`` ``(H, W*3)`` uint8 into ``out``,
    rounded half up (the area is odd, so there are no ties): exact.

    Integer sums: ``hbuf`` ``(n, W*3)`` and ``pbuf`` ``(n, (W + ksize)*3)`` are uint16
    for ``ksize <= BOX_TAPS_MAX`` (``ksize**2 * 255 < 2**16``), int32 above. Each chunk
    keeps the column sums of its current window in ``pbuf`` (3 elements of slack for the
    last slide) and moves them down one row with a whole-row add/subtract (vectorised).
    Rows are then summed tap by tap (``_box_taps``) up to ``BOX_TAPS_MAX`` and with a
    running sum above (``_box_running``), so the cost of large kernels does not depend on
    ``ksize``.
    """
    height = out.shape[0]
    length = out.shape[1]
    r = ksize // 2
    nchunks = pbuf.shape[0]
    inv = np.float32(1.0 / (ksize * ksize))
    for chunk in prange(nchunks):
        h = hbuf[chunk]
        p = pbuf[chunk]
        start = (chunk * height) // nchunks
        stop = ((chunk + 1) * height) // nchunks
        inner = p[r * 3:r * 3 + length]
        if start < stop:
            row = src[rowmap[start]]
            for x in range(length):
                inner[x] = row[x]
            for j in range(1, ksize):
                row = src[rowmap[start + j]]
                for x in range(length):
                    inner[x] += row[x]
        for i in range(start, stop):
            _pad_row(p, colmap, r, 3)
            if ksize <= BOX_TAPS_MAX:
                _box_taps(p, ksize, h, out[i], inv)
            else:
                _box_running(p, ksize, h, out[i])
            if i + 1 < stop:
                add = src[rowmap[i + ksize]]
                sub = src[rowmap[i]]
                for x in range(length):
                    inner[x] += add[x] - sub[x]


@njit(cache=True, nogil=True, parallel=True)
def pad_columns(src, colmap, channels, padded):
    """Copy ``src`` ``(H, W*C)`` into ``padded`` ``(H, (W + 2*pad)*C)`` with reflected edges."""
    pad = (colmap.shape[0] - src.shape[1] // channels) // 2
    for i in prange(src.shape[0]):
        s = src[i]
        p = padded[i]
        inner = p[pad * channels:pad * channels + s.shape[0]]
        for x in range(s.shape[0]):
            inner[x] = s[x]
        _pad_row(p, colmap, pad, channels)


@njit(cache=True, nogil=True, parallel=True)
def emboss(padded, rowmap, centre, strength, delta, channels, out):
    """Correlation (no flip) with ``[[-2s, -s, 0], [-s, centre, s], [0, s, 2s]]``, plus ``delta``.

    ``padded`` ``(H, (W + 2)*C)`` uint8 from ``pad_columns``; ``rowmap`` ``(H + 2,)``;
    ``centre``, ``strength`` (``s``) and ``delta`` float32. Computed as ``centre * p +
    s * ((right - left) + (below - above) + 2 * (below_right - above_left))``, one fused
    pass per row, rounded half to even and saturated (``cv2.filter2D`` within 1 level, 0
    for integer weights). ``out`` is ``(H, W*C)``, or ``(H, W*3)`` when ``C == 1`` (the
    grey result goes to all three channels).
    """
    c = channels
    n = padded.shape[1] - 2 * c
    for i in prange(out.shape[0]):
        # Slices rather than ``row[x + c]``: an index that might be negative gets
        # wrap-around code that stops the loop from vectorising (5x slower here).
        above = padded[rowmap[i]]
        middle = padded[rowmap[i + 1]]
        below = padded[rowmap[i + 2]]
        above_left = above[0:n]
        up = above[c:c + n]
        left = middle[0:n]
        mid = middle[c:c + n]
        right = middle[2 * c:2 * c + n]
        down = below[c:c + n]
        below_right = below[2 * c:2 * c + n]
        o = out[i]
        if out.shape[1] == n:
            for x in range(n):
                relief = np.float32(np.int32(np.int32(right[x]) - np.int32(left[x]) + np.int32(down[x])
                                             - np.int32(up[x]) + 2 * (np.int32(below_right[x])
                                                                      - np.int32(above_left[x]))))
                o[x] = _saturate(delta + centre * np.float32(mid[x]) + strength * relief)
        else:
            for x in range(n):
                relief = np.float32(np.int32(np.int32(right[x]) - np.int32(left[x]) + np.int32(down[x])
                                             - np.int32(up[x]) + 2 * (np.int32(below_right[x])
                                                                      - np.int32(above_left[x]))))
                value = _saturate(delta + centre * np.float32(mid[x]) + strength * relief)
                o[3 * x] = value
                o[3 * x + 1] = value
                o[3 * x + 2] = value
