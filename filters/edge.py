"""Edge detection: gradient magnitude (Sobel, Scharr) or absolute Laplacian of a frame.

With ``color=False`` the frame is first turned into BT.601 grey exactly as ``cv2.cvtColor(src,
cv2.COLOR_BGR2GRAY)``; then, with reflect-101 borders, sobel/scharr give the L2 magnitude
``sqrt(gx**2 + gy**2)`` of ``gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0 / 0, 1, ksize)`` (Scharr
for ``scharr``) and laplacian ``|cv2.Laplacian(grey, cv2.CV_32F, ksize=ksize)|``; times ``scale``,
rounded and saturated to uint8 (as ``cv2.convertScaleAbs``, except that exact halves round up,
not to even: with ``scale != 1`` a pixel may differ by 1), written to all three channels: white
edges on black. ``color=True`` does the same for each channel (coloured edges). ``threshold``
binarises the result: 255 where it is ``> threshold``.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ._kernels.edge import gradient_frame
from .base import Filter, Option, in_range
from .correlation import border_index
from .errors import ParameterError
from .kernels import DERIVATIVE_KSIZES, derivative_taps
from .registry import register_filter


@register_filter("edge")
class Edge(Filter):
    """Gradient magnitude of an ``(H, W, 3) uint8 BGR`` frame: white edges on black.

    Options: ``method`` sobel|scharr|laplacian; ``ksize`` aperture (sobel 1, 3, 5, 7;
    scharr 3; laplacian 1, 3, 5); ``threshold`` None or 0..255 (binarise at ``> threshold``);
    ``color`` per-channel edges instead of grey; ``scale`` multiplies the magnitude
    before saturation (large apertures give large values: try ``scale=0.25`` for ksize 5).
    """

    summary = "white outlines on black where the picture changes sharply"

    options = (
        Option("method", str, "sobel", "gradient operator", choices=("sobel", "scharr", "laplacian")),
        Option("ksize", int, 3, "aperture size: sobel 1, 3, 5, 7; scharr 3; laplacian 1, 3, 5",
               choices=(1, 3, 5, 7)),
        Option("threshold", int, None, "binarise: 255 where the magnitude is > threshold (0..255)",
               check=in_range(0, 255), optional=True),
        Option("color", bool, False, "per-channel (coloured) edges instead of grey"),
        Option("scale", float, 1.0, "factor on the magnitude before saturation to 0..255",
               check=lambda v: None if 0 < v <= 1000 else "must be > 0 and <= 1000"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.ksize not in DERIVATIVE_KSIZES[self.method]:
            allowed = ", ".join(map(str, DERIVATIVE_KSIZES[self.method]))
            raise ParameterError(
                f"edge: option ksize must be one of {allowed} for method={self.method}, got {self.ksize!r}")
        self._taps = derivative_taps(self.method, self.ksize)

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width = src.shape[:2]
        k = self._taps[0].shape[0]
        pad = k // 2
        channels = 3 if self.color else 1
        nchunks = min(height, 4 * numba.get_num_threads())
        rowmap = border_index(height, pad, pad, "reflect101")
        colmap = border_index(width, pad, pad, "reflect101")
        plen = (width + 2 * pad) * channels
        gradient_frame(
            src.reshape(height, width * 3), rowmap, colmap, *self._taps,
            self.method == "laplacian", np.float32(self.scale),
            -1 if self.threshold is None else int(self.threshold), self.color,
            out.reshape(height, width * 3),
            self._buffer("ring", (nchunks, k, plen)),
            self._buffer("va", (nchunks, plen)), self._buffer("vb", (nchunks, plen)),
            self._buffer("ha", (nchunks, width * channels)), self._buffer("hb", (nchunks, width * channels)),
        )
