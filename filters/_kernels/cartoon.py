"""Numba kernels for the ``cartoon`` filter.

The expensive, edge-preserving smoothing runs on a frame shrunk by an integer factor
``f`` (``low`` is ``(h, w*3)`` float32 BGR, ``h = ceil(H/f)``): Gastal and Oliveira's
domain-transform recursive filter (SIGGRAPH 2011), whose cost per pixel does not depend
on the smoothing radius. Outlines come from the Sobel magnitude of the smoothed luma,
also at low resolution, so texture (skin, hair, fabric) does not turn into line noise.
Bilinear upsampling is separable: ``widen`` stretches each low row to full width, then
one full-resolution pass (``compose``) blends rows, quantises luma and darkens outlines.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def area_downsample(src, factor, low, acc):
    """``low[j, i]``: mean of the ``factor x factor`` block of ``src`` at ``(j*f, i*f)``.

    ``src`` ``(H, W*3)`` uint8; ``low`` ``(ceil(H/f), ceil(W/f)*3)`` float32; ``acc``
    ``(n, W*3)`` float32 scratch, one row per chunk. Blocks cut by the right or bottom
    border average the pixels they hold.
    """
    height = src.shape[0]
    width = src.shape[1] // 3
    lh = low.shape[0]
    lw = low.shape[1] // 3
    nchunks = acc.shape[0]
    for chunk in prange(nchunks):
        a = acc[chunk]
        for j in range(chunk * lh // nchunks, (chunk + 1) * lh // nchunks):
            y0 = j * factor
            y1 = min(y0 + factor, height)
            first = src[y0]
            for x in range(a.shape[0]):
                a[x] = np.float32(first[x])
            for y in range(y0 + 1, y1):
                s = src[y]
                for x in range(a.shape[0]):
                    a[x] += np.float32(s[x])
            row = low[j]
            ny = np.float32(y1 - y0)
            for i in range(lw):
                x0 = i * factor
                x1 = min(x0 + factor, width)
                b = np.float32(0.0)
                g = np.float32(0.0)
                r = np.float32(0.0)
                for x in range(x0, x1):
                    b += a[3 * x]
                    g += a[3 * x + 1]
                    r += a[3 * x + 2]
                n = np.float32(1.0) / (ny * np.float32(x1 - x0))
                row[3 * i] = b * n
                row[3 * i + 1] = g * n
                row[3 * i + 2] = r * n


@njit(cache=True, nogil=True, parallel=True)
def domain_differences(low, dh, dv):
    """Summed absolute colour differences to the left and upper neighbour, rounded.

    ``low`` ``(h, w*3)`` float32; ``dh``, ``dv`` ``(h, w)`` uint16 (0..765); first
    column of ``dh`` and first row of ``dv`` are 0 (never read).
    """
    lh = low.shape[0]
    lw = low.shape[1] // 3
    for j in prange(lh):
        row = low[j]
        dh[j, 0] = 0
        for i in range(1, lw):
            d = (abs(row[3 * i] - row[3 * i - 3]) + abs(row[3 * i + 1] - row[3 * i - 2])
                 + abs(row[3 * i + 2] - row[3 * i - 1]))
            dh[j, i] = np.uint16(min(d, np.float32(765.0)) + np.float32(0.5))
        if j == 0:
            dv[0, :] = 0
            continue
        up = low[j - 1]
        for i in range(lw):
            d = (abs(row[3 * i] - up[3 * i]) + abs(row[3 * i + 1] - up[3 * i + 1])
                 + abs(row[3 * i + 2] - up[3 * i + 2]))
            dv[j, i] = np.uint16(min(d, np.float32(765.0)) + np.float32(0.5))


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract"})
def recursive_horizontal(img, dh, lut):
    """One horizontal domain-transform pass in place: left-to-right then right-to-left.

    ``img`` ``(h, w*3)`` float32; ``dh`` ``(h, w)`` uint16; ``lut`` ``(766,)`` float32:
    the feedback weight ``a ** (1 + sigma_s/sigma_r * d)`` for a difference ``d``.
    """
    lw = img.shape[1] // 3
    for j in prange(img.shape[0]):
        row = img[j]
        d = dh[j]
        b = row[0]
        g = row[1]
        r = row[2]
        for i in range(1, lw):
            b, g, r = _feed_back(row, i, lut[d[i]], b, g, r)
        for i in range(lw - 2, -1, -1):
            b, g, r = _feed_back(row, i, lut[d[i + 1]], b, g, r)


@njit(cache=True, inline="always", fastmath={"contract"})
def _feed_back(row, i, v, b, g, r):
    """Pixel ``i`` of the interleaved BGR ``row`` pulled towards the previous output ``(b, g, r)`` by weight
    ``v``, in place; returns the new value, which feeds the next pixel."""
    b = row[3 * i] + v * (b - row[3 * i])
    g = row[3 * i + 1] + v * (g - row[3 * i + 1])
    r = row[3 * i + 2] + v * (r - row[3 * i + 2])
    row[3 * i] = b
    row[3 * i + 1] = g
    row[3 * i + 2] = r
    return b, g, r


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract"})
def recursive_vertical(img, dv, lut, nchunks):
    """One vertical domain-transform pass in place (top-down then bottom-up).

    Same arrays as ``recursive_horizontal``; columns are split into ``nchunks`` bands
    that run in parallel, each sweeping whole rows so the inner loop is contiguous.
    """
    lh = img.shape[0]
    lw = img.shape[1] // 3
    for chunk in prange(nchunks):
        i0 = (chunk * lw) // nchunks
        i1 = ((chunk + 1) * lw) // nchunks
        for j in range(1, lh):
            row = img[j]
            up = img[j - 1]
            d = dv[j]
            for i in range(i0, i1):
                v = lut[d[i]]
                for c in range(3):
                    x = 3 * i + c
                    row[x] += v * (up[x] - row[x])
        for j in range(lh - 2, -1, -1):
            row = img[j]
            down = img[j + 1]
            d = dv[j + 1]
            for i in range(i0, i1):
                v = lut[d[i]]
                for c in range(3):
                    x = 3 * i + c
                    row[x] += v * (down[x] - row[x])


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract"})
def luma_edges(img, rowmap, colmap, luma, edges):
    """Sobel gradient magnitude of the BT.601 luma of ``img``, divided by 8 (levels per pixel).

    ``img`` ``(h, w*3)`` float32; ``rowmap`` ``(h+2,)``, ``colmap`` ``(w+2,)`` int64
    reflect-101 maps; ``luma`` ``(h, w)`` float32 scratch; ``edges`` ``(h, w)`` float32.
    """
    lh = img.shape[0]
    lw = luma.shape[1]
    for j in prange(lh):
        row = img[j]
        for i in range(lw):
            luma[j, i] = (np.float32(0.114) * row[3 * i] + np.float32(0.587) * row[3 * i + 1]
                          + np.float32(0.299) * row[3 * i + 2])
    for j in prange(lh):
        above = luma[rowmap[j]]
        mid = luma[rowmap[j + 1]]
        below = luma[rowmap[j + 2]]
        for i in range(lw):
            left = colmap[i]
            right = colmap[i + 2]
            gx = (above[right] - above[left]) + np.float32(2.0) * (mid[right] - mid[left]) + (
                below[right] - below[left])
            gy = (below[left] - above[left]) + np.float32(2.0) * (below[i] - above[i]) + (
                below[right] - above[right])
            edges[j, i] = np.sqrt(gx * gx + gy * gy) * np.float32(0.125)


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract"})
def thin_in_detail(edges, threshold, radius, low, high, ridge, hits, out):
    """Outlines thinned to their ridge where lines crowd, as in eyes and mouths.

    ``ridge`` keeps the ``(h, w)`` float32 ``edges`` values that are maxima along the row
    or the column (ties go to the first of two equal pixels), zero elsewhere. The share
    ``d`` of ridge pixels above ``threshold`` in the ``(2 radius + 1)^2`` window (clipped
    at the borders) tells how crowded the lines are; ``out = edges + s (ridge - edges)``
    with ``s`` going 0 -> 1 as ``d`` goes ``low`` -> ``high``. ``hits`` ``(h, w)`` float32
    scratch.
    """
    lh, lw = edges.shape
    zero, one = np.float32(0.0), np.float32(1.0)
    for j in prange(lh):
        above = edges[max(j - 1, 0)]
        below = edges[min(j + 1, lh - 1)]
        row = edges[j]
        g = ridge[j]
        for i in range(lw):
            v = row[i]
            left = row[max(i - 1, 0)]
            right = row[min(i + 1, lw - 1)]
            across = (i == 0 or v >= left) and (i == lw - 1 or v > right)
            down = (j == 0 or v >= above[i]) and (j == lh - 1 or v > below[i])
            g[i] = v if across or down else zero
    for j in prange(lh):  # column sums of the hits over the rows j - radius .. j + radius
        h = hits[j]
        h[:] = zero
        for k in range(max(j - radius, 0), min(j + radius + 1, lh)):
            g = ridge[k]
            for i in range(lw):
                if g[i] > threshold:
                    h[i] += one
    lo, span = np.float32(low), np.float32(high - low)
    for j in prange(lh):
        h = hits[j]
        e = edges[j]
        g = ridge[j]
        o = out[j]
        rows = np.float32(min(j + radius + 1, lh) - max(j - radius, 0))
        count = zero
        for i in range(min(radius, lw)):
            count += h[i]
        for i in range(lw):  # a running sum along the row
            if i + radius < lw:
                count += h[i + radius]
            if i - radius - 1 >= 0:
                count -= h[i - radius - 1]
            cols = np.float32(min(i + radius + 1, lw) - max(i - radius, 0))
            s = min(max((count / (rows * cols) - lo) / span, zero), one)
            o[i] = e[i] + s * (g[i] - e[i])


@njit(cache=True, nogil=True, parallel=True)
def dilate(src, rowmap, colmap, tmp, dst):
    """3x3 maximum filter with reflect-101 borders: ``(h, w)`` float32 ``src`` into ``dst``.

    ``rowmap`` ``(h+2,)``, ``colmap`` ``(w+2,)`` int64; ``tmp`` ``(h, w)`` float32 scratch.
    """
    lw = src.shape[1]
    for j in prange(src.shape[0]):
        above = src[rowmap[j]]
        mid = src[rowmap[j + 1]]
        below = src[rowmap[j + 2]]
        t = tmp[j]
        for i in range(lw):
            t[i] = max(above[i], mid[i], below[i])
    for j in prange(src.shape[0]):
        t = tmp[j]
        d = dst[j]
        for i in range(lw):
            d[i] = max(t[colmap[i]], t[i], t[colmap[i + 2]])


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract"})
def widen(img, edges, starts, wx, wide):
    """Bilinear horizontal upsampling of every low-resolution row to full width, planar.

    ``img`` ``(h, w*3)`` float32 BGR, ``edges`` ``(h, w)`` float32. Full-res columns
    ``starts[i] .. starts[i+1]-1`` (``starts`` ``(w+1,)`` int64) lie between low columns
    ``i`` and ``min(i+1, w-1)``, column ``x`` with weight ``wx[x]`` (``(W,)`` float32) on
    the second; ``wide`` ``(h, 4, W)`` float32 receives the planes B, G, R, edge.
    """
    lw = edges.shape[1]
    for j in prange(img.shape[0]):
        row = img[j]
        e = edges[j]
        pb = wide[j, 0]
        pg = wide[j, 1]
        pr = wide[j, 2]
        pe = wide[j, 3]
        for i in range(lw):
            k = min(i + 1, lw - 1)
            b0 = row[3 * i]
            g0 = row[3 * i + 1]
            r0 = row[3 * i + 2]
            e0 = e[i]
            db = row[3 * k] - b0
            dg = row[3 * k + 1] - g0
            dr = row[3 * k + 2] - r0
            de = e[k] - e0
            for x in range(starts[i], starts[i + 1]):
                w = wx[x]
                pb[x] = b0 + w * db
                pg[x] = g0 + w * dg
                pr[x] = r0 + w * dr
                pe[x] = e0 + w * de


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract", "nnan", "ninf", "nsz"})
def compose(wide, y0, y1, wy, levels, threshold, out):
    """Full-resolution pass: vertical upsampling, luma quantisation and dark outlines.

    Output row ``y`` blends rows ``y0[y]``, ``y1[y]`` (``(H,)`` int64) of ``wide``
    (``(h, 4, W)`` float32 from ``widen``) with weight ``wy[y]`` on the second. Luma is
    snapped to the nearest of ``levels`` evenly spaced levels from 0 to 255 by shifting
    all three channels equally (hue and saturation kept); pixels are scaled by
    ``clip(2 - e/threshold, 0, 1)`` (black where the edge value ``e >= 2*threshold``;
    ``threshold <= 0``: no outlines). ``out`` ``(H, W*3)`` uint8.
    """
    width = out.shape[1] // 3
    step = np.float32(255.0) / np.float32(levels - 1)
    inv_step = np.float32(1.0) / step
    inv_t = np.float32(1.0) / np.float32(threshold) if threshold > 0 else np.float32(0.0)
    one = np.float32(1.0)
    two = np.float32(2.0) if threshold > 0 else np.float32(1.0)
    zero = np.float32(0.0)
    top = np.float32(255.0)
    half = np.float32(0.5)
    for y in prange(out.shape[0]):
        w = wy[y]
        p = wide[y0[y]]
        q = wide[y1[y]]
        pb, pg, pr, pe = p[0], p[1], p[2], p[3]
        qb, qg, qr, qe = q[0], q[1], q[2], q[3]
        orow = out[y]
        for x in range(width):
            b = pb[x] + w * (qb[x] - pb[x])
            g = pg[x] + w * (qg[x] - pg[x])
            r = pr[x] + w * (qr[x] - pr[x])
            e = pe[x] + w * (qe[x] - pe[x])
            luma = np.float32(0.114) * b + np.float32(0.587) * g + np.float32(0.299) * r
            shift = np.floor(luma * inv_step + half) * step - luma
            dark = min(max(two - e * inv_t, zero), one)
            orow[3 * x] = np.uint8(min(max((b + shift) * dark, zero), top) + half)
            orow[3 * x + 1] = np.uint8(min(max((g + shift) * dark, zero), top) + half)
            orow[3 * x + 2] = np.uint8(min(max((r + shift) * dark, zero), top) + half)
