"""``camfilters bench``: our filters against OpenCV, the live loop end to end, JIT start-up.

Four sections, each optional (``--sections``):

- ``opencv``: per filter and frame size, ms per frame for our filter and for its OpenCV
  equivalent (`OPENCV_EQUIVALENTS`), timed alternately on the same natural-looking frame
  (the demo scene, or a frame of ``--source``), with the ratio ours / OpenCV of the medians
  and the mean absolute difference between the two outputs (levels of 0..255);
- ``naive``: the pure-Python double loop ``out[i, j] = np.sum(img[i:i+kh, j:j+kw] * k)``
  against `filters.correlate` on the same grey image and kernel;
- ``live``: `camfilters.live.LiveSession` per filter (demo source, recording to a temporary
  ``.mp4``, no window unless ``--window``): sustained fps, capture-to-output latency, frames
  dropped by the source, frames recorded vs processed, CPU use, and where the time goes;
- ``jit``: process start to the first filtered frame with an empty Numba cache (cold) and
  again with the cache that run filled (warm), each in a fresh subprocess.

The result is one JSON-ready dict (`run_bench`), printed as a table (`format_table`) with
the speed targets (`evaluate_targets`) marked met or not. Times are wall-clock milliseconds unless a key says ``_s``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numba
import numpy as np

import filters

from .argtypes import frame_size_at_least, positive
from .capture import open_source
from .demo import DemoScene
from .errors import CamfiltersError, ParameterError, SourceError

log = logging.getLogger("camfilters")

SECTIONS = ("opencv", "naive", "live", "lenses", "jit")
DEFAULT_SIZES = ((1280, 720), (1920, 1080))
QUICK_SIZES = ((320, 180),)
TARGET_SIZE = (1920, 1080)
FRAME_TIME_S = 0.25  # demo-scene time of the benchmark frame (balls, star and checker in view)
FRAME_WALL = 43200.0  # a fixed clock reading for the demo frame, so every run times the same picture

Frame = np.ndarray  # (H, W, 3) uint8 BGR
OpenCVFunc = Callable[[Frame, Frame], Frame]  # fills and returns ``out``


# -- statistics ---------------------------------------------------------------------------------
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


def time_alternating(calls: Sequence[Callable[[], object]], repeat: int, warmup: int = 2) -> list[list[float]]:
    """Milliseconds of each call, run in turn ``repeat`` times (A, B, A, B, ...) after ``warmup`` rounds."""
    for _ in range(warmup):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for k, call in enumerate(calls):
            start = time.perf_counter()
            call()
            times[k].append((time.perf_counter() - start) * 1000.0)
    return times


# -- OpenCV equivalents -------------------------------------------------------------------------
class _Scratch:
    """Named scratch arrays for an OpenCV recipe, reallocated only when the frame shape changes."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def __call__(self, key: str, shape: tuple[int, ...], dtype: Any = np.uint8) -> np.ndarray:
        buf = self._arrays.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._arrays[key] = np.empty(shape, dtype)
        return buf


_BORDER = cv2.BORDER_REFLECT_101


