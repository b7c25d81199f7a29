"""The benchmark result as readable text: a header naming the machine, one block per section, the targets."""

from __future__ import annotations

from typing import Any

from .targets import TARGET_SIZE


def _ms(stat: dict[str, float] | None) -> str:
    return "-" if stat is None else f"{stat['median_ms']:.2f}/{stat['p90_ms']:.2f}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    return ["  ".join(str(c).rjust(w) if k else str(c).ljust(w) for k, (c, w) in enumerate(zip(r, widths)))
            for r in [header, *rows]]


def target_mark(target: dict[str, Any]) -> str:
    """✓ met, ✗ missed, · measured where the target does not apply (for information)."""
    return ("✓" if target["met"] else "✗") if target["judged"] else "·"


def format_table(result: dict[str, Any]) -> str:
    """The results as readable text: the machine (versions, threads, CPU model and SIMD flags), one block
    per section, then the targets with ✓/✗ (· where not judged)."""
    v, t, c = result["versions"], result["threads"], result["cpu"]
    lines = [f"camfilters bench, {result['created']}: Python {v['python']}, NumPy {v['numpy']}, "
             f"Numba {v['numba']} ({t['numba_threading_layer'] or t['numba_threading_layer_config']} layer, "
             f"{t['numba_threads']} threads), OpenCV {v['opencv']} ({t['opencv_threads']} threads), "
             f"{t['cpu_count']} CPUs, OMP_WAIT_POLICY={t['omp_wait_policy']}",
             f"CPU: {c['model']} ({v['machine']}, {v['system']}); SIMD: {' '.join(c['simd']) or 'none known'}"]
    if result.get("filters"):
        clock = ("CPU time on 1 thread each" if result["settings"].get("cpu_time")
                 else "wall clock on the threads above")
        lines += ["", f"Filters vs OpenCV: ms per frame ({clock}), median/p90 of {result['settings']['repeat']} alternating "
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
        lines += [f"  {target_mark(g)} {g['name']}: {g['value']:.3g} {g['unit']} (limit {g['limit']:g})"
                  for g in result["targets"]]
        if not all(g["judged"] for g in result["targets"]):
            lines += [f"  (· for information, not judged: the filter targets hold at {TARGET_SIZE[0]}x{TARGET_SIZE[1]}, "
                      "the live ones over full-size, full-length loops, not a --quick run's)"]
    return "\n".join(lines)

