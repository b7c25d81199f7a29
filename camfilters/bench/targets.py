"""The project's speed targets, checked against what a benchmark measured."""

from __future__ import annotations

from typing import Any

TARGET_SIZE = (1920, 1080)  # the filters' targets hold at 1080p (else the largest size measured)
SPEED_LIMITS_MS = {"cartoon": 33.0, "edge": 8.0, "blur": 8.0, "sharpen": 8.0,
                   # issue 13: the colour grades and looks
                   **dict.fromkeys(("lut", "vintage", "sepia", "noir", "warm", "cool", "vignette", "grain"), 3.0)}
WARM_START_LIMIT_S = 1.5
LATENCY_FRAMES = 1.5  # capture-to-output latency budget, in frame times of the source


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's speed targets, each ``{"name", "value", "limit", "unit", "met", "judged"}``, for what was
    measured. ``judged`` is False where the run cannot tell: filters measured below `TARGET_SIZE`, and the live
    loop of a ``--quick`` run (small frames, one second)."""
    targets: list[dict[str, Any]] = []
    quick = bool(result.get("settings", {}).get("quick"))

    def add(name: str, value: float, limit: float, unit: str, met: bool, judged: bool = True) -> None:
        targets.append({"name": name, "value": value, "limit": limit, "unit": unit, "met": bool(met),
                        "judged": judged})

    rows = result.get("filters") or []
    if rows:
        sizes = {tuple(r["size"]) for r in rows}
        at = TARGET_SIZE if TARGET_SIZE in sizes else max(sizes, key=lambda s: s[0] * s[1])
        label = f"{at[0]}x{at[1]}"
        for row in (r for r in rows if tuple(r["size"]) == at):
            if row["ratio"] is not None:
                add(f"{row['filter']} <= 1.0x OpenCV at {label}", row["ratio"], 1.0, "x", row["ratio"] <= 1.0,
                    at == TARGET_SIZE)
            limit = SPEED_LIMITS_MS.get(row["filter"])
            if limit is not None:
                ms = row["ours"]["median_ms"]
                add(f"{row['filter']} <= {limit:g} ms at {label}", ms, limit, "ms", ms <= limit, at == TARGET_SIZE)
    for run in result.get("live") or []:
        if run["filter"] != "edge":
            continue
        fps, (w, h) = run["source_fps"], run["size"]
        where = f"live edge + recording, {w}x{h} @ {fps:g} fps"
        add(f"{where}: sustained fps >= {fps:g} (within 1%)", run["fps"], fps, "fps", run["fps"] >= 0.99 * fps,
            not quick)
        if run["latency"] is not None:
            budget = LATENCY_FRAMES * 1000.0 / fps
            lat = run["latency"]["median_ms"]
            add(f"{where}: latency <= {LATENCY_FRAMES:g} frame times", lat, budget, "ms", lat <= budget, not quick)
        add(f"{where}: source frames dropped == 0", run["dropped"], 0, "frames", run["dropped"] == 0, not quick)
        add(f"{where}: recorded == processed ({run['frames']})", run["recorded_in_file"], run["frames"], "frames",
            run["recorded"] == run["frames"] == run["recorded_in_file"], not quick)
    jit = result.get("jit")
    if jit:
        warm = jit["warm"]["start_to_first_frame_s"]
        add(f"warm start to first filtered frame <= {WARM_START_LIMIT_S:g} s", warm, WARM_START_LIMIT_S, "s",
            warm <= WARM_START_LIMIT_S)
    return targets