def _edge(flt: filters.Filter) -> OpenCVFunc:
    method, ksize, threshold, color, scale = flt.method, flt.ksize, flt.threshold, flt.color, flt.scale
    s = _Scratch()

    def run(src: Frame, out: Frame) -> Frame:
        h, w = src.shape[:2]
        if color:
            img, mag_u8 = src, out
        else:
            img = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
            mag_u8 = s("edge", (h, w))
        shape = img.shape
        if method == "laplacian":
            mag = cv2.Laplacian(img, cv2.CV_32F, dst=s("mag", shape, np.float32), ksize=ksize, borderType=_BORDER)
        else:
            gx, gy = s("gx", shape, np.float32), s("gy", shape, np.float32)
            if method == "scharr":
                cv2.Scharr(img, cv2.CV_32F, 1, 0, dst=gx, borderType=_BORDER)
                cv2.Scharr(img, cv2.CV_32F, 0, 1, dst=gy, borderType=_BORDER)
            else:
                cv2.Sobel(img, cv2.CV_32F, 1, 0, dst=gx, ksize=ksize, borderType=_BORDER)
                cv2.Sobel(img, cv2.CV_32F, 0, 1, dst=gy, ksize=ksize, borderType=_BORDER)
            flat = (h, -1)  # magnitude wants matching single-channel-like 2-D arrays
            mag = cv2.magnitude(gx.reshape(flat), gy.reshape(flat), s("mag", (h, gx.size // h), np.float32))
        cv2.convertScaleAbs(mag.reshape(h, -1), dst=mag_u8.reshape(h, -1), alpha=scale)
        if threshold is not None:
            cv2.threshold(mag_u8, threshold, 255, cv2.THRESH_BINARY, dst=mag_u8)
        if not color:
            cv2.cvtColor(mag_u8, cv2.COLOR_GRAY2BGR, dst=out)
        return out

    return run


def _blur(flt: filters.Filter) -> OpenCVFunc:
    ksize, sigma = flt.ksize, flt.sigma

    def run(src: Frame, out: Frame) -> Frame:
        return cv2.GaussianBlur(src, (ksize, ksize), sigma, dst=out, borderType=_BORDER)

    return run


def _box(flt: filters.Filter) -> OpenCVFunc:
    ksize = flt.ksize

    def run(src: Frame, out: Frame) -> Frame:
        return cv2.blur(src, (ksize, ksize), dst=out, borderType=_BORDER)

    return run


def _sharpen(flt: filters.Filter) -> OpenCVFunc:
    ksize, sigma, amount = flt.ksize, flt.sigma, flt.amount
    s = _Scratch()

    def run(src: Frame, out: Frame) -> Frame:
        blurred = cv2.GaussianBlur(src, (ksize, ksize), sigma, dst=s("blur", src.shape), borderType=_BORDER)
        return cv2.addWeighted(src, 1.0 + amount, blurred, -amount, 0.0, dst=out)

    return run


def _emboss(flt: filters.Filter) -> OpenCVFunc:
    strength, gray = flt.strength, flt.gray
    kernel = np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], np.float32) * np.float32(strength)
    kernel[1, 1] = 0.0 if gray else 1.0
    s = _Scratch()

    def run(src: Frame, out: Frame) -> Frame:
        if not gray:
            return cv2.filter2D(src, -1, kernel, dst=out, borderType=_BORDER)
        h, w = src.shape[:2]
        grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
        relief = cv2.filter2D(grey, -1, kernel, dst=s("relief", (h, w)), delta=128.0, borderType=_BORDER)
        return cv2.cvtColor(relief, cv2.COLOR_GRAY2BGR, dst=out)

    return run


def _sketch(flt: filters.Filter) -> OpenCVFunc:
    ksize, sigma = flt.ksize, flt.sigma
    s = _Scratch()

    def run(src: Frame, out: Frame) -> Frame:
        h, w = src.shape[:2]
        grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
        inv = cv2.bitwise_not(grey, dst=s("inv", (h, w)))
        blurred = cv2.GaussianBlur(inv, (ksize, ksize), sigma, dst=s("blur", (h, w)), borderType=_BORDER)
        cv2.bitwise_not(blurred, dst=blurred)
        sketch = cv2.divide(grey, blurred, dst=s("sketch", (h, w)), scale=256.0)
        return cv2.cvtColor(sketch, cv2.COLOR_GRAY2BGR, dst=out)

    return run


_CV_BORDERS = {"constant": cv2.BORDER_CONSTANT, "zero": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT,
               "reflect101": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE, "wrap": cv2.BORDER_WRAP}


def _kernel(flt: filters.Filter) -> OpenCVFunc:
    weights = np.array(flt.k.array, np.float64)
    if flt.normalize:
        weights = weights / weights.sum()
    weights = weights.astype(np.float32)
    border = _CV_BORDERS[flt.border]

    def run(src: Frame, out: Frame) -> Frame:
        return cv2.filter2D(src, -1, weights, dst=out, borderType=border)

    return run


def _identity(flt: filters.Filter) -> OpenCVFunc:  # noqa: ARG001 - no options
    def run(src: Frame, out: Frame) -> Frame:
        np.copyto(out, src)
        return out

    return run


def _cartoon(flt: filters.Filter) -> OpenCVFunc:  # noqa: ARG001 - a fixed recipe: our options do not map onto it
    s = _Scratch()

    def run(src: Frame, out: Frame) -> Frame:
        h, w = src.shape[:2]
        grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
        smooth = cv2.medianBlur(grey, 7, dst=s("median", (h, w)))
        edges = cv2.adaptiveThreshold(smooth, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2,
                                      dst=s("edges", (h, w)))
        colour = cv2.bilateralFilter(src, 9, 75, 75, dst=s("colour", src.shape))
        out[...] = 0
        return cv2.bitwise_and(colour, colour, dst=out, mask=edges)

    return run


@dataclass(frozen=True)
class Equivalent:
    """The OpenCV way to compute a filter; ``build(filter)`` reads its options, returns ``run(src, out) -> out``."""

    description: str
    build: Callable[[filters.Filter], OpenCVFunc]


#: Filter name -> its OpenCV equivalent, reading the filter's options where it has them.
OPENCV_EQUIVALENTS: dict[str, Equivalent] = {
    "blur": Equivalent("GaussianBlur ksize x ksize (5x5), sigma from ksize", _blur),
    "box": Equivalent("cv2.blur ksize x ksize (9x9)", _box),
    "cartoon": Equivalent("bilateralFilter(9, 75, 75) + cvtColor + medianBlur 7 + adaptiveThreshold(mean, 9, 2)"
                          " + bitwise_and (the classic recipe; ours is another algorithm, hence the diff)", _cartoon),
    "edge": Equivalent("cvtColor BGR2GRAY + Sobel dx, dy CV_32F ksize 3 + magnitude + convertScaleAbs"
                       " + cvtColor GRAY2BGR", _edge),
    "emboss": Equivalent("filter2D 3x3 emboss kernel (gray: cvtColor + filter2D delta 128 + cvtColor)", _emboss),
    "identity": Equivalent("np.copyto", _identity),
    "kernel": Equivalent("filter2D with the same kernel and border", _kernel),
    "sharpen": Equivalent("GaussianBlur + addWeighted (unsharp mask)", _sharpen),
    "sketch": Equivalent("cvtColor + bitwise_not + GaussianBlur 21x21 + divide(scale 256) + cvtColor", _sketch),
}


# -- the benchmark frame ------------------------------------------------------------------------
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


# -- section 1: our filters against OpenCV ------------------------------------------------------
def bench_filter(name: str, frame: Frame, repeat: int) -> dict[str, Any]:
    """Our filter ``name`` (default options) and its OpenCV equivalent, alternately on ``frame``."""
    flt = filters.get(name)
    ours_out = np.empty_like(frame)
    calls: list[Callable[[], object]] = [lambda: flt(frame, out=ours_out)]
    equivalent = OPENCV_EQUIVALENTS.get(name)
    if equivalent is not None:
        cv_run, cv_out = equivalent.build(flt), np.empty_like(frame)
        calls.append(lambda: cv_run(frame, cv_out))
    times = time_alternating(calls, repeat)
    result: dict[str, Any] = {"filter": name, "size": [frame.shape[1], frame.shape[0]], "ours": summary(times[0]),
                              "opencv": None, "ratio": None, "mean_abs_diff": None}
    if equivalent is not None:
        result["opencv"] = summary(times[1])
        result["ratio"] = result["ours"]["median_ms"] / result["opencv"]["median_ms"]
        result["mean_abs_diff"] = float(np.abs(ours_out.astype(np.int16) - cv_out.astype(np.int16)).mean())
    return result


# -- section 2: the naive Python loop -----------------------------------------------------------
def naive_correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The textbook double loop on a reflect-101 padded ``(H, W)`` float32 image ("same" size)."""
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)), mode="reflect")
    output = np.empty_like(image)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            output[i, j] = np.sum(padded[i:i + kh, j:j + kw] * kernel)
    return output


def bench_naive(size: int = 128, ksize: int = 3, repeats: int = 3) -> dict[str, Any]:
    """The Python double loop vs `filters.correlate` on the same ``size``-square grey float32 crop.

    Times in ms: the loop's best of ``repeats``, correlate's median of 50 after warm-up;
    ``speedup`` is their ratio, ``max_abs_diff`` the largest difference of the two results.
    """
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (size, size)).astype(np.float32)
    kernel = rng.normal(size=(ksize, ksize)).astype(np.float32)
    fast = filters.correlate(image, kernel)  # compiles or loads the cached kernels
    naive_ms = min(_elapsed_ms(lambda: naive_correlate(image, kernel)) for _ in range(repeats))
    ours_ms = median([_elapsed_ms(lambda: filters.correlate(image, kernel, out=fast)) for _ in range(50)])
    return {"crop": [size, size], "ksize": ksize, "naive_ms": naive_ms, "ours_ms": ours_ms,
            "speedup": naive_ms / ours_ms, "max_abs_diff": float(np.abs(naive_correlate(image, kernel) - fast).max())}


def _elapsed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


# -- section 3: the live loop -------------------------------------------------------------------
def count_video_frames(path: Path) -> int:
    """The number of frames in the video file at ``path`` (its video packets: one per frame)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def bench_live(name: str, *, size: tuple[int, int], fps: float, seconds: float, window: bool,
               folder: Path, source: str = "demo") -> dict[str, Any]:
    """One `LiveSession`: ``source`` at ``size`` and ``fps`` through filter ``name``, recorded to ``folder``."""
    from .live import LiveOptions, LiveSession

    record = folder / f"bench-{name}.mp4"
    options = LiveOptions(filters=[name], source=source, size=size, fps=fps, record=record, window=window,
                          duration=seconds, output_dir=folder)
    stats = LiveSession(options).run()
    stages = {stage: summary(list(ms)) for stage, ms in stats.stage_ms.items() if ms}
    return {
        "filter": name, "size": list(size), "source_fps": fps, "seconds": stats.seconds, "frames": stats.frames,
        "fps": stats.fps, "latency": summary(list(stats.latencies_ms)) if stats.latencies_ms else None,
        "dropped": stats.dropped, "recorded": stats.frames_recorded, "recorded_in_file": count_video_frames(record),
        "cpu_percent": stats.cpu_percent, "window": window, "stages": stages,
    }


def bench_encoder(size: tuple[int, int], fps: float, folder: Path, frames: int = 60) -> dict[str, Any]:
    """What the recorder's writer thread spends per frame: encode ``frames`` demo frames to ``.mp4``.

    Wall and process CPU time per frame, the final flush included (libx264 encodes on its
    own threads, so one ``encode`` call says little).
    """
    from .recording import LIVE_PRESET, VideoOutput

    width, height = size
    scene, image = DemoScene(width, height), np.empty((height, width, 3), np.uint8)
    output = VideoOutput(folder / "bench-encoder.mp4", size, Fraction(fps).limit_denominator(1001), preset=LIVE_PRESET)
    ticks = max(1, round(1 / (fps * output.time_base)))
    spent = np.zeros(2)  # wall, CPU seconds

    def timed(call: Callable[[], object]) -> None:
        start = np.array([time.perf_counter(), time.process_time()])
        call()
        spent[:] += np.array([time.perf_counter(), time.process_time()]) - start

    try:
        for k in range(frames):
            scene.render(image, k / fps, index=k, wall=FRAME_WALL)
            timed(lambda: output.encode(image, k * ticks, ticks))
        timed(output.close)  # flushes the frames still inside the encoder
    finally:
        output.close()
    wall, cpu = map(float, spent)
    return {"size": list(size), "preset": LIVE_PRESET, "frames": frames,
            "wall_ms_per_frame": wall * 1000.0 / frames, "cpu_ms_per_frame": cpu * 1000.0 / frames}


# -- section 4: JIT start-up --------------------------------------------------------------------
_JIT_CHILD = """
import json, sys, time
names, width, height = json.loads(sys.argv[1])
started = time.time()
import numpy as np
import cv2
import filters
imported = time.time()
warm = filters.warm_up(names)
warmed = time.time()
frame = cv2.resize(np.random.default_rng(0).integers(0, 256, (height // 8, width // 8, 3), np.uint8),
                   (width, height), interpolation=cv2.INTER_LINEAR)
ready = time.time()
first_ms = {}
for name in names:
    flt = filters.get(name)
    start = time.perf_counter()
    flt(frame)
    first_ms[name] = (time.perf_counter() - start) * 1000.0
print(json.dumps({"started": started, "imported": imported, "warmed": warmed, "ready": ready,
                  "done": time.time(), "warm_up_s": warm, "first_frame_ms": first_ms}))
"""


def _first_frame_run(names: list[str], cache_dir: str, size: tuple[int, int]) -> dict[str, Any]:
    """Start a fresh Python with NUMBA_CACHE_DIR=``cache_dir``; time process start to the first filtered frames."""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir,
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    spawned = time.time()
    proc = subprocess.run([sys.executable, "-c", _JIT_CHILD, json.dumps([names, *size])], capture_output=True,
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


# -- environment and targets --------------------------------------------------------------------
def thread_settings() -> dict[str, Any]:
    """Numba's threading layer and thread count, OpenCV's thread count, the CPU count."""
    try:
        layer = numba.threading_layer()  # known once a parallel kernel has run
    except ValueError:
        layer = None
    return {"numba_threading_layer_config": numba.config.THREADING_LAYER, "numba_threading_layer": layer,
            "numba_threads": numba.get_num_threads(), "opencv_threads": cv2.getNumThreads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "cpu_count": os.cpu_count()}


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "opencv": cv2.__version__, "machine": platform.machine(), "system": platform.system()}


SPEED_LIMITS_MS = {"cartoon": 33.0, "edge": 8.0, "blur": 8.0, "sharpen": 8.0}
WARM_START_LIMIT_S = 1.5
LATENCY_FRAMES = 1.5  # capture-to-output latency budget, in frame times of the source


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's speed targets, each ``{"name", "value", "limit", "unit", "met"}``, for what was measured."""
    targets: list[dict[str, Any]] = []

    def add(name: str, value: float, limit: float, unit: str, met: bool) -> None:
        targets.append({"name": name, "value": value, "limit": limit, "unit": unit, "met": bool(met)})

    rows = result.get("filters") or []
    if rows:
        sizes = {tuple(r["size"]) for r in rows}
        at = TARGET_SIZE if TARGET_SIZE in sizes else max(sizes, key=lambda s: s[0] * s[1])
        label = f"{at[0]}x{at[1]}"
        for row in (r for r in rows if tuple(r["size"]) == at):
            if row["ratio"] is not None:
                add(f"{row['filter']} <= 1.0x OpenCV at {label}", row["ratio"], 1.0, "x", row["ratio"] <= 1.0)
            limit = SPEED_LIMITS_MS.get(row["filter"])
            if limit is not None:
                ms = row["ours"]["median_ms"]
                add(f"{row['filter']} <= {limit:g} ms at {label}", ms, limit, "ms", ms <= limit)
    for run in result.get("live") or []:
        if run["filter"] != "edge":
            continue
        fps, (w, h) = run["source_fps"], run["size"]
        where = f"live edge + recording, {w}x{h} @ {fps:g} fps"
        add(f"{where}: sustained fps >= {fps:g} (within 1%)", run["fps"], fps, "fps", run["fps"] >= 0.99 * fps)
        if run["latency"] is not None:
            budget = LATENCY_FRAMES * 1000.0 / fps
            lat = run["latency"]["median_ms"]
            add(f"{where}: latency <= {LATENCY_FRAMES:g} frame times", lat, budget, "ms", lat <= budget)
        add(f"{where}: source frames dropped == 0", run["dropped"], 0, "frames", run["dropped"] == 0)
        add(f"{where}: recorded == processed ({run['frames']})", run["recorded_in_file"], run["frames"], "frames",
            run["recorded"] == run["frames"] == run["recorded_in_file"])
    jit = result.get("jit")
    if jit:
        warm = jit["warm"]["start_to_first_frame_s"]
        add(f"warm start to first filtered frame <= {WARM_START_LIMIT_S:g} s", warm, WARM_START_LIMIT_S, "s",
            warm <= WARM_START_LIMIT_S)
    return targets


# -- the whole run ------------------------------------------------------------------------------
@dataclass
class BenchOptions:
    """What to measure (see ``camfilters bench --help``); `resolve_options` fills the defaults."""

    filters: list[str]
    sizes: list[tuple[int, int]]
    repeat: int
    sections: tuple[str, ...] = SECTIONS
    source: str = "demo"
    loop_size: tuple[int, int] = (1280, 720)
    loop_fps: float = 60.0
    loop_seconds: float = 5.0
    window: bool = False
    naive_size: int = 128
    quick: bool = False


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    """Run the chosen sections; return the results as a JSON-ready dict (``targets`` included)."""
    result: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "settings": {"filters": opts.filters, "sizes": [list(s) for s in opts.sizes], "repeat": opts.repeat,
                     "sections": list(opts.sections), "source": opts.source, "quick": opts.quick},
        "equivalents": {n: OPENCV_EQUIVALENTS[n].description for n in opts.filters if n in OPENCV_EQUIVALENTS},
    }
    if "jit" in opts.sections:  # first, while this process leaves the CPU to the subprocesses
        log.info("JIT start-up: cold and warm subprocesses")
        result["jit"] = bench_jit(opts.filters, opts.loop_size)
    result["warm_up_s"] = filters.warm_up(opts.filters)
    if "opencv" in opts.sections:
        rows = result["filters"] = []
        for size in opts.sizes:
            frame = bench_frame(size, opts.source)
            for name in opts.filters:
                log.info("%s at %dx%d", name, *size)
                rows.append(bench_filter(name, frame, opts.repeat))
    if "naive" in opts.sections:
        log.info("naive Python loop vs filters.correlate")
        result["naive"] = bench_naive(opts.naive_size)
    if "live" in opts.sections:
        runs = result["live"] = []
        with tempfile.TemporaryDirectory(prefix="camfilters-bench-") as folder:
            result["encoder"] = bench_encoder(opts.loop_size, opts.loop_fps, Path(folder))
            for name in opts.filters:
                log.info("live loop: %s", name)
                runs.append(bench_live(name, size=opts.loop_size, fps=opts.loop_fps, seconds=opts.loop_seconds,
                                       window=opts.window, folder=Path(folder), source=opts.source))
    if "lenses" in opts.sections:
        log.info("face lenses")
        result["lenses"] = bench_lenses(bench_frame(opts.loop_size, opts.source), opts.repeat)
    result["threads"] = thread_settings()
    result["targets"] = evaluate_targets(result)
    return result


