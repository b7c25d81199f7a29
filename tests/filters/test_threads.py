"""Filters called from several threads at once, on each Numba threading layer (in subprocesses).

Numba's ``workqueue`` layer aborts the process (SIGABRT) when two threads launch parallel
kernels at the same time; the library must serialise them there and run them freely on
``omp`` and ``tbb``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import filters

ROOT = Path(filters.__file__).resolve().parents[1]

CONCURRENT = textwrap.dedent("""
    import sys, threading
    import numpy as np
    import filters

    frame = np.random.default_rng(1).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    alpha = frame[:, :, 1].copy()
    kernel = np.arange(25, dtype=np.float32).reshape(5, 5) / 300
    jobs = {
        "blur": lambda f=filters.parse("blur:ksize=9"): f(frame),
        "box": lambda f=filters.parse("box:ksize=31"): f(frame),
        "sketch": lambda f=filters.get("sketch"): f(frame),
        "correlate": lambda: filters.correlate(frame, kernel),
        "composite": lambda: filters.composite(frame, frame[::-1].copy(), alpha),
    }
    expected = {name: job() for name, job in jobs.items()}  # one thread: the reference
    print("layer", filters.threading_layer(), flush=True)
    start = threading.Barrier(len(jobs) + 1)
    wrong = []

    def hammer(name):
        start.wait()
        for _ in range(40):
            if not np.array_equal(jobs[name](), expected[name]):
                wrong.append(name)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in jobs]
    for t in threads:
        t.start()
    start.wait()
    warm = filters.warm_up_in_background()  # compiles while the others run kernels
    for t in threads + ([warm] if warm else []):
        t.join()
    print("wrong", sorted(set(wrong)))
""")


def _layer_available(layer: str) -> bool:
    if layer != "tbb":
        return True
    try:
        import tbb  # noqa: F401  (the TBB runtime Numba's tbb layer loads)
    except ImportError:
        return False
    return True


@pytest.mark.slow  # a process per threading layer
@pytest.mark.parametrize("layer", ["workqueue", "omp", "tbb"])
def test_concurrent_filter_calls_do_not_crash(layer):
    """Five threads run parallel kernels at once (and a warm-up compiles meanwhile): no abort, same results."""
    if not _layer_available(layer):
        pytest.skip(f"Numba's {layer} threading layer is not installed")
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CONCURRENT], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"layer {layer}" in proc.stdout
    assert "wrong []" in proc.stdout, proc.stdout


@pytest.mark.slow  # a process that aborts
def test_workqueue_aborts_without_the_lock():
    """The reproduction: two threads launching the raw kernels on workqueue abort the process."""
    code = textwrap.dedent("""
        import threading, time
        import numpy as np
        from filters._kernels import blend

        a = np.zeros((64, 96 * 3), np.uint8)
        alpha = np.zeros((64, 96), np.uint8)
        blend.composite(a, a, alpha, a.copy())
        start = threading.Barrier(2)

        def run():
            start.wait()
            deadline = time.monotonic() + 60  # aborts long before, as soon as two launches overlap
            while time.monotonic() < deadline:
                blend.composite(a, a, alpha, a.copy())

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    """)
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode != 0
    assert "Concurrent access has been detected" in proc.stderr
