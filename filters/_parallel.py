"""Safe use of ``parallel=True`` kernels from several threads, on every Numba threading layer.

Numba's ``tbb`` and ``omp`` layers let threads launch parallel kernels at the same time.
``workqueue``, the one pip gives where there is no OpenMP or TBB (typically macOS),
aborts the whole process when two threads do ("Concurrent access has been detected").
Every public entry point that runs parallel kernels holds ``launch_lock()``: a
process-wide lock on ``workqueue``, nothing on the other layers.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Iterator

import numba
import numpy as np
from numba import njit, prange

_lock = threading.RLock()  # re-entrant: a filter may call correlate()
_layer: str | None = None


@njit(cache=True, nogil=True, parallel=True)
def _start(out):
    """A trivial parallel kernel: running it makes Numba pick and start its threading layer."""
    for i in prange(out.shape[0]):
        out[i] = i


def threading_layer() -> str:
    """The Numba threading layer of this process (``tbb``, ``omp`` or ``workqueue``), started if need be."""
    global _layer
    if _layer is None:
        with _lock:
            if _layer is None:
                _start(np.empty(1, np.int64))
                _layer = numba.threading_layer()
    return _layer


@contextmanager
def dynamic_chunks() -> Iterator[None]:
    """Inside, ``prange`` hands its chunks one at a time to whichever thread is free instead
    of splitting them up front, so one busy core does not hold the frame back (this thread only)."""
    previous = numba.set_parallel_chunksize(1)
    try:
        yield
    finally:
        numba.set_parallel_chunksize(previous)


def launch_lock() -> AbstractContextManager:
    """Hold this around calls that launch parallel kernels: serialises them only on ``workqueue``."""
    return _lock if threading_layer() == "workqueue" else nullcontext()