# -- section 4: the face lenses -----------------------------------------------------------------
def bench_lenses(frame: Frame, repeat: int) -> dict[str, Any]:
    """Per-frame cost of each face lens on ``frame``: analysis and drawing together, synchronous.

    Needs the face extra and the models already on disk (``--face-model`` paths, the
    ``CAMFILTERS_MODEL_DIR`` folder or the cache): a benchmark never downloads. Returns
    ``{"skipped": reason}`` otherwise. ``faces`` says how many faces the frame gave: with
    the demo source there are none, so pass ``--source`` a video of a face for real figures.
    """
    from .face import LENSES, build_face_stage
    from .face.models import resolve_model
    from .pipeline import Pipeline, stage_from_spec

    try:
        models = {kind: str(resolve_model(kind, download=False)) for kind in ("face", "segmentation")}
        rows = []
        for lens in LENSES:
            stage = build_face_stage([lens], Pipeline([stage_from_spec("identity")]), synchronous=True,
                                     face_model=models["face"], segmentation_model=models["segmentation"])
            with stage:
                times = []
                for k in range(repeat + 3):  # 3 untimed frames settle the tracker and the mask smoothing
                    start = time.perf_counter()
                    stage.process(frame, k / 30.0)
                    if k >= 3:
                        times.append((time.perf_counter() - start) * 1000.0)
                faces = len(stage.faces) if stage.lenses[0].needs_faces else None  # background lenses find none
                rows.append({"lens": lens, "ms": summary(times), "faces": faces})
    except CamfiltersError as exc:  # no mediapipe, or no model on disk
        return {"skipped": str(exc)}
    return {"size": [frame.shape[1], frame.shape[0]], "lenses": rows}


