"""Numba kernels of ``denoise``: noise estimation, global shift, recursive temporal average, edge-aware smoothing.

Colours are handled in an orthonormal opponent space, ``Y = (B + G + R) / sqrt(3)``,
``U = (R - B) / sqrt(2)``, ``V = (2G - R - B) / sqrt(6)``: noise that is independent
and of equal size in B, G and R stays so in Y, U and V, while the picture's detail
gathers in Y. States are planar float32 ``(3, H + 2P, W + 2P)`` with a reflect-101
border of ``P`` pixels (``P`` = ``RADIUS``) so that the smoothing's inner loops read
plain slices. Frames are ``(H, W*3)`` uint8 rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

RADIUS = 2  # the spatial window is (2 * RADIUS + 1) squared
_S3 = np.float32(1.0 / np.sqrt(3.0))
_S2 = np.float32(1.0 / np.sqrt(2.0))
_S6 = np.float32(1.0 / np.sqrt(6.0))
_S6X2 = np.float32(2.0 / np.sqrt(6.0))


@njit(cache=True, nogil=True, parallel=True)
def analyse(src, step, hist, colsum, rowsum):
    """Noise histograms and the luma profiles of ``src``, from every ``step``-th row and column.

    ``hist`` ``(n, L, V)`` int32: chunk, brightness bin (of ``B + G + R``), ``|r|`` where
    ``r`` is Immerkaer's noise operator ``[1 -2 1; -2 4 -2; 1 -2 1]`` on ``B + G + R``
    (it cancels flat, linear and most edge structure; Gaussian noise of ``s`` per channel
    gives ``r`` of standard deviation ``6 sqrt(3) s``). ``colsum`` ``(n, W)`` and
    ``rowsum`` ``(H,)`` float32: sums of ``B + G + R`` down the sampled rows (per chunk)
    and along each row's sampled columns.
    """
    height = rowsum.shape[0]
    width = src.shape[1] // 3
    nchunks = hist.shape[0]
    nbins = hist.shape[1]
    top = hist.shape[2] - 1
    hist[:] = 0
    colsum[:] = 0
    for chunk in prange(nchunks):
        h = hist[chunk]
        cs = colsum[chunk]
        for y in range((chunk * height) // nchunks, ((chunk + 1) * height) // nchunks):
            row = src[y]
            total = np.float32(0.0)
            for x in range(0, width, step):
                total += np.float32(np.int32(row[3 * x]) + np.int32(row[3 * x + 1]) + np.int32(row[3 * x + 2]))
            rowsum[y] = total
            if y % step != 0:
                continue
            for x in range(width):
                cs[x] += np.float32(np.int32(row[3 * x]) + np.int32(row[3 * x + 1]) + np.int32(row[3 * x + 2]))
            if y == 0 or y >= height - 1:
                continue
            up = src[y - 1]
            down = src[y + 1]
            for x in range(1, width - 1, step):
                a = 3 * x
                r = np.int32(0)
                centre = np.int32(0)
                for c in range(3):
                    centre += np.int32(row[a + c])
                    r += (np.int32(up[a - 3 + c]) + np.int32(up[a + 3 + c]) + np.int32(down[a - 3 + c])
                          + np.int32(down[a + 3 + c]) + 4 * np.int32(row[a + c])
                          - 2 * (np.int32(up[a + c]) + np.int32(down[a + c]) + np.int32(row[a - 3 + c])
                                 + np.int32(row[a + 3 + c])))
                b = min(centre * nbins // 766, nbins - 1)
                h[b, min(abs(r), top)] += 1


@njit(cache=True, nogil=True)
def shift_cost(src, state, dy, dx, step):
    """Mean ``|Y(src) - Y(state)|`` over every ``step``-th pixel where ``state`` shifted by ``(dy, dx)`` overlaps.

    The state's pixel ``(y + dy, x + dx)`` is compared with the frame's ``(y, x)``; an
    overlap smaller than a quarter of the frame costs infinity.
    """
    height = src.shape[0]
    width = src.shape[1] // 3
    pad = (state.shape[1] - height) // 2
    y0, y1 = max(0, -dy), min(height, height - dy)
    x0, x1 = max(0, -dx), min(width, width - dx)
    if (y1 - y0) * 4 < height or (x1 - x0) * 4 < width:
        return np.inf
    total = 0.0
    count = 0
    for y in range(y0, y1, step):
        row = src[y]
        srow = state[0, pad + y + dy]
        for x in range(x0, x1, step):
            v = (np.float32(row[3 * x]) + np.float32(row[3 * x + 1]) + np.float32(row[3 * x + 2])) * _S3
            total += abs(v - srow[pad + x + dx])
            count += 1
    return total / max(count, 1)


@njit(cache=True, nogil=True, parallel=True)
def temporal(src, prev, prevn, dy, dx, varlut, t_lo, t_hi, nmax, cur, curn, diff, vbuf):
    """One step of the per-pixel recursive average, motion-tested against the noise level.

    ``src`` ``(H, W*3)`` uint8; ``prev`` / ``cur`` states ``(3, H+2P, W+2P)`` float32 (the
    last average and the new one; ``cur``'s border is left for ``fill_border``);
    ``prevn`` / ``curn`` ``(H, W)`` float32: how many frames each average holds (0: none).
    The frame's pixel ``(y, x)`` continues the average at ``(y + dy, x + dx)`` of ``prev``
    (the global shift); pixels shifted in from outside start anew. ``varlut`` ``(256,)``
    float32: noise variance per channel by brightness (Y / sqrt(3)). Motion test: ``m``
    is the squared colour difference between frame and average, averaged over 3x3 pixels
    and the 3 channels and divided by its expected value under noise alone,
    ``var * (1 + 1/n)``; the history is kept with weight 1 for ``m <= t_lo``, 0 for
    ``m >= t_hi``, linearly between, and capped at ``nmax`` frames. Scratch ``diff``
    ``(H, W)`` and ``vbuf`` ``(n, W + 2)`` float32.
    """
    height = prevn.shape[0]
    width = prevn.shape[1]
    pad = (cur.shape[1] - height) // 2
    x0 = max(0, -dx)  # the frame's columns that have a history
    x1 = max(x0, min(width, width - dx))
    third = np.float32(1.0 / 3.0)
    tiny = np.float32(1e-3)
    # Pass 1: the frame in Y, U, V into cur; the normalised squared difference into diff.
    for y in prange(height):
        row = src[y]
        cy = cur[0, pad + y, pad:pad + width]
        cu = cur[1, pad + y, pad:pad + width]
        cv = cur[2, pad + y, pad:pad + width]
        for x in range(width):
            b = np.float32(row[3 * x])
            g = np.float32(row[3 * x + 1])
            r = np.float32(row[3 * x + 2])
            cy[x] = (b + g + r) * _S3
            cu[x] = (r - b) * _S2
            cv[x] = (g + g - r - b) * _S6
        d = diff[y]
        ys = y + dy
        if ys < 0 or ys >= height:
            d[:] = np.float32(0.0)
            continue
        d[:x0] = np.float32(0.0)
        d[x1:] = np.float32(0.0)
        py = prev[0, pad + ys]
        pu = prev[1, pad + ys]
        pv = prev[2, pad + ys]
        pn = prevn[ys]
        o = pad + dx
        for x in range(x0, x1):
            e0 = cy[x] - py[o + x]
            e1 = cu[x] - pu[o + x]
            e2 = cv[x] - pv[o + x]
            n0 = max(pn[x + dx], tiny)
            level = min(max(np.int32(py[o + x] * _S3), 0), 255)
            d[x] = (e0 * e0 + e1 * e1 + e2 * e2) * third * n0 / (varlut[level] * (n0 + np.float32(1.0)))
    # Pass 2: 3x3 mean of diff -> weight of the history -> the new average.
    nchunks = vbuf.shape[0]
    inv_span = np.float32(1.0) / max(t_hi - t_lo, np.float32(1e-6))
    ninth = np.float32(1.0 / 9.0)
    for chunk in prange(nchunks):
        v = vbuf[chunk]
        for y in range((chunk * height) // nchunks, ((chunk + 1) * height) // nchunks):
            cn = curn[y]
            ys = y + dy
            if ys < 0 or ys >= height:
                cn[:] = np.float32(1.0)
                continue
            above = diff[max(y - 1, 0)]
            here = diff[y]
            below = diff[min(y + 1, height - 1)]
            for x in range(width):
                v[x + 1] = above[x] + here[x] + below[x]
            v[0] = v[1]
            v[width + 1] = v[width]
            cn[:x0] = np.float32(1.0)
            cn[x1:] = np.float32(1.0)
            cy = cur[0, pad + y, pad:pad + width]
            cu = cur[1, pad + y, pad:pad + width]
            cv = cur[2, pad + y, pad:pad + width]
            py = prev[0, pad + ys]
            pu = prev[1, pad + ys]
            pv = prev[2, pad + ys]
            pn = prevn[ys]
            o = pad + dx
            for x in range(x0, x1):
                n0 = min(pn[x + dx], nmax)
                m = (v[x] + v[x + 1] + v[x + 2]) * ninth
                keep = min(max((t_hi - m) * inv_span, np.float32(0.0)), np.float32(1.0)) * n0
                n = keep + np.float32(1.0)
                a = keep / n
                cy[x] += a * (py[o + x] - cy[x])
                cu[x] += a * (pu[o + x] - cu[x])
                cv[x] += a * (pv[o + x] - cv[x])
                cn[x] = n


@njit(cache=True, nogil=True, parallel=True)
def fill_border(planes, pad, rowmap, colmap):
    """Fill the ``pad``-pixel border of each ``(H+2P, W+2P)`` plane from its inside.

    ``rowmap`` ``(H+2P,)`` / ``colmap`` ``(W+2P,)``: the source row / column of each padded
    one (reflect-101, from ``border_index``).
    """
    nplanes = planes.shape[0]
    height = planes.shape[1] - 2 * pad
    width = planes.shape[2] - 2 * pad
    for k in prange(nplanes * height):
        p = k // height
        row = planes[p, pad + k % height]
        for j in range(pad):
            row[j] = row[pad + colmap[j]]
            row[pad + width + j] = row[pad + colmap[pad + width + j]]
    for k in prange(nplanes * 2 * pad):
        p = k // (2 * pad)
        j = k % (2 * pad)
        j = j if j < pad else height + j
        planes[p, j, :] = planes[p, pad + rowmap[j], :]


@njit(cache=True, nogil=True, parallel=True)
def guide(state, pad, out):
    """``out`` interior: the 3x3 mean of the state's Y plane (its border must be filled); ``out`` ``(H+2P, W+2P)``."""
    height = out.shape[0] - 2 * pad
    width = out.shape[1] - 2 * pad
    ninth = np.float32(1.0 / 9.0)
    for y in prange(height):
        a = state[0, pad + y - 1]
        b = state[0, pad + y]
        c = state[0, pad + y + 1]
        o = out[pad + y]
        for x in range(pad, pad + width):
            o[x] = (a[x - 1] + a[x] + a[x + 1] + b[x - 1] + b[x] + b[x + 1] + c[x - 1] + c[x] + c[x + 1]) * ninth


@njit(cache=True, nogil=True, parallel=True)
def smooth(state, count, g, varlut, h2, taps, out, ih, acc):
    """Edge-aware smoothing of the average ``state`` into the BGR frame ``out`` ``(H, W*3)`` uint8.

    Each pixel becomes the weighted mean of its 5x5 window, the weight of a neighbour
    ``taps[dy, dx] * max(0, 1 - (g' - g)**2 / (h2 * var / n))``: ``g`` is the 3x3 mean
    of Y (a cheap patch distance), ``var / n`` the noise variance left in the average of
    ``n = count`` frames at that brightness, ``h2`` the range in noise variances. An
    average of many frames is thus hardly smoothed, a new one (motion) fully.
    Scratch: ``ih`` ``(H, W)``, ``acc`` ``(n, 4, W)`` float32. The five taps of a window
    row are written out so that each pass over a row adds five of them (the sums'
    loads and stores are the bottleneck otherwise); the loops over a row vectorise.
    """
    height = count.shape[0]
    width = count.shape[1]
    pad = (state.shape[1] - height) // 2
    nchunks = acc.shape[0]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for chunk in prange(nchunks):
        ay = acc[chunk, 0]
        au = acc[chunk, 1]
        av = acc[chunk, 2]
        aw = acc[chunk, 3]
        for y in range((chunk * height) // nchunks, ((chunk + 1) * height) // nchunks):
            sy = state[0, pad + y]
            cn = count[y]
            k = ih[y]
            for x in range(width):
                level = min(max(np.int32(sy[pad + x] * _S3), 0), 255)
                k[x] = cn[x] / max(h2 * varlut[level], np.float32(1e-6))
                ay[x] = zero
                au[x] = zero
                av[x] = zero
                aw[x] = zero
            g0 = g[pad + y, pad:pad + width]
            for ty in range(5):
                t0 = taps[ty, 0]
                t1 = taps[ty, 1]
                t2 = taps[ty, 2]
                t3 = taps[ty, 3]
                t4 = taps[ty, 4]
                r = y + ty + pad - 2
                gr = g[r, pad - 2:]
                yr = state[0, r, pad - 2:]
                ur = state[1, r, pad - 2:]
                vr = state[2, r, pad - 2:]
                for x in range(width):
                    c0 = g0[x]
                    kk = k[x]
                    e = gr[x] - c0
                    w0 = t0 * max(one - e * e * kk, zero)
                    e = gr[x + 1] - c0
                    w1 = t1 * max(one - e * e * kk, zero)
                    e = gr[x + 2] - c0
                    w2 = t2 * max(one - e * e * kk, zero)
                    e = gr[x + 3] - c0
                    w3 = t3 * max(one - e * e * kk, zero)
                    e = gr[x + 4] - c0
                    w4 = t4 * max(one - e * e * kk, zero)
                    ay[x] += w0 * yr[x] + w1 * yr[x + 1] + w2 * yr[x + 2] + w3 * yr[x + 3] + w4 * yr[x + 4]
                    au[x] += w0 * ur[x] + w1 * ur[x + 1] + w2 * ur[x + 2] + w3 * ur[x + 3] + w4 * ur[x + 4]
                    av[x] += w0 * vr[x] + w1 * vr[x + 1] + w2 * vr[x + 2] + w3 * vr[x + 3] + w4 * vr[x + 4]
                    aw[x] += w0 + w1 + w2 + w3 + w4
            o = out[y]
            for x in range(width):
                inv = one / aw[x]
                vy = ay[x] * inv * _S3
                vu = au[x] * inv * _S2
                vv = av[x] * inv
                b = vy - vu - vv * _S6
                gg = vy + vv * _S6X2
                rr = vy + vu - vv * _S6
                o[3 * x] = np.uint8(min(max(b + np.float32(0.5), zero), np.float32(255.0)))
                o[3 * x + 1] = np.uint8(min(max(gg + np.float32(0.5), zero), np.float32(255.0)))
                o[3 * x + 2] = np.uint8(min(max(rr + np.float32(0.5), zero), np.float32(255.0)))


@njit(cache=True, nogil=True)
def best_shift(cur, prev, reach):
    """The shift ``s`` in ``-reach .. reach`` that best matches ``cur[i]`` with ``prev[i + s]``.

    Both are 1-D luma profiles; they are compared by their differences (so a change of
    brightness does not count), mean absolute difference over the overlap.
    """
    n = cur.shape[0]
    best = 0
    best_cost = np.inf
    for s in range(-reach, reach + 1):
        lo = max(0, -s)
        hi = min(n - 1, n - 1 - s)
        if hi - lo < n // 2:
            continue
        total = 0.0
        for i in range(lo, hi):
            total += abs((cur[i + 1] - cur[i]) - (prev[i + s + 1] - prev[i + s]))
        cost = total / (hi - lo)
        if cost < best_cost:
            best_cost = cost
            best = s
    return best
