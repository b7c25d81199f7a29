"""The privacy lenses' last step: a hidden picture pasted over a head with a feathered edge.

Inside the head's ellipse the hidden picture is copied; only the feather's ring, a few pixels wide,
is blended, each row's spans found from the ellipse's equation. A float weight map and a blend of the
whole region did the same at 2.5x the cost: the privacy lenses draw every face on every frame, on the
thread that also hands frames to the encoder.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _weight(dx: float, dy: float, a: float, b: float, feather: float, ellipse: bool) -> float:
    """1 inside the ellipse (or box) of half-axes (a, b) at offset (dx, dy) px from its centre, falling linearly
    to 0 over ``feather`` px outside it."""
    if ellipse:
        outside = (math.sqrt((dx / a) ** 2 + (dy / b) ** 2) - 1.0) * min(a, b)
    else:
        outside = math.hypot(max(abs(dx) - a, 0.0), max(abs(dy) - b, 0.0))
    return min(1.0, max(0.0, 1.0 - outside / feather))


@njit(cache=True, nogil=True)
def _blend(view: np.ndarray, hidden: np.ndarray, r: int, c0: int, c1: int, dy: float, left: float, a: float,
           b: float, feather: float, ellipse: bool) -> None:
    """Blend columns ``c0`` to ``c1`` (excluded) of row ``r`` by their weight; ``left``: dx of column 0."""
    for c in range(c0, c1):
        w = _weight(left + c, dy, a, b, feather, ellipse)
        if w > 0.0:
            for k in range(3):
                view[r, c, k] = np.uint8(hidden[r, c, k] * w + view[r, c, k] * (1.0 - w) + 0.5)


@njit(cache=True, nogil=True)
def paste_feathered(view: np.ndarray, hidden: np.ndarray, origin: tuple[float, float], centre: tuple[float, float],
                    half_axes: tuple[float, float], feather: float, ellipse: bool) -> None:
    """Blend ``hidden`` into ``view`` (both (h, w, 3) uint8; ``view`` in place) with a weight of 1 inside the
    ellipse (or box) of ``centre`` and ``half_axes`` (px, frame coordinates; ``origin`` is the frame position of
    ``view[0, 0]``), falling linearly to 0 over ``feather`` px outside it."""
    rows, cols = view.shape[0], view.shape[1]
    a, b = half_axes
    left = origin[0] - centre[0]
    reach = (1.0 + feather / min(a, b)) if ellipse else 1.0
    for r in range(rows):
        dy = origin[1] + r - centre[1]
        if ellipse:
            inner = a * math.sqrt(max(0.0, 1.0 - (dy / b) ** 2)) if abs(dy) < b else -1.0
            outer = a * math.sqrt(max(0.0, reach ** 2 - (dy / b) ** 2))
        else:
            inner = a if abs(dy) <= b else -1.0
            outer = a + feather
        lo = max(0, min(cols, int(math.floor(-left - outer)) - 1))
        hi = max(lo, min(cols, int(math.ceil(-left + outer)) + 2))
        if inner < 0.0:
            _blend(view, hidden, r, lo, hi, dy, left, a, b, feather, ellipse)
            continue
        # columns surely inside (weight 1): copied; a pixel's margin each side goes through the exact weight
        c0 = max(lo, min(hi, int(math.ceil(-left - inner)) + 1))
        c1 = max(c0, min(hi, int(math.floor(-left + inner))))
        _blend(view, hidden, r, lo, c0, dy, left, a, b, feather, ellipse)
        view[r, c0:c1] = hidden[r, c0:c1]
        _blend(view, hidden, r, c1, hi, dy, left, a, b, feather, ellipse)


def warm_up() -> None:
    """Compile (about 4 s, once: cached on disk) `paste_feathered` for the arrays the lenses pass, a frame's view
    and a new picture (`make` runs this at set-up), so that the first face drawn does not wait for it."""
    frame = np.zeros((8, 8, 3), np.uint8)
    paste_feathered(frame[1:7, 1:7], np.zeros((6, 6, 3), np.uint8), (1.0, 1.0), (4.0, 4.0), (2.0, 2.0), 1.0, True)
