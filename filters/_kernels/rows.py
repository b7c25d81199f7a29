"""Row helpers shared by the kernels: uint8 saturation and reflected border columns."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def saturate(value):
    """float32 -> uint8 rounded half to even and saturated, as OpenCV's ``saturate_cast``."""
    return np.uint8(min(max(np.rint(value), np.float32(0.0)), np.float32(255.0)))


@njit(cache=True, nogil=True)
def pad_row(p, colmap, pad, channels):
    """Fill the ``pad`` border columns at both ends of the padded row ``p`` from its inside.

    ``p`` holds ``len(colmap)`` pixels of ``channels`` elements, the image's at
    ``pad .. len(colmap) - pad - 1``; ``colmap[j]`` is the source column of padded column ``j``.
    """
    width = colmap.shape[0] - 2 * pad
    for j in range(pad):
        s = (pad + colmap[j]) * channels
        t = (pad + colmap[pad + width + j]) * channels
        for c in range(channels):
            p[j * channels + c] = p[s + c]
            p[(pad + width + j) * channels + c] = p[t + c]
