"""Blending two frames through a per-pixel weight (alpha compositing)."""

from __future__ import annotations

import numpy as np

from ._kernels import blend as _k
from ._parallel import launch_lock
from .base import check_frame
from .errors import ParameterError


def composite(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``fg`` where ``alpha`` is 255, ``bg`` where it is 0, rounded blend between; into ``out``.

    ``fg``, ``bg``: ``(H, W, 3) uint8`` frames; ``alpha``: ``(H, W) uint8``. The result is
    ``round((fg * alpha + bg * (255 - alpha)) / 255)``, exact. ``out`` (a new array if
    None) must be C-contiguous; it may be ``fg`` or ``bg`` (in-place blend). Returns ``out``.
    """
    check_frame(fg, "fg")
    check_frame(bg, "bg")
    if bg.shape != fg.shape:
        raise ParameterError(f"bg must have the shape of fg {fg.shape}, got {bg.shape}")
    if not isinstance(alpha, np.ndarray) or alpha.dtype != np.uint8 or alpha.shape != fg.shape[:2]:
        got = f"{alpha.shape} {alpha.dtype}" if isinstance(alpha, np.ndarray) else type(alpha).__name__
        raise ParameterError(f"alpha must be a {fg.shape[:2]} uint8 array, got {got}")
    if out is None:
        out = np.empty(fg.shape, np.uint8)
    else:
        check_frame(out, "out")
        if out.shape != fg.shape:
            raise ParameterError(f"out must have the shape of fg {fg.shape}, got {out.shape}")
        if not out.flags.c_contiguous:
            raise ParameterError("out must be C-contiguous (composite writes it in place)")
    height = fg.shape[0]
    # An input that overlaps out other than exactly (fg or bg itself) is copied first.
    fg, bg = (x if x is out or not np.may_share_memory(x, out) else x.copy() for x in (fg, bg))
    with launch_lock():
        _k.composite(np.ascontiguousarray(fg).reshape(height, -1), np.ascontiguousarray(bg).reshape(height, -1),
                     np.ascontiguousarray(alpha), out.reshape(height, -1))
    return out
