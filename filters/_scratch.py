"""The one scratch-array helper: arrays kept between calls while their size stays the same."""

from __future__ import annotations

from typing import Any, Hashable

import numpy as np


def scratch(store: dict, key: Hashable, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """``store[key]``: an uninitialised array of ``shape`` and ``dtype``, kept between calls.

    Reallocated only when missing or when the shape or dtype asked for changes (a new
    frame size), so a steady stream of frames allocates nothing.
    """
    buf = store.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = store[key] = np.empty(shape, dtype)
    return buf
