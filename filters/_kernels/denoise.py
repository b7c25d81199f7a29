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


@njit(cache=True, nogil=True, parallel=True)
def shift_costs(src, state, shifts, step, costs):
    """``costs[i]``: mean ``|Y(src) - Y(state)|`` over every ``step``-th pixel where ``state`` shifted by
    ``shifts[i]`` ``= (dy, dx)`` overlaps the frame.

    The state's pixel ``(y + dy, x + dx)`` is compared with the frame's ``(y, x)``; an
    overlap smaller than a quarter of the frame costs infinity.
    """
    height = src.shape[0]
    width = src.shape[1] // 3
    pad = (state.shape[2] - width) // 2
    for i in prange(shifts.shape[0]):
        dy = shifts[i, 0]
        dx = shifts[i, 1]
        y0, y1 = max(0, -dy), min(height, height - dy)
        x0, x1 = max(0, -dx), min(width, width - dx)
        if (y1 - y0) * 4 < height or (x1 - x0) * 4 < width:
            costs[i] = np.inf
            continue
        total = 0.0
        count = 0
        for y in range(y0, y1, step):
            row = src[y]
            srow = state[0, y + dy]
            for x in range(x0, x1, step):
                v = (np.float32(row[3 * x]) + np.float32(row[3 * x + 1]) + np.float32(row[3 * x + 2])) * _S3
                total += abs(v - srow[pad + x + dx])
                count += 1
        costs[i] = total / max(count, 1)


@njit(cache=True, nogil=True)
def _frame_row(row, qy, qu, qv):
    """The BGR uint8 ``row`` ``(W*3,)`` in Y, U, V into ``qy``, ``qu``, ``qv`` ``(W,)``."""
    for x in range(qy.shape[0]):
        b = np.float32(row[3 * x])
        g = np.float32(row[3 * x + 1])
        r = np.float32(row[3 * x + 2])
        qy[x] = (b + g + r) * _S3
        qu[x] = (r - b) * _S2
        qv[x] = (g + g - r - b) * _S6


@njit(cache=True, nogil=True, error_model="numpy")  # no ZeroDivisionError branch: it stops vectorising
def _ratio_row(qy, qu, qv, py, pu, pv, pn, var0, var1, d):
    """``d``: the squared colour difference of frame ``q`` and average ``p``, averaged over the 3 channels
    and divided by its expected value under noise alone, ``var * (1 + 1/n)`` (``n = pn``)."""
    third = np.float32(1.0 / 3.0)
    tiny = np.float32(1e-3)
    for x in range(d.shape[0]):
        e0 = qy[x] - py[x]
        e1 = qu[x] - pu[x]
        e2 = qv[x] - pv[x]
        n0 = max(pn[x], tiny)
        var = max(var0 + var1 * py[x] * _S3, tiny)
        d[x] = (e0 * e0 + e1 * e1 + e2 * e2) * third * n0 / (var * (n0 + np.float32(1.0)))


