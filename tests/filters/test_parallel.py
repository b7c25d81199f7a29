"""``filters._parallel.claim``: chunks handed out one at a time, to whichever thread is free."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba import njit, prange

from filters._parallel import claim


@njit(nogil=True, parallel=True)
def _claim_all(counter, taken, owner, heavy, sink):
    """Each prange iteration claims chunks until none are left; chunk 0 costs ``heavy`` times more."""
    n = taken.shape[0]
    for _ in prange(n):
        chunk = claim(counter)
        while chunk < n:
            taken[chunk] += 1
            owner[chunk] = numba.get_thread_id()
            total = 0.0
            for k in range(20000 * (heavy if chunk == 0 else 1)):
                total += np.sqrt(k + chunk)
            sink[chunk] = total
            chunk = claim(counter)


def test_every_chunk_is_claimed_once() -> None:
    """n chunks, n claimers: each chunk taken exactly once, and each claimer's last claim finds none (2n)."""
    n = 13
    counter, taken, owner, sink = np.zeros(1, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n)
    _claim_all(counter, taken, owner, 1, sink)
    assert (taken == 1).all()
    assert counter[0] == 2 * n


@pytest.mark.skipif(numba.get_num_threads() < 2, reason="needs 2 Numba threads")
def test_a_free_thread_takes_the_next_chunk() -> None:
    """While one thread works on a long chunk 0 (tens of ms), another takes the rest; a split made
    up front (Numba's ``omp`` prange) would leave chunks 1-3 to chunk 0's thread."""
    n = 8
    for _ in range(10):  # a thread kept off the CPU for the whole of chunk 0 would leave it all to one
        taken, owner, sink = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n)
        _claim_all(np.zeros(1, np.int64), taken, owner, 2000, sink)
        if (owner[1:] != owner[0]).any():
            break
    assert (owner[1:] != owner[0]).any(), owner
