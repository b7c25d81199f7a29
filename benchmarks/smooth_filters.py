"""Speed of the smoothing filters against the same operation in OpenCV, in one process.

Run ``python benchmarks/smooth_filters.py [--repeats 30]``. For each filter and frame size
it prints the median milliseconds of ours and of OpenCV's equivalent (calls alternate, so
both see the same machine load) and the ratio ours / OpenCV (below 1: we are faster).
``measure`` returns the rows so that other tools can reuse them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import filters  # noqa: E402  (sets OMP_WAIT_POLICY=PASSIVE before Numba starts its threads)

_B = cv2.BORDER_REFLECT_101
_EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)


def _sketch_cv(src: np.ndarray, out: np.ndarray) -> None:
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY)
    blurred = cv2.GaussianBlur(255 - grey, (21, 21), 0, borderType=_B)
    cv2.cvtColor(cv2.divide(grey, 255 - blurred, scale=256), cv2.COLOR_GRAY2BGR, dst=out)


def _sharpen_cv(src: np.ndarray, out: np.ndarray) -> None:
    blurred = cv2.GaussianBlur(src, (5, 5), 0, borderType=_B)
    cv2.addWeighted(src, 2.0, blurred, -1.0, 0, dst=out)


# filter spec -> OpenCV doing the same, writing into ``out``
CASES: dict[str, Callable[[np.ndarray, np.ndarray], object]] = {
    "blur": lambda s, o: cv2.GaussianBlur(s, (5, 5), 0, dst=o, borderType=_B),
    "box": lambda s, o: cv2.blur(s, (9, 9), dst=o, borderType=_B),
    "sharpen": _sharpen_cv,
    "emboss": lambda s, o: cv2.filter2D(s, -1, _EMBOSS, dst=o, borderType=_B),
    "sketch": _sketch_cv,
}


def measure(sizes=((1280, 720), (1920, 1080)), repeats: int = 30) -> list[dict]:
    """Rows ``{filter, size, ours_ms, opencv_ms, ratio}``: medians of ``repeats`` alternating calls."""
    rng = np.random.default_rng(0)
    rows = []
    for width, height in sizes:
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        ours_out = np.empty_like(frame)
        cv_out = np.empty_like(frame)
        for spec, opencv in CASES.items():
            ours = filters.parse(spec)
            ours(frame, out=ours_out)  # compile or load the cached kernels, allocate scratch
            opencv(frame, cv_out)
            ours_t, cv_t = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                ours(frame, out=ours_out)
                ours_t.append(time.perf_counter() - start)
                start = time.perf_counter()
                opencv(frame, cv_out)
                cv_t.append(time.perf_counter() - start)
            ours_ms = 1e3 * float(np.median(ours_t))
            cv_ms = 1e3 * float(np.median(cv_t))
            rows.append({"filter": spec, "size": f"{width}x{height}", "ours_ms": ours_ms,
                         "opencv_ms": cv_ms, "ratio": ours_ms / cv_ms})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per filter and size")
    args = parser.parse_args()
    print(f"cv2 {cv2.__version__}, {cv2.getNumThreads()} OpenCV threads")
    print(f"{'filter':<9}{'size':>11}{'ours ms':>10}{'OpenCV ms':>11}{'ratio':>8}")
    for row in measure(repeats=args.repeats):
        print(f"{row['filter']:<9}{row['size']:>11}{row['ours_ms']:>10.2f}"
              f"{row['opencv_ms']:>11.2f}{row['ratio']:>8.2f}")


if __name__ == "__main__":
    main()
