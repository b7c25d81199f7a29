"""Section ``opencv``: each filter against its OpenCV equivalent, alternately on one natural-looking frame."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import cv2
import numba
import numpy as np

import filters

from ..capture import open_source
from ..demo import DemoScene
from ..errors import ParameterError, SourceError
from .recipes import OPENCV_EQUIVALENTS, Frame
from .stats import summary, time_alternating

FRAME_TIME_S = 0.25  # demo-scene time of the benchmark frame (balls, star and checker in view)
FRAME_WALL = 43200.0  # a fixed clock reading for the demo frame, so every run times the same picture


def bench_frame(size: tuple[int, int], source: str = "demo") -> Frame:
    """A natural-looking ``(H, W, 3) uint8 BGR`` frame of ``size`` (width, height).

    ``source="demo"``: the demo scene at a fixed time; otherwise the first frame of that
    ``--source`` (file, camera, stream), resized with INTER_AREA.
    """
    width, height = size
    if source == "demo":
        frame = np.empty((height, width, 3), np.uint8)
        return DemoScene(width, height).render(frame, FRAME_TIME_S, wall=FRAME_WALL)
    with open_source(source, realtime=False) as src:
        first = src.read()
    if first is None:
        raise SourceError(f"{source} gave no frame to benchmark on")
    return np.ascontiguousarray(cv2.resize(first.image, size, interpolation=cv2.INTER_AREA))


def filter_specs(names: list[str], ksizes: tuple[int, ...] = ()) -> list[str]:
    """``names``, each followed by ``NAME:ksize=N`` for every N in ``ksizes`` that the filter
    takes (it has a ``ksize`` option, N is not its default and passes its check)."""
    specs = []
    for name in names:
        specs.append(name)
        option = next((o for o in filters.filter_class(name).options if o.name == "ksize"), None)
        for ksize in ksizes if option is not None else ():
            if ksize == option.default:
                continue
            try:
                filters.get(name, ksize=ksize)
            except ParameterError:  # a size this filter does not take (edge: 1 to 7)
                continue
            specs.append(f"{name}:ksize={ksize}")
    return specs


@contextmanager
def one_thread() -> Iterator[None]:
    """Numba and OpenCV on one thread inside (for ``--cpu-time``), their thread counts restored after."""
    numba_threads, cv_threads = numba.get_num_threads(), cv2.getNumThreads()
    numba.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        numba.set_num_threads(numba_threads)
        cv2.setNumThreads(cv_threads)


def bench_filter(spec: str, frame: Frame, repeat: int, cpu_time: bool = False) -> dict[str, Any]:
    """Our filter ``spec`` (a name, or ``NAME:key=value,...``) and its OpenCV equivalent, alternately on ``frame``.

    Returns ms statistics for both, ``ratio`` = ours / OpenCV medians, and ``mean_abs_diff``
    between the two outputs (levels of 0..255); the OpenCV keys are None without an equivalent.
    ``cpu_time``: the process's CPU time instead of the wall clock (run it under `one_thread`).
    """
    name = spec.partition(":")[0]
    flt = filters.parse(spec)
    ours_out = np.empty_like(frame)
    calls: list[Callable[[], object]] = [lambda: flt(frame, out=ours_out)]
    equivalent = OPENCV_EQUIVALENTS.get(name)
    if equivalent is not None:
        cv_run, cv_out = equivalent.build(flt), np.empty_like(frame)
        calls.append(lambda: cv_run(frame, cv_out))
    times = time_alternating(calls, repeat, clock=time.process_time if cpu_time else time.perf_counter)
    result: dict[str, Any] = {"filter": spec, "size": [frame.shape[1], frame.shape[0]], "ours": summary(times[0]),
                              "opencv": None, "ratio": None, "mean_abs_diff": None}
    if equivalent is not None:
        result["opencv"] = summary(times[1])
        result["ratio"] = result["ours"]["median_ms"] / result["opencv"]["median_ms"]
        result["mean_abs_diff"] = float(np.abs(ours_out.astype(np.int16) - cv_out.astype(np.int16)).mean())
    return result
