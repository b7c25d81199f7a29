"""``camfilters bench``: our filters against OpenCV, the live loop end to end, JIT start-up.

Five sections, each optional (``--sections``), one module each: `opencv` (per filter and frame
size, ours and its OpenCV equivalent, `recipes.OPENCV_EQUIVALENTS`, timed alternately on one
natural-looking frame: the ratio of the medians and the mean absolute difference in levels),
`naive` (the pure-Python double loop against `filters.correlate`), `live`
(`camfilters.live.LiveSession` per filter: fps, latency, drops, CPU, where the time goes),
`lenses` (each face lens's cost per frame) and `jit` (process start to the first filtered frame,
with an empty Numba cache and a warm one). `run.run_bench` returns one JSON-ready dict headed by
the machine (`machine`); `table.format_table` prints it with the speed `targets` marked met or
not; `options` is the command line. Times are wall-clock milliseconds unless a key says ``_s``.
"""
