"""Summary statistics and alternating timing for the benchmark (milliseconds)."""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from ..errors import ParameterError


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (mean of the two middle ones for an even count)."""
    return percentile(values, 50.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values``, linear between closest ranks (NumPy's default)."""
    if len(values) == 0:
        raise ParameterError("percentile of an empty series")
    if not 0.0 <= q <= 100.0:
        raise ParameterError(f"percentile q must be between 0 and 100, got {q!r}")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    """``{"median_ms", "p90_ms", "n"}`` of a series of milliseconds."""
    return {"median_ms": median(values_ms), "p90_ms": percentile(values_ms, 90.0), "n": len(values_ms)}


def elapsed_ms(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    """Milliseconds of one call of ``fn`` by ``clock`` (wall clock; ``time.process_time``: CPU time)."""
    start = clock()
    fn()
    return (clock() - start) * 1000.0


def time_alternating(calls: Sequence[Callable[[], object]], repeat: int, warmup: int = 2,
                     clock: Callable[[], float] = time.perf_counter) -> list[list[float]]:
    """Milliseconds of each call by ``clock``, run in turn ``repeat`` times (A, B, A, B, ...) after
    ``warmup`` rounds."""
    for _ in range(warmup):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for k, call in enumerate(calls):
            times[k].append(elapsed_ms(call, clock))
    return times