@njit(cache=True, nogil=True, parallel=True)
def temporal(src, prev, prevn, dy, dx, var0, var1, tau, beta, nmax, colmap, cur, curn, ring):
    """One step of the per-pixel recursive average, motion-tested against the noise level.

    ``src`` ``(H, W*3)`` uint8; ``prev`` / ``cur`` states ``(3, H, W+2P)`` float32 (the last
    average and the new one; this fills ``cur``'s border columns from ``colmap``);
    ``prevn`` / ``curn`` ``(H, W)`` float32: how many frames each average holds (0: none).
    The frame's pixel ``(y, x)`` continues the average at ``(y + dy, x + dx)`` of ``prev``
    (the global shift); pixels shifted in from outside start anew. The noise variance per
    channel at brightness ``v`` (0..255, the mean of B, G, R) is ``var0 + var1 * v``
    (Poisson-Gaussian: read noise plus photon noise).

    A Kalman filter per pixel whose process noise is the innovation in excess of the
    noise: with ``m`` the 5x5 mean (edges replicated) of ``_ratio_row``'s ratio (1 on
    average where nothing changes), the picture is taken to have changed by
    ``q = beta * max(0, m - tau) * (1 + 1/n)`` noise variances since the last frame, so
    the history of ``n`` frames now counts as ``1 / (1/n + q)`` frames: all of it where
    the picture is still, next to nothing after a cut, and a few frames where a texture
    moves too faintly to be sure.

    One pass: each chunk of rows keeps the five ratio rows it needs in ``ring``
    ``(n, 10, W + 4)`` float32 scratch (with a row of another chunk's frame, the 5-row
    sums and the weights); the two rows past either end of a chunk are measured by both
    chunks rather than waited for.
    """
    height = curn.shape[0]
    width = curn.shape[1]
    pad = (cur.shape[2] - width) // 2
    x0 = max(0, -dx)  # the frame's columns that have a history
    x1 = max(x0, min(width, width - dx))
    span = x1 - x0
    o = pad + x0 + dx
    nchunks = ring.shape[0]
    box = np.float32(1.0 / 25.0)
    for chunk in prange(nchunks):
        y0 = (chunk * height) // nchunks
        y1 = ((chunk + 1) * height) // nchunks
        v = ring[chunk, 8]
        w = ring[chunk, 9]
        ahead = max(y0 - 2, 0)  # the next row whose ratio is wanted
        for y in range(y0, y1):
            while ahead <= min(y + 2, height - 1):
                if y0 <= ahead < y1:  # this chunk's row: the frame goes into cur, the update below finds it there
                    qy = cur[0, ahead, pad:pad + width]
                    qu = cur[1, ahead, pad:pad + width]
                    qv = cur[2, ahead, pad:pad + width]
                else:  # another chunk's row: read, never written
                    qy = ring[chunk, 5, :width]
                    qu = ring[chunk, 6, :width]
                    qv = ring[chunk, 7, :width]
                _frame_row(src[ahead], qy, qu, qv)
                d = ring[chunk, ahead % 5, :width]
                ys = ahead + dy
                if ys < 0 or ys >= height:
                    d[:] = np.float32(0.0)
                else:
                    d[:x0] = np.float32(0.0)
                    d[x1:] = np.float32(0.0)
                    _ratio_row(qy[x0:x1], qu[x0:x1], qv[x0:x1], prev[0, ys, o:o + span], prev[1, ys, o:o + span],
                               prev[2, ys, o:o + span], prevn[ys, x0 + dx:x1 + dx], var0, var1, d[x0:x1])
                ahead += 1
            cn = curn[y]
            ys = y + dy
            if ys < 0 or ys >= height:
                cn[:] = np.float32(1.0)
            else:
                a2 = ring[chunk, max(y - 2, 0) % 5]
                a1 = ring[chunk, max(y - 1, 0) % 5]
                here = ring[chunk, y % 5]
                b1 = ring[chunk, min(y + 1, height - 1) % 5]
                b2 = ring[chunk, min(y + 2, height - 1) % 5]
                for x in range(width):
                    v[x + 2] = a2[x] + a1[x] + here[x] + b1[x] + b2[x]
                v[0] = v[2]
                v[1] = v[2]
                v[width + 2] = v[width + 1]
                v[width + 3] = v[width + 1]
                cn[:x0] = np.float32(1.0)
                cn[x1:] = np.float32(1.0)
                # slices that start at x0, so that every index below is a plain loop index
                # (an index that might be negative keeps LLVM from vectorising)
                cy = cur[0, y, pad + x0:pad + x1]
                cu = cur[1, y, pad + x0:pad + x1]
                cv = cur[2, y, pad + x0:pad + x1]
                py = prev[0, ys, o:o + span]
                pu = prev[1, ys, o:o + span]
                pv = prev[2, ys, o:o + span]
                pn = prevn[ys, x0 + dx:x1 + dx]
                cs = cn[x0:x1]
                vs = v[x0:x1 + 4]
                for x in range(span):  # few store streams per loop, or LLVM gives up on vectorising
                    n0 = max(min(pn[x], nmax), np.float32(1e-6))
                    m = (vs[x] + vs[x + 1] + vs[x + 2] + vs[x + 3] + vs[x + 4]) * box
                    q = beta * max(m - tau, np.float32(0.0)) * (np.float32(1.0) + np.float32(1.0) / n0)
                    keep = n0 / (np.float32(1.0) + q * n0)
                    n = keep + np.float32(1.0)
                    w[x] = keep / n
                    cs[x] = n
                for x in range(span):
                    cy[x] += w[x] * (py[x] - cy[x])
                for x in range(span):
                    cu[x] += w[x] * (pu[x] - cu[x])
                for x in range(span):
                    cv[x] += w[x] * (pv[x] - cv[x])
            for c in range(3):
                _reflect_columns(cur[c, y], pad, colmap)


@njit(cache=True, nogil=True)
def _reflect_columns(row, pad, colmap):
    """Fill the ``pad`` border entries at each end of the padded ``row`` ``(W+2P,)`` from its inside;
    ``colmap`` ``(W+2P,)``: each padded column's source column (reflect-101, from ``border_index``)."""
    width = row.shape[0] - 2 * pad
    for j in range(pad):
        row[j] = row[pad + colmap[j]]
        row[pad + width + j] = row[pad + colmap[pad + width + j]]


