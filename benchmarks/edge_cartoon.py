"""Speed of ``edge`` and ``cartoon`` against OpenCV doing the same (or a classic cartoon recipe).

Run ``python benchmarks/edge_cartoon.py [--repeats 30] [--cold]``. For each case and frame
size it prints the median milliseconds of ours and of the OpenCV pipeline (calls
alternate, so both see the same machine load), the ratio ours / OpenCV (below 1: we are
faster) and the median CPU milliseconds of both (all threads; steadier than wall time
on a busy machine). The cartoon has no OpenCV equivalent; its comparison is the usual
``bilateralFilter`` + ``adaptiveThreshold`` recipe, a different (noisier) look. ``--cold``
also times the first call in a fresh process with an empty Numba cache (JIT compile).
``measure`` and ``measure_cold`` return dicts so that other tools can reuse them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import filters  # noqa: E402  (sets OMP_WAIT_POLICY=PASSIVE before Numba starts its threads)

_B = cv2.BORDER_REFLECT_101
PHOTO = ROOT.parent / "shared" / "media" / "astronaut.png"


def _edge_cv(src: np.ndarray, out: np.ndarray) -> None:
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, borderType=_B)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, borderType=_B)
    cv2.cvtColor(cv2.convertScaleAbs(cv2.magnitude(gx, gy)), cv2.COLOR_GRAY2BGR, dst=out)


def _edge_color_cv(src: np.ndarray, out: np.ndarray) -> None:
    gx = cv2.Sobel(src, cv2.CV_32F, 1, 0, ksize=3, borderType=_B)
    gy = cv2.Sobel(src, cv2.CV_32F, 0, 1, ksize=3, borderType=_B)
    cv2.convertScaleAbs(cv2.magnitude(gx, gy), dst=out)


def _laplacian_cv(src: np.ndarray, out: np.ndarray) -> None:
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=1, borderType=_B)
    cv2.cvtColor(cv2.convertScaleAbs(lap), cv2.COLOR_GRAY2BGR, dst=out)


def _cartoon_cv(src: np.ndarray, out: np.ndarray) -> None:
    """The classic OpenCV cartoon: median + adaptive-threshold outlines over a bilateral filter."""
    grey = cv2.medianBlur(cv2.cvtColor(src, cv2.COLOR_BGR2GRAY), 7)
    lines = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2)
    colour = cv2.bilateralFilter(src, 9, 75, 75)
    cv2.bitwise_and(colour, colour, dst=out, mask=lines)


# filter spec -> OpenCV pipeline writing into ``out``
CASES: dict[str, Callable[[np.ndarray, np.ndarray], object]] = {
    "edge": _edge_cv,
    "edge:color=true": _edge_color_cv,
    "edge:method=laplacian,ksize=1": _laplacian_cv,
    "cartoon": _cartoon_cv,
}


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(sizes=((1280, 720), (1920, 1080)), repeats: int = 30) -> list[dict]:
    """Rows ``{filter, size, ours_ms, opencv_ms, ratio, ours_cpu_ms, opencv_cpu_ms}``.

    Medians of ``repeats`` alternating calls; ``*_cpu_ms`` is process CPU time (all threads).
    """
    photo = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR)
    rows = []
    for width, height in sizes:
        if photo is None:
            frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        else:
            frame = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
        ours_out = np.empty_like(frame)
        cv_out = np.empty_like(frame)
        for spec, opencv in CASES.items():
            ours = filters.parse(spec)
            ours(frame, out=ours_out)  # compile or load the cached kernels, allocate scratch
            opencv(frame, cv_out)
            ours_t, cv_t = [], []
            for _ in range(repeats):
                ours_t.append(_timed(lambda: ours(frame, out=ours_out)))
                cv_t.append(_timed(lambda: opencv(frame, cv_out)))
            ours_ms, ours_cpu = 1e3 * np.median(ours_t, axis=0)
            cv_ms, cv_cpu = 1e3 * np.median(cv_t, axis=0)
            rows.append({"filter": spec, "size": f"{width}x{height}", "ours_ms": ours_ms,
                         "opencv_ms": cv_ms, "ratio": ours_ms / cv_ms,
                         "ours_cpu_ms": ours_cpu, "opencv_cpu_ms": cv_cpu})
    return rows


_COLD = """
import time, numpy as np
t0 = time.perf_counter()
import filters
t1 = time.perf_counter()
frame = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
for name in ("edge", "cartoon"):
    start = time.perf_counter()
    filters.get(name)(frame)
    print(name, time.perf_counter() - start)
print("import", t1 - t0)
"""


def measure_cold() -> dict[str, float]:
    """Seconds of ``import filters`` and each filter's first call in a new process.

    Run twice with one temporary ``NUMBA_CACHE_DIR``: empty (JIT compile), then cached.
    """
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        for run in ("empty cache", "cached"):
            text = subprocess.run([sys.executable, "-c", _COLD], env=env, check=True,
                                  capture_output=True, text=True).stdout
            for line in text.splitlines():
                name, seconds = line.split()
                what = "import filters" if name == "import" else f"{name} first call"
                result[f"{what} ({run})"] = float(seconds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per case and size")
    parser.add_argument("--cold", action="store_true", help="also time JIT compilation in a new process")
    args = parser.parse_args()
    print(f"cv2 {cv2.__version__}, {cv2.getNumThreads()} OpenCV threads")
    print(f"{'filter':<32}{'size':>11}{'ours ms':>10}{'OpenCV ms':>11}{'ratio':>8}"
          f"{'ours CPU':>10}{'OpenCV CPU':>12}")
    for row in measure(repeats=args.repeats):
        print(f"{row['filter']:<32}{row['size']:>11}{row['ours_ms']:>10.2f}{row['opencv_ms']:>11.2f}"
              f"{row['ratio']:>8.2f}{row['ours_cpu_ms']:>10.2f}{row['opencv_cpu_ms']:>12.2f}")
    if args.cold:
        for name, seconds in measure_cold().items():
            print(f"{name:<36}{seconds:8.2f} s")


if __name__ == "__main__":
    main()
