"""Numba kernel of the mean filter (``box``): integer column sums, then row sums.

Rows (``(H, W*3)`` uint8), reflect-101 ``rowmap``/``colmap`` and chunks as in `filters._kernels`,
with one scratch row each.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._parallel import claim
from .rows import pad_row

_HALF = np.float32(0.5)

BOX_TAPS_MAX = 15  # largest ksize summed tap by tap; also the largest with uint16 sums
BOX_LADDER_MAX = 31  # largest ksize whose sums of 8 column sums fit uint16 (8 * 31 * 255 < 2**16)


@njit(cache=True, nogil=True)
def _rounded_mean(total, inv):
    """``round(total * inv)`` (uint8) for a window sum ``total`` below ``2**16`` and ``inv`` =
    float32 ``1 / ksize**2``: exact, as the float32 error (``< 2**-14``) is far below the least distance
    of ``total / ksize**2`` from a half level (``1 / (2 ksize**2) >= 1/450``; never a tie, the
    area is odd)."""
    return np.uint8(np.int32(np.float32(total) * inv + _HALF))


@njit(cache=True, nogil=True)
def _box_taps(p, ksize, h, o, inv):
    """Row of ``box`` for ``ksize <= BOX_TAPS_MAX``: ``o[x] = round(sum_j p[x + 3j] / ksize**2)``
    over the padded column sums ``p`` (uint16).

    Tap by tap in uint16 lanes (16 per AVX2 vector), faster than the sequential running
    sum for these sizes: ksize 3 and 5 in one pass, the others 3 or 5 taps into ``h`` and
    then 4 per pass; the last pass rounds straight into ``o``, so the sums of small
    kernels never leave the registers.
    """
    n = o.shape[0]
    t0 = p[0:n]
    t1 = p[3:3 + n]
    t2 = p[6:6 + n]
    if ksize == 3:
        for x in range(n):
            o[x] = _rounded_mean(np.uint16(t0[x] + t1[x] + t2[x]), inv)
        return
    t3 = p[9:9 + n]
    t4 = p[12:12 + n]
    if ksize == 5:
        for x in range(n):
            o[x] = _rounded_mean(np.uint16(t0[x] + t1[x] + t2[x] + t3[x] + t4[x]), inv)
        return
    j = 3 if ksize % 4 == 3 else 5
    if j == 3:
        for x in range(n):
            h[x] = t0[x] + t1[x] + t2[x]
    else:
        for x in range(n):
            h[x] = t0[x] + t1[x] + t2[x] + t3[x] + t4[x]
    while j + 4 < ksize:
        t0 = p[3 * j:3 * j + n]
        t1 = p[3 * j + 3:3 * j + 3 + n]
        t2 = p[3 * j + 6:3 * j + 6 + n]
        t3 = p[3 * j + 9:3 * j + 9 + n]
        for x in range(n):
            h[x] += t0[x] + t1[x] + t2[x] + t3[x]
        j += 4
    t0 = p[3 * j:3 * j + n]
    t1 = p[3 * j + 3:3 * j + 3 + n]
    t2 = p[3 * j + 6:3 * j + 6 + n]
    t3 = p[3 * j + 9:3 * j + 9 + n]
    for x in range(n):
        o[x] = _rounded_mean(np.uint16(h[x] + t0[x] + t1[x] + t2[x] + t3[x]), inv)


@njit(cache=True, nogil=True)
def _box_ladder(p, ksize, ladder, o, inv):
    """Row of ``box`` for ``BOX_TAPS_MAX < ksize <= BOX_LADDER_MAX``: ``o[x] = round(sum_j
    p[x + 3j] / ksize**2)`` from sums of 2, 4 and 8 taps made by doubling.

    ``ladder`` ``(3, len(p))`` uint16 takes the sums of 2, 4 and 8 neighbouring column sums
    (at most ``8 * 31 * 255 < 2**16``: exact), each level one vectorised pass over the one
    below. A window of ``ksize = 8q + r`` taps is then ``q`` (2 or 3) sums of 8 and at most
    one each of 4, 2 and 1 (``r`` is odd), added in int32 and rounded in one pass: a few
    vectorised passes instead of the sequential running sum, exact as in `_rounded_mean`
    (the sum is below ``2**18``, the error below ``2**-14``, ``1 / (2 ksize**2) >= 1/1922``).
    """
    n = o.shape[0]
    s2 = ladder[0]
    s4 = ladder[1]
    s8 = ladder[2]
    valid = p.shape[0] - 3  # the last 3 elements of p are slack
    for x in range(valid - 3):
        s2[x] = p[x] + p[x + 3]
    for x in range(valid - 9):
        s4[x] = s2[x] + s2[x + 6]
    for x in range(valid - 21):
        s8[x] = s4[x] + s4[x + 12]
    eights = ksize // 8  # 2 or 3
    rest = ksize % 8
    k4, k2 = (rest >> 2) & 1, (rest >> 1) & 1
    m4, m2 = np.uint16(0xFFFF * k4), np.uint16(0xFFFF * k2)  # masks, not branches: one loop for every ksize
    first, second = s8[0:n], s8[24:24 + n]
    third = s8[48:48 + n] if eights == 3 else s8[0:0]  # slices, not offsets: Numba's negative-index check scalarises
    four = s4[24 * eights * k4:24 * eights * k4 + n]
    two = s2[3 * (8 * eights + 4 * k4) * k2:3 * (8 * eights + 4 * k4) * k2 + n]
    one = p[3 * (ksize - 1):3 * (ksize - 1) + n]
    for x in range(n):
        low = np.int32(np.uint16((four[x] & m4) + (two[x] & m2) + one[x]))  # at most 7 * ksize * 255
        if eights == 3:
            low += third[x]
        total = np.int32(np.int32(first[x]) + np.int32(second[x]) + low)
        o[x] = np.uint8(np.int32(np.float32(total) * inv + _HALF))


@njit(cache=True, nogil=True)
def _box_running(p, ksize, h, o):
    """Row of ``box`` for any ``ksize``: the window slides along the padded column sums ``p``
    with one add and one subtract per element (three int32 channel chains), into ``h``;
    then ``o = round(h / ksize**2)`` in float64 (exact for every sum)."""
    n = o.shape[0]
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
def box(src, rowmap, colmap, ksize, out, hbuf, pbuf, counter):
    """Mean over ``ksize x ksize`` (reflect-101) of ``src`` ``(H, W*3)`` uint8 into ``out``,
    rounded half up (the area is odd, so there are no ties): exact.

    Integer sums: the column sums ``pbuf`` ``(n, (W + ksize)*3)`` are uint16 (at most
    ``255 * 255``); the row scratch ``hbuf`` ``(n, rows, (W + ksize)*3)`` is uint16 up to
    ``BOX_LADDER_MAX`` (3 rows for `_box_ladder`, else 1), int32 above. Each chunk keeps
    the column sums of its current window in ``pbuf`` (3 elements of slack for the last
    slide) and moves them down one row with a whole-row add/subtract (vectorised). Rows
    are then summed tap by tap (`_box_taps`) up to ``BOX_TAPS_MAX``, from a doubling
    ladder (`_box_ladder`) up to ``BOX_LADDER_MAX`` and with a running sum above
    (`_box_running`), whose cost does not depend on ``ksize``. The zeroed ``counter``
    hands out the ``n`` chunks (`filters._parallel.claim`).
    """
    height = out.shape[0]
    length = out.shape[1]
    r = ksize // 2
    nchunks = pbuf.shape[0]
    inv = np.float32(1.0 / (ksize * ksize))
    for _ in prange(nchunks):  # each claims chunks until none are left: see `claim`
        chunk = claim(counter)
        while chunk < nchunks:
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
                pad_row(p, colmap, r, 3)
                if ksize <= BOX_TAPS_MAX:
                    _box_taps(p, ksize, h[0], out[i], inv)
                elif ksize <= BOX_LADDER_MAX:
                    _box_ladder(p, ksize, h, out[i], inv)
                else:
                    _box_running(p, ksize, h[0], out[i])
                if i + 1 < stop:
                    add = src[rowmap[i + ksize]]
                    sub = src[rowmap[i]]
                    for x in range(length):
                        inner[x] += add[x] - sub[x]
            chunk = claim(counter)
