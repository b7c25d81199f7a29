"""Numba kernels of the pencil sketch (``sketch``): the colour dodge, and the whole filter in one
pass for OpenCV's default 3 and 5 tap Gaussians.

Rows, reflect-101 ``rowmap``/``colmap`` and chunks as in `filters._kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._parallel import claim
from .gaussian import row16
from .luma import inverted_luma_row


@njit(cache=True, nogil=True)
def _dodge_row(inverted, blurred, o):
    """``grey * 256 / (255 - blurred)`` with ``grey = 255 - inverted`` into the 3 channels of ``o``.

    ``inverted``/``blurred`` ``(W,)`` uint8, ``o`` ``(W*3,)``. The quotient is computed in
    float32, rounded half to even and saturated, and is 0 where the divisor is 0, as
    ``cv2.divide(grey, 255 - blurred, scale=256)``.
    """
    scale = np.float32(256.0)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for x in range(inverted.shape[0]):  # branch-free so that it vectorises
        divisor = np.float32(255.0) - np.float32(blurred[x])
        grey = np.float32(255.0) - np.float32(inverted[x])
        q = min(np.rint(grey * scale / max(divisor, one)), np.float32(255.0))
        value = np.uint8(q if divisor > zero else zero)
        o[3 * x] = value
        o[3 * x + 1] = value
        o[3 * x + 2] = value


@njit(cache=True, nogil=True, parallel=True)
def colour_dodge(inverted, blurred, out):
    """Pencil sketch from ``inverted`` = ``255 - grey`` and ``blurred`` (its Gaussian), both
    ``(H, W)`` uint8, into ``out`` ``(H, W*3)`` uint8 (`_dodge_row`)."""
    for i in prange(out.shape[0]):
        _dodge_row(inverted[i], blurred[i], out[i])


@njit(cache=True, nogil=True, parallel=True)
def sketch16(src, rowmap, colmap, ringmap, taps, out, ring, pbuf, bbuf, counter):
    """Pencil sketch of ``src`` ``(H, W*3)`` BGR into ``out`` with the 16-bit Gaussian of
    ``gaussian16`` (``taps``: its uint16 3 or 5 taps): luma, blur and dodge in one pass.

    Each chunk keeps the inverted luma of the ``k = len(taps)`` source rows that an output
    row reads in ``ring`` ``(n, k, W)`` uint8 (padded row ``j`` in ``ring[j % k]``;
    ``ringmap[j] = j % k`` for ``H + k - 1`` padded rows): each source row's luma is taken
    once per chunk, and the grey, inverted and blurred frames never go through memory.
    Scratch ``pbuf`` ``(n, W + k - 1)`` uint16 and ``bbuf`` ``(n, W)`` uint8 (the blurred row);
    the zeroed ``counter`` hands out the ``n`` chunks (`filters._parallel.claim`).
    """
    height = out.shape[0]
    nchunks = pbuf.shape[0]
    k = taps.shape[0]
    r = k // 2
    for _ in prange(nchunks):  # each claims chunks until none are left: see `claim`
        chunk = claim(counter)
        while chunk < nchunks:
            rg = ring[chunk]
            p = pbuf[chunk]
            blurred = bbuf[chunk]
            start = (chunk * height) // nchunks
            for i in range(start, ((chunk + 1) * height) // nchunks):
                for j in range(i if i == start else i + k - 1, i + k):  # the rows the ring lacks
                    inverted_luma_row(src[rowmap[j]], rg[j % k])
                row16(rg, ringmap, colmap, taps, taps, 1, i, p, blurred)
                _dodge_row(rg[(i + r) % k], blurred, out[i])
            chunk = claim(counter)
