"""Safe use of ``parallel=True`` kernels from several threads, on every Numba threading layer,
and chunks handed out as threads become free.

Numba's ``tbb`` and ``omp`` layers let threads launch parallel kernels at the same time.
``workqueue``, the one pip gives where there is no OpenMP or TBB (typically macOS),
aborts the whole process when two threads do ("Concurrent access has been detected").
Every public entry point that runs parallel kernels holds ``launch_lock()``: a
process-wide lock on ``workqueue``, nothing on the other layers.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

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


@intrinsic
def claim(typingctx, counter):
    """Inside a kernel: the next chunk number, atomically taken from ``counter`` (an int64
    array whose first element the caller zeroed; each call adds 1 and returns the value before).

    Numba's ``omp`` layer splits a ``prange`` between the threads up front, whatever
    ``numba.set_parallel_chunksize`` says, so a thread that wakes late (``OMP_WAIT_POLICY
    =PASSIVE``) or is preempted holds back its whole share. A kernel whose ``prange``
    iterations each claim chunks until none are left lets whichever thread is free take
    the next one, on every layer (the iterations that come later find none).
    """
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.atomic_rmw("add", data, context.get_constant(types.int64, 1), "monotonic")

    return types.int64(counter), codegen


def launch_lock() -> AbstractContextManager:
    """Hold this around calls that launch parallel kernels: serialises them only on ``workqueue``."""
    return _lock if threading_layer() == "workqueue" else nullcontext()