# -- the table ----------------------------------------------------------------------------------
def _ms(stat: dict[str, float] | None) -> str:
    return "-" if stat is None else f"{stat['median_ms']:.2f}/{stat['p90_ms']:.2f}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    return ["  ".join(str(c).rjust(w) if k else str(c).ljust(w) for k, (c, w) in enumerate(zip(r, widths)))
            for r in [header, *rows]]


def format_table(result: dict[str, Any]) -> str:
    """The results as readable text: one block per section, then the targets with ✓/✗."""
    v, t = result["versions"], result["threads"]
    lines = [f"camfilters bench, {result['created']}: Python {v['python']}, NumPy {v['numpy']}, "
             f"Numba {v['numba']} ({t['numba_threading_layer'] or t['numba_threading_layer_config']} layer, "
             f"{t['numba_threads']} threads), OpenCV {v['opencv']} ({t['opencv_threads']} threads), "
             f"{t['cpu_count']} CPUs, OMP_WAIT_POLICY={t['omp_wait_policy']}"]
    if result.get("filters"):
        lines += ["", f"Filters vs OpenCV: ms per frame, median/p90 of {result['settings']['repeat']} alternating "
                      f"runs on a {result['settings']['source']} frame; ratio = ours/OpenCV medians; "
                      "diff = mean |ours - OpenCV| in levels"]
        rows = [[r["filter"], f"{r['size'][0]}x{r['size'][1]}", _ms(r["ours"]), _ms(r["opencv"]),
                 "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
                 "-" if r["mean_abs_diff"] is None else f"{r['mean_abs_diff']:.2f}"] for r in result["filters"]]
        lines += _grid(["filter", "size", "ours ms", "OpenCV ms", "ratio", "diff"], rows)
        lines += ["", "OpenCV equivalents:"]
        lines += [f"  {name:<9} {text}" for name, text in result["equivalents"].items()]
    if result.get("naive"):
        n = result["naive"]
        lines += ["", f"Naive Python double loop vs filters.correlate, "
                      f"{n['crop'][0]}x{n['crop'][1]} grey float32, {n['ksize']}x{n['ksize']} kernel: "
                      f"loop {n['naive_ms']:.1f} ms (best of 3), correlate {n['ours_ms']:.3f} ms (median) -> "
                      f"{n['speedup']:.0f}x faster (max diff {n['max_abs_diff']:.2g})"]
    if result.get("live"):
        first = result["live"][0]
        lines += ["", f"Live loop: {result['settings']['source']} source {first['size'][0]}x{first['size'][1]} @ "
                      f"{first['source_fps']:g} fps -> filter -> recording (.mp4), "
                      f"{'window' if first['window'] else 'no window'}, {first['seconds']:.1f} s per filter; "
                      "stage columns are ms median/p90 per frame; CPU % = process CPU time / wall time "
                      "(100 = one core)"]
        rows = []
        for r in result["live"]:
            s = r["stages"]
            rows.append([r["filter"], f"{r['fps']:.1f}", _ms(r["latency"]), str(r["dropped"]),
                         f"{r['recorded_in_file']}/{r['frames']}", f"{r['cpu_percent']:.0f}",
                         _ms(s.get("capture_wait")), _ms(s.get("frame_age")), _ms(s.get("chain")),
                         _ms(s.get("recording_handoff")),
                         _ms(s.get("display"))])
        e = result["encoder"]
        lines += [f"  recording cost (writer thread, measured apart): libx264 {e['preset']} {e['size'][0]}x"
                  f"{e['size'][1]}: {e['wall_ms_per_frame']:.1f} ms wall, {e['cpu_ms_per_frame']:.1f} ms CPU per frame"]
        lines += _grid(["filter", "fps", "latency ms", "dropped", "recorded/processed", "CPU %", "capture wait",
                        "frame age", "chain", "rec handoff", "display"], rows)
    if result.get("lenses"):
        lenses = result["lenses"]
        if "skipped" in lenses:
            lines += ["", f"Face lenses: skipped ({lenses['skipped']})"]
        else:
            lines += ["", f"Face lenses at {lenses['size'][0]}x{lenses['size'][1]} on a {result['settings']['source']} "
                          "frame: ms per frame (analysis + drawing, synchronous), median/p90; faces found"]
            lines += _grid(["lens", "ms", "faces"], [[r["lens"], _ms(r["ms"]), "-" if r["faces"] is None else str(r["faces"])]
                                                  for r in lenses["lenses"]])
    if result.get("jit"):
        j = result["jit"]
        lines += ["", f"JIT start-up: process start -> import -> filters.warm_up() -> one {j['size'][0]}x"
                      f"{j['size'][1]} frame through each of {len(j['filters'])} filters"]
        rows = [[kind, f"{r['start_to_first_frame_s']:.2f}", f"{r['interpreter_s']:.2f}", f"{r['import_s']:.2f}",
                 f"{r['warm_up_s']:.2f}", f"{sum(r['first_frame_ms'].values()):.0f}"]
                for kind, r in (("cold (empty cache)", j["cold"]), ("warm (cached)", j["warm"]))]
        lines += _grid(["start", "total s", "interpreter s", "import s", "warm_up s", "first frames ms"], rows)
        cold, warm = j["cold"]["warm_up_per_filter_s"], j["warm"]["warm_up_per_filter_s"]
        rows = [[name, f"{cold[name]:.2f}", f"{warm[name]:.3f}"] for name in j["filters"]]
        lines += ["  per filter warm_up (compile or cache load, in this order, shared kernels counted once):"]
        lines += ["  " + line for line in _grid(["filter", "cold s", "warm s"], rows)]
    if result.get("targets"):
        lines += ["", "Targets (medians):"]
        lines += [f"  {'✓' if g['met'] else '✗'} {g['name']}: {g['value']:.3g} {g['unit']} (limit {g['limit']:g})"
                  for g in result["targets"]]
    return "\n".join(lines)


