"""Section ``naive``: the textbook pure-Python double loop against `filters.correlate`."""

from __future__ import annotations

from typing import Any

import numpy as np

import filters

from .stats import elapsed_ms, median


def naive_correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The textbook double loop on a reflect-101 padded ``(H, W)`` float32 image ("same" size)."""
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)), mode="reflect")
    output = np.empty_like(image)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            output[i, j] = np.sum(padded[i:i + kh, j:j + kw] * kernel)
    return output


def bench_naive(size: int = 128, ksize: int = 3, repeats: int = 3) -> dict[str, Any]:
    """The Python double loop vs `filters.correlate` on the same ``size``-square grey float32 crop.

    Times in ms: the loop's best of ``repeats``, correlate's median of 50 after warm-up;
    ``speedup`` is their ratio, ``max_abs_diff`` the largest difference of the two results.
    """
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (size, size)).astype(np.float32)
    kernel = rng.normal(size=(ksize, ksize)).astype(np.float32)
    fast = filters.correlate(image, kernel)  # compiles or loads the cached kernels
    naive_ms = min(elapsed_ms(lambda: naive_correlate(image, kernel)) for _ in range(repeats))
    ours_ms = median([elapsed_ms(lambda: filters.correlate(image, kernel, out=fast)) for _ in range(50)])
    return {"crop": [size, size], "ksize": ksize, "naive_ms": naive_ms, "ours_ms": ours_ms,
            "speedup": naive_ms / ours_ms, "max_abs_diff": float(np.abs(naive_correlate(image, kernel) - fast).max())}
