"""Numba kernels of the spatial looks: a per-pixel gain (``vignette``) and hashed noise (``grain``).

Frames are ``(H, W*3)`` uint8 rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def scale_by(src, gain, out):
    """``out = round(src * gain / 32768)``; ``gain`` is ``(H, W)`` uint16 in 1/32768 units (<= 32768)."""
    height = src.shape[0]
    width = src.shape[1] // 3
    for y in prange(height):
        row = src[y]
        orow = out[y]
        grow = gain[y]
        for x in range(width):
            g = np.uint32(grow[x])
            for c in range(3):
                orow[3 * x + c] = np.uint8((np.uint32(row[3 * x + c]) * g + np.uint32(16384)) >> 15)


@njit(cache=True, nogil=True)
def _hash(value):
    """A 32-bit integer hash (Wellons' lowbias32) of ``value``'s low 32 bits."""
    x = value & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


@njit(cache=True, nogil=True, parallel=True)
def add_grain(src, amplitude, seed, frame, out):
    """Add ``amplitude * (u1 + u2 - 1)`` to every channel of each pixel, rounded and saturated.

    ``u1``, ``u2``: uniform in [0, 1), the two 16-bit halves of one hash of the pixel's
    index, ``seed`` and ``frame`` (one hash, not two: a third less time, measured).
    """
    height = src.shape[0]
    width = src.shape[1] // 3
    key = _hash(np.uint64(seed) * np.uint64(0x9E3779B9) + np.uint64(frame))
    scale = amplitude / np.float32(65536.0)
    for y in prange(height):
        row = src[y]
        orow = out[y]
        for x in range(width):
            h = _hash(np.uint64(y * width + x) ^ key)
            noise = (np.float32(h & 0xFFFF) + np.float32(h >> 16)) * scale - amplitude
            for c in range(3):
                v = np.float32(row[3 * x + c]) + noise + np.float32(0.5)
                orow[3 * x + c] = np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))