# -- command line -------------------------------------------------------------------------------
BENCH_SIZE = frame_size_at_least(64, 48)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``."""
    parser.description = ("Time our filters against OpenCV, the live loop end to end and the JIT start-up; "
                          "print a table (and JSON with --json) with the speed targets marked met or not.")
    parser.add_argument("--filters", type=_names, metavar="NAME,...",
                        help="filters to measure (default: every registered filter)")
    parser.add_argument("--size", dest="sizes", type=BENCH_SIZE, action="append", metavar="WxH",
                        help="frame size for the filter timings (repeatable; default 1280x720 and 1920x1080)")
    parser.add_argument("--repeat", type=positive(int), metavar="N", help="timed runs per filter and size "
                        "(default 20; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fast smoke run: small sizes, few repeats, 1 s loops")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': stdout, "
                        "then the table goes to stderr)")
    parser.add_argument("--source", default="demo", help="where the benchmark frame and the live loop's frames "
                        "come from: demo (default), a video PATH, a camera INDEX")
    parser.add_argument("--sections", type=_names, default=list(SECTIONS), metavar="NAME,...",
                        help=f"what to run (default all): {', '.join(SECTIONS)}")
    parser.add_argument("--loop-size", type=BENCH_SIZE, metavar="WxH", help="live loop frame size (default 1280x720)")
    parser.add_argument("--loop-fps", type=positive(float), default=60.0, metavar="FPS",
                        help="live loop source fps (default 60)")
    parser.add_argument("--loop-seconds", type=positive(float), metavar="SECONDS",
                        help="live loop length per filter (default 5; 1 with --quick)")
    parser.add_argument("--window", action="store_true", help="show the live loop in a window (needs a display)")
    parser.add_argument("--naive-size", type=positive(int), metavar="N",
                        help="crop side for the naive-loop comparison (default 128; 32 with --quick)")


def resolve_options(args: argparse.Namespace) -> BenchOptions:
    """`BenchOptions` from parsed arguments (raises ParameterError for unknown filters or sections)."""
    names = args.filters or filters.available()
    for name in names:
        filters.filter_class(name)  # unknown names raise, listing the valid ones
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown or not args.sections:
        raise ParameterError(f"--sections must list some of {', '.join(SECTIONS)}, got {','.join(args.sections)!r}")
    window = args.window and bool(os.environ.get("DISPLAY"))
    if args.window and not window:
        log.warning("--window ignored: no DISPLAY")
    quick = args.quick
    return BenchOptions(
        filters=list(names), sizes=list(args.sizes or (QUICK_SIZES if quick else DEFAULT_SIZES)),
        repeat=args.repeat or (3 if quick else 20), sections=tuple(s for s in SECTIONS if s in args.sections),
        source=args.source, loop_size=args.loop_size or ((320, 180) if quick else (1280, 720)),
        loop_fps=args.loop_fps, loop_seconds=args.loop_seconds or (1.0 if quick else 5.0), window=window,
        naive_size=args.naive_size or (32 if quick else 128), quick=quick)


def main(args: argparse.Namespace) -> int:
    """Run ``camfilters bench`` with parsed ``args``; print the table, write the JSON; return 0."""
    result = run_bench(resolve_options(args))
    table = format_table(result)
    if args.json == "-":
        print(table, file=sys.stderr)
        print(json.dumps(result, indent=2))
    else:
        print(table)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0
