"""How fast is ``filters.correlate``: against the textbook Python loop and against OpenCV.

Run ``python benchmarks/naive_loop.py`` (numbers vary with machine load; medians of
alternating repeats). The naive loop itself lives in `camfilters.bench.naive`, which
``camfilters bench`` reports from too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Callable

import cv2
import numpy as np

import filters
from camfilters.bench.naive import bench_naive


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_opencv(width: int, height: int, ksize: int = 5, separable: bool = False, repeats: int = 40,
                   kernel: np.ndarray | None = None) -> dict:
    """``filters.correlate`` vs ``cv2.filter2D`` on a ``(height, width, 3) uint8`` frame.

    The kernel is random ``ksize x ksize`` (a Gaussian if ``separable``) unless ``kernel``
    is given. The two run alternately ``repeats`` times each (after warm-up) so load
    changes hit both; returns their median seconds and ``ratio`` = ours / OpenCV (below 1:
    faster).
    """
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kernel is not None:
        kernel = np.asarray(kernel, np.float32)
        ksize = kernel.shape[0]
    elif separable:
        gauss = cv2.getGaussianKernel(ksize, -1).astype(np.float32)
        kernel = gauss @ gauss.T
    else:
        kernel = rng.normal(size=(ksize, ksize)).astype(np.float32) / ksize
    ours_out, cv_out = np.empty_like(frame), np.empty_like(frame)
    filters.correlate(frame, kernel, out=ours_out)
    cv2.filter2D(frame, -1, kernel, dst=cv_out, borderType=cv2.BORDER_REFLECT_101)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(_timed(lambda: filters.correlate(frame, kernel, out=ours_out)))
        theirs.append(_timed(lambda: cv2.filter2D(frame, -1, kernel, dst=cv_out, borderType=cv2.BORDER_REFLECT_101)))
    ours_s, cv_s = float(np.median(ours)), float(np.median(theirs))
    return {
        "size": f"{width}x{height}",
        "ksize": ksize,
        "separable": separable,
        "correlate_s": ours_s,
        "opencv_s": cv_s,
        "ratio": ours_s / cv_s,
        "max_level_diff": int(np.abs(ours_out.astype(np.int16) - cv_out).max()),
    }


_STARTUP = """
import time
start = time.perf_counter()
import numpy as np
import filters
imported = time.perf_counter()
frame = np.zeros((32, 48, 3), np.uint8)
filters.correlate(frame, np.ones((5, 5)) + np.eye(5))
filters.correlate(frame, np.ones((5, 5)))
done = time.perf_counter()
print(imported - start, done - imported)
"""


def measure_startup() -> dict:
    """Seconds to import ``filters`` and run its first two ``correlate`` calls (general and
    separable) in a fresh process: cold (empty Numba cache) and warm (cache filled)."""
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for run in ("cold", "warm"):
            text = subprocess.run([sys.executable, "-c", _STARTUP], env=env, check=True,
                                  capture_output=True, text=True).stdout
            imported, first_calls = map(float, text.split())
            result[run] = {"import_s": imported, "first_calls_s": first_calls}
    return result


def main() -> None:
    for ksize in (3, 5):
        r = bench_naive(128, ksize)
        print(f"128x128 grey {ksize}x{ksize}: python loop {r['naive_ms']:8.1f} ms, "
              f"correlate {r['ours_ms']:6.3f} ms, speed-up {r['speedup']:8.0f}x "
              f"(max diff {r['max_abs_diff']:.1e})")
    sharpen = filters.get("kernel").k.array  # the kernel filter's default: integer 3x3
    for width, height in ((1280, 720), (1920, 1080)):
        r = measure_opencv(width, height, kernel=sharpen)
        print(f"{r['size']:>9} BGR  3x3  sharpen  : correlate {r['correlate_s'] * 1e3:6.2f} ms, "
              f"cv2.filter2D {r['opencv_s'] * 1e3:6.2f} ms, ratio {r['ratio']:.2f} "
              f"(max diff {r['max_level_diff']} level)")
        for ksize, separable in ((3, False), (5, False), (5, True), (15, True), (15, False)):
            r = measure_opencv(width, height, ksize, separable)
            kind = "separable" if separable else "general"
            print(f"{r['size']:>9} BGR {ksize:2d}x{ksize:<2d} {kind:9}: correlate {r['correlate_s'] * 1e3:6.2f} ms, "
                  f"cv2.filter2D {r['opencv_s'] * 1e3:6.2f} ms, ratio {r['ratio']:.2f} "
                  f"(max diff {r['max_level_diff']} level)")
    startup = measure_startup()
    for run, r in startup.items():
        print(f"startup {run}: import filters {r['import_s']:.2f} s, first correlate calls {r['first_calls_s']:.2f} s")


if __name__ == "__main__":
    main()
