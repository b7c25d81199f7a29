"""``camfilters bench``: our filters against OpenCV, the live loop end to end, JIT start-up.

Five sections, each optional (``--sections``), one module each:

- `opencv`: per filter and frame size, ms per frame for our filter and for its OpenCV
  equivalent (`recipes.OPENCV_EQUIVALENTS`), timed alternately on the same natural-looking
  frame (the demo scene, or a frame of ``--source``), with the ratio ours / OpenCV of the
  medians and the mean absolute difference between the two outputs (levels of 0..255);
- `naive`: the pure-Python double loop against `filters.correlate` on one grey image;
- `live`: `camfilters.live.LiveSession` per filter (recording to a temporary ``.mp4``):
  sustained fps, latency, drops, frames recorded vs processed, CPU use, where the time goes;
- `lenses`: the per-frame cost of each face lens;
- `jit`: process start to the first filtered frame with an empty Numba cache and a warm one.

`run.run_bench` returns one JSON-ready dict, headed by the machine (`machine`: versions,
threads, CPU model and SIMD flags); `table.format_table` prints it with the speed targets
(`targets`) marked met or not. `options` is the command line (imported by ``camfilters
--help`` without the rest). Times are wall-clock milliseconds unless a key says ``_s``.
"""
