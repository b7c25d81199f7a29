"""Run ``camfilters bench``: the chosen sections in order, one JSON-ready result, the table and the JSON file."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filters

from ..media.atomic import write_bytes
from .jit import bench_jit
from .lenses import bench_lenses
from .live import bench_encoder, bench_live
from .machine import cpu_info, thread_settings, versions
from .naive import bench_naive
from .opencv import bench_filter, bench_frame, filter_specs, one_thread
from .options import BenchOptions, resolve_options
from .recipes import OPENCV_EQUIVALENTS
from .table import format_table
from .targets import evaluate_targets

log = logging.getLogger(__name__)


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    """Run the chosen sections; return the results as a JSON-ready dict (``cpu`` and ``targets`` included)."""
    result: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "cpu": cpu_info(),
        "settings": {"filters": opts.filters, "sizes": [list(s) for s in opts.sizes], "repeat": opts.repeat,
                     "sections": list(opts.sections), "source": opts.source, "quick": opts.quick,
                     "ksizes": list(opts.ksizes), "cpu_time": opts.cpu_time},
        "equivalents": {n: OPENCV_EQUIVALENTS[n].description for n in opts.filters if n in OPENCV_EQUIVALENTS},
    }
    if "jit" in opts.sections:  # first, while this process leaves the CPU to the subprocesses
        log.info("JIT start-up: compiling every filter in a process with an empty cache, then loading them")
        result["jit"] = bench_jit(opts.filters, opts.loop_size)
    log.info("warming up the filters: compiling their kernels (after an install or upgrade; up to a minute) "
             "or loading them from Numba's cache")
    result["warm_up_s"] = filters.warm_up(opts.filters)
    if (seconds := sum(result["warm_up_s"].values())) > 2.0:
        log.info("compiled in %.0f s; cached for the next run", seconds)
    if "opencv" in opts.sections:
        rows = result["filters"] = []
        with one_thread() if opts.cpu_time else nullcontext():
            for size in opts.sizes:
                frame = bench_frame(size, opts.source)
                for spec in filter_specs(opts.filters, opts.ksizes):
                    log.debug("%s at %dx%d", spec, *size)
                    rows.append(bench_filter(spec, frame, opts.repeat, opts.cpu_time))
    if "naive" in opts.sections:
        log.debug("naive Python loop vs filters.correlate")
        result["naive"] = bench_naive(opts.naive_size)
    if "live" in opts.sections:
        runs = result["live"] = []
        with tempfile.TemporaryDirectory(prefix="camfilters-bench-") as folder:
            result["encoder"] = bench_encoder(opts.loop_size, opts.loop_fps, Path(folder))
            for name in opts.filters:
                log.debug("live loop: %s", name)
                runs.append(bench_live(name, size=opts.loop_size, fps=opts.loop_fps, seconds=opts.loop_seconds,
                                       window=opts.window, folder=Path(folder), source=opts.source))
    if "lenses" in opts.sections:
        log.debug("face lenses")
        result["lenses"] = bench_lenses(bench_frame(opts.loop_size, opts.source), opts.repeat)
    result["threads"] = thread_settings()
    result["targets"] = evaluate_targets(result)
    return result


def main(args: argparse.Namespace) -> int:
    """Run ``camfilters bench`` with parsed ``args``; print the table, write the JSON; return 0.

    Every option, and the ``--json`` folder, is checked before anything is measured.
    """
    result = run_bench(resolve_options(args))
    table = format_table(result)
    if args.json == "-":
        print(table, file=sys.stderr)
        print(json.dumps(result, indent=2))
    else:
        print(table)
        if args.json:
            write_bytes(Path(args.json).expanduser(), (json.dumps(result, indent=2) + "\n").encode(),
                        overwrite=getattr(args, "overwrite", False), what=f"--json {args.json}")
            log.info("wrote %s", args.json)
    return 0