@njit(cache=True, nogil=True)
def _guide_row(a, b, d, pad, colmap, csum, out):
    """``out`` ``(W+2P,)``: the 3x3 mean of the padded Y rows ``a``, ``b``, ``d``, centred on ``b``,
    with its own border reflected (``colmap``); ``csum`` ``(W+2,)`` scratch."""
    width = out.shape[0] - 2 * pad
    ninth = np.float32(1.0 / 9.0)
    for x in range(width + 2):
        csum[x] = a[pad - 1 + x] + b[pad - 1 + x] + d[pad - 1 + x]
    o = out[pad:pad + width]
    for x in range(width):
        o[x] = (csum[x] + csum[x + 1] + csum[x + 2]) * ninth
    _reflect_columns(out, pad, colmap)


@njit(cache=True, nogil=True, parallel=True)
def smooth(state, count, var0, var1, h2, taps, rowmap, colmap, out, ring):
    """Edge-aware smoothing of the average ``state`` ``(3, H, W+2P)`` into the BGR frame ``out`` ``(H, W*3)`` uint8.

    Each pixel becomes the weighted mean of its 5x5 window less the corners (21 taps),
    the weight of a neighbour ``taps[dy, dx] * max(0, 1 - (g' - g)**2 * n**3 / (h2 * var))``:
    ``g`` is the 3x3 mean of Y (a cheap patch distance), ``n = count`` the frames in the
    average, ``var`` the noise variance at that brightness (as in ``temporal``), ``h2``
    the range in noise variances. An average of many frames is thus hardly smoothed, a
    new one (motion) fully; the power 3, not the 1 that the noise left (``var / n``)
    suggests: the smoothing's bias on texture outweighs the little noise it removes there.
    Rows beyond the frame are ``rowmap`` ``(H+2P,)``'s (reflect-101), columns are in the
    state's border. ``ring`` ``(n, 11, W+2P)`` float32 scratch per row chunk: the five
    rows of ``g`` in use, the four sums, the weights' range factor and column sums. The
    five taps of a window row are written out so that each pass over a row adds five of
    them (the sums' loads and stores are the bottleneck otherwise); the loops over a row
    vectorise.
    """
    height = count.shape[0]
    width = count.shape[1]
    pad = (state.shape[2] - width) // 2
    nchunks = ring.shape[0]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for chunk in prange(nchunks):
        y0 = (chunk * height) // nchunks
        y1 = ((chunk + 1) * height) // nchunks
        ay = ring[chunk, 5]
        au = ring[chunk, 6]
        av = ring[chunk, 7]
        aw = ring[chunk, 8]
        k = ring[chunk, 9]
        csum = ring[chunk, 10, :width + 2]
        ahead = y0 - 2  # the next row of g wanted
        for y in range(y0, y1):
            while ahead <= y + 2:
                r = rowmap[pad + ahead]
                _guide_row(state[0, rowmap[pad + r - 1]], state[0, r], state[0, rowmap[pad + r + 1]], pad, colmap, csum,
                           ring[chunk, (ahead + 5) % 5])
                ahead += 1
            sy = state[0, y]
            cn = count[y]
            for x in range(width):
                n = cn[x]
                k[x] = n * n * n / max(h2 * (var0 + var1 * sy[pad + x] * _S3), np.float32(1e-6))
                ay[x] = zero
                au[x] = zero
                av[x] = zero
                aw[x] = zero
            g0 = ring[chunk, (y + 5) % 5, pad:pad + width]
            for ty in range(1, 4):  # the middle three rows of the window: five taps each
                t0 = taps[ty, 0]
                t1 = taps[ty, 1]
                t2 = taps[ty, 2]
                t3 = taps[ty, 3]
                t4 = taps[ty, 4]
                r = rowmap[y + ty - 2 + pad]
                gr = ring[chunk, (y + ty - 2 + 5) % 5, pad - 2:]
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
            for ty in (0, 4):  # the top and bottom rows: three taps, the corners left out
                t1 = taps[ty, 1]
                t2 = taps[ty, 2]
                t3 = taps[ty, 3]
                r = rowmap[y + ty - 2 + pad]
                gr = ring[chunk, (y + ty - 2 + 5) % 5, pad - 1:]
                yr = state[0, r, pad - 1:]
                ur = state[1, r, pad - 1:]
                vr = state[2, r, pad - 1:]
                for x in range(width):
                    c0 = g0[x]
                    kk = k[x]
                    e = gr[x] - c0
                    w1 = t1 * max(one - e * e * kk, zero)
                    e = gr[x + 1] - c0
                    w2 = t2 * max(one - e * e * kk, zero)
                    e = gr[x + 2] - c0
                    w3 = t3 * max(one - e * e * kk, zero)
                    ay[x] += w1 * yr[x] + w2 * yr[x + 1] + w3 * yr[x + 2]
                    au[x] += w1 * ur[x] + w2 * ur[x + 1] + w3 * ur[x + 2]
                    av[x] += w1 * vr[x] + w2 * vr[x + 1] + w3 * vr[x + 2]
                    aw[x] += w1 + w2 + w3
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
