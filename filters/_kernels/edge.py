"""Numba kernels for the ``edge`` filter: grey conversion, separable gradients and magnitude in one pass.

A frame ``(H, W, 3)`` is seen as ``(H, W*3)`` rows. Each chunk of output rows keeps a ring
of ``k`` converted rows (grey, or the three channels interleaved) padded by ``k//2``
reflect-101 columns, so every source row is read and converted once per chunk, and the
vertical then horizontal passes run over contiguous float32 rows that stay in cache.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .luma import luma_at


@njit(cache=True, nogil=True)
def _load_row(src_row, colmap, color, slot):
    """Convert one source row ``(W*3,)`` uint8 into the padded float32 ring slot.

    Grey is ``luma_at`` (bit-exact with ``cv2.cvtColor(BGR2GRAY)``); with ``color`` the
    three channels stay interleaved.
    """
    width = src_row.shape[0] // 3
    pad = (colmap.shape[0] - width) // 2
    if color:
        inner = slot[pad * 3:(pad + width) * 3]
        for x in range(inner.shape[0]):
            inner[x] = np.float32(src_row[x])
        for j in range(2 * pad):  # the border columns: j < pad on the left, the rest on the right
            p = j if j < pad else j + width
            s = (pad + colmap[p]) * 3
            for c in range(3):
                slot[p * 3 + c] = slot[s + c]
    else:
        inner = slot[pad:pad + width]
        for x in range(width):
            inner[x] = np.float32(luma_at(src_row, x))
        for j in range(2 * pad):
            p = j if j < pad else j + width
            slot[p] = slot[pad + colmap[p]]


@njit(cache=True, nogil=True)
def _vertical(ring, start, kv1, kv2, length, a, b):
    """``a[x] = sum_t kv1[t] * ring[(start+t) % k, x]``, ``b`` likewise with ``kv2``, ``x < length``.

    Three taps (the common apertures) take one pass over the rows; longer ones one per tap.
    """
    k = kv1.shape[0]
    if k == 3:
        p = ring[start % 3]
        q = ring[(start + 1) % 3]
        r = ring[(start + 2) % 3]
        a0, a1, a2 = kv1[0], kv1[1], kv1[2]
        b0, b1, b2 = kv2[0], kv2[1], kv2[2]
        for x in range(length):
            a[x] = a0 * p[x] + a1 * q[x] + a2 * r[x]
            b[x] = b0 * p[x] + b1 * q[x] + b2 * r[x]
        return
    a[:length] = 0
    b[:length] = 0
    for t in range(k):
        wa = kv1[t]
        wb = kv2[t]
        row = ring[(start + t) % k]
        for x in range(length):
            a[x] += wa * row[x]
            b[x] += wb * row[x]


@njit(cache=True, nogil=True)
def _horizontal(a, b, kh1, kh2, step, laplacian, h1, h2):
    """``h1[x]`` = L2 norm (or ``|sum|`` if ``laplacian``) of the horizontal taps of ``a`` and ``b``.

    ``h1[x]`` combines ``sum_t kh1[t] * a[x + t*step]`` and ``sum_t kh2[t] * b[x + t*step]``
    for ``x < len(h1)``; ``h2`` is scratch for apertures longer than three.
    """
    length = h1.shape[0]
    if kh1.shape[0] == 3:
        a0, a1, a2 = kh1[0], kh1[1], kh1[2]
        b0, b1, b2 = kh2[0], kh2[1], kh2[2]
        am = a[step:step + length]
        ar = a[2 * step:2 * step + length]
        bm = b[step:step + length]
        br = b[2 * step:2 * step + length]
        if laplacian:
            for x in range(length):
                h1[x] = np.abs((a0 * a[x] + a1 * am[x] + a2 * ar[x]) + (b0 * b[x] + b1 * bm[x] + b2 * br[x]))
        else:
            for x in range(length):
                gx = a0 * a[x] + a1 * am[x] + a2 * ar[x]
                gy = b0 * b[x] + b1 * bm[x] + b2 * br[x]
                h1[x] = np.sqrt(gx * gx + gy * gy)
        return
    h1[:] = 0
    h2[:] = 0
    for t in range(kh1.shape[0]):
        wa = kh1[t]
        wb = kh2[t]
        sa = a[t * step:t * step + length]
        sb = b[t * step:t * step + length]
        for x in range(length):
            h1[x] += wa * sa[x]
            h2[x] += wb * sb[x]
    if laplacian:
        for x in range(length):
            h1[x] = np.abs(h1[x] + h2[x])
    else:
        for x in range(length):
            h1[x] = np.sqrt(h1[x] * h1[x] + h2[x] * h2[x])


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract", "nnan", "ninf", "nsz", "arcp"})
def gradient_frame(src, rowmap, colmap, kv1, kh1, kv2, kh2, laplacian, scale, threshold,
                   color, out, ring, va, vb, ha, hb):
    """Edge magnitude of a frame, one fused pass (correlation, reflect-101 borders).

    ``a = kh1 (x) kv1 * img`` and ``b = kh2 (x) kv2 * img`` (separable, odd length ``k``);
    the result is ``sqrt(a**2 + b**2)``, or ``|a + b|`` when ``laplacian``, times ``scale``,
    rounded and saturated to uint8, then binarised to 0/255 (``> threshold``) when
    ``threshold >= 0``. ``img`` is the grey frame (written to all three channels) or, with
    ``color``, each channel separately.

    ``src``, ``out`` ``(H, W*3)`` uint8; ``rowmap`` ``(H+k-1,)`` and ``colmap`` ``(W+k-1,)``
    int64 reflect-101 maps from ``filters.correlation.border_index``; scratch float32: ``ring`` ``(n, k, (W+k-1)*C)``, ``va``,
    ``vb`` ``(n, (W+k-1)*C)``, ``ha``, ``hb`` ``(n, W*C)`` with ``C`` = 3 if ``color``
    else 1 and ``n`` chunks of rows run in parallel.
    """
    height = src.shape[0]
    k = kv1.shape[0]
    nchunks = ring.shape[0]
    step = 3 if color else 1
    length = ha.shape[1]
    plen = va.shape[1]
    top = np.float32(255.0)
    half = np.float32(0.5)
    level = np.float32(threshold)
    for chunk in prange(nchunks):
        r0 = (chunk * height) // nchunks
        r1 = ((chunk + 1) * height) // nchunks
        if r0 >= r1:
            continue
        rg = ring[chunk]
        a = va[chunk]
        b = vb[chunk]
        h1 = ha[chunk]
        h2 = hb[chunk]
        for t in range(k - 1):
            _load_row(src[rowmap[r0 + t]], colmap, color, rg[(r0 + t) % k])
        for i in range(r0, r1):
            _load_row(src[rowmap[i + k - 1]], colmap, color, rg[(i + k - 1) % k])
            _vertical(rg, i % k, kv1, kv2, plen, a, b)
            _horizontal(a, b, kh1, kh2, step, laplacian, h1, h2)
            orow = out[i]
            if color:
                if threshold >= 0:
                    for x in range(length):
                        m = np.uint8(min(h1[x] * scale, top) + half)
                        orow[x] = 255 if np.float32(m) > level else 0
                else:
                    for x in range(length):
                        orow[x] = np.uint8(min(h1[x] * scale, top) + half)
            else:
                for x in range(length):
                    m = np.uint8(min(h1[x] * scale, top) + half)
                    if threshold >= 0:
                        m = 255 if np.float32(m) > level else 0
                    orow[3 * x] = m
                    orow[3 * x + 1] = m
                    orow[3 * x + 2] = m
