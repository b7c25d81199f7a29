"""Compile (or load from the on-disk cache) every filter's kernels before the first real frame."""

from __future__ import annotations

import time

import numpy as np

from .registry import available, get


def warm_up(names: list[str] | None = None, shape: tuple[int, int] = (32, 48)) -> dict[str, float]:
    """Run each filter (default options) once on a small frame; return {name: seconds}.

    Numba specialises on dtype and layout, not on size, so a small frame compiles the
    same machine code a 1080p frame uses; later calls (and later processes, through the
    ``cache=True`` files) start at full speed.
    """
    frame = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    seconds = {}
    for name in names if names is not None else available():
        start = time.perf_counter()
        get(name)(frame)
        seconds[name] = time.perf_counter() - start
    return seconds
