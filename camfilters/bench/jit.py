"""Section ``jit``: process start to the first filtered frame, with an empty Numba cache (cold) and a filled one (warm)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import CamfiltersError

CHILD = Path(__file__).with_name("jit_child.py")


def _first_frame_run(names: list[str], cache_dir: str, size: tuple[int, int]) -> dict[str, Any]:
    """Start a fresh Python with NUMBA_CACHE_DIR=``cache_dir``; time process start to the first filtered frames."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir,
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    spawned = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD.read_text(), json.dumps([names, *size])], capture_output=True,
                          text=True, env=env, timeout=900)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CamfiltersError(f"the JIT start-up subprocess failed (exit {proc.returncode}): {last}")
    t = json.loads(proc.stdout.strip().splitlines()[-1])
    frame_s = t["ready"] - t["warmed"]  # making the test frame: not part of the app's start-up
    return {
        "start_to_first_frame_s": t["done"] - spawned - frame_s,
        "interpreter_s": t["started"] - spawned,
        "import_s": t["imported"] - t["started"],
        "warm_up_s": t["warmed"] - t["imported"],
        "warm_up_per_filter_s": t["warm_up_s"],
        "first_frame_ms": t["first_frame_ms"],
    }


def bench_jit(names: list[str], size: tuple[int, int] = (1280, 720)) -> dict[str, Any]:
    """Cold (empty Numba cache) then warm (same cache) start: process start to one ``size`` frame per filter."""
    with tempfile.TemporaryDirectory(prefix="camfilters-numba-cache-") as cache_dir:
        cold = _first_frame_run(names, cache_dir, size)
        warm = _first_frame_run(names, cache_dir, size)
    return {"filters": names, "size": list(size), "cold": cold, "warm": warm}
