"""The machine a benchmark ran on: CPU model and SIMD flags, library versions, thread settings.

Figures from different machines must never be mixed, so every result and the table's header
carry these (issue: the same filter is 0.55x OpenCV on one CPU and 1.3x on an AVX-512 one).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

#: The SIMD extensions that decide how fast the kernels and OpenCV run, as /proc/cpuinfo spells them
#: (x86 ``flags``, Arm ``Features``); LLVM's names are mapped onto these.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
              "avx512_fp16", "amx_tile", "neon", "asimd", "sve", "sve2")
_LLVM_NAMES = {"sse4.2": "sse4_2", "avx512vnni": "avx512_vnni", "avx512bf16": "avx512_bf16",
               "avx512fp16": "avx512_fp16", "amx-tile": "amx_tile"}


def cpu_info(cpuinfo: str | None = None) -> dict[str, Any]:
    """``{"model", "simd", "source"}``: the CPU model name and its SIMD flags (sorted as `SIMD_FLAGS`).

    Read from ``/proc/cpuinfo`` (or the text ``cpuinfo``); elsewhere (macOS, Windows) the
    model comes from `platform` and the flags from LLVM's host feature list (llvmlite,
    installed with Numba). ``source`` says which.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    flags = set((fields.get("flags") or fields.get("features") or "").split())
    model = fields.get("model name") or fields.get("hardware") or fields.get("cpu model") or ""
    source = "/proc/cpuinfo"
    if not flags:
        flags, source = _llvm_flags(), "llvm"
    if not model:
        model = platform.processor() or platform.machine() or "unknown"
    return {"model": model, "simd": [f for f in SIMD_FLAGS if f in flags], "source": source}


def _llvm_flags() -> set[str]:
    try:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features()
    except Exception:  # noqa: BLE001 - any failure only means "flags unknown"
        return set()
    return {_LLVM_NAMES.get(name, name) for name, on in features.items() if on}


def versions() -> dict[str, str]:
    """Python, NumPy, Numba and OpenCV versions, the machine architecture and the OS."""
    import cv2
    import numba
    import numpy as np

    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "opencv": cv2.__version__, "machine": platform.machine(), "system": platform.system()}


def thread_settings() -> dict[str, Any]:
    """Numba's threading layer and thread count, OpenCV's thread count, the CPU count."""
    import cv2
    import numba

    try:
        layer = numba.threading_layer()  # known once a parallel kernel has run
    except ValueError:
        layer = None
    return {"numba_threading_layer_config": numba.config.THREADING_LAYER, "numba_threading_layer": layer,
            "numba_threads": numba.get_num_threads(), "opencv_threads": cv2.getNumThreads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "cpu_count": os.cpu_count()}
