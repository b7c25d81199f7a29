"""Section ``live``: `camfilters.live.LiveSession` end to end per filter, and the recorder's encoder cost."""

from __future__ import annotations

import contextlib
import logging
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..demo import DemoScene
from .opencv import FRAME_WALL
from .stats import summary


def count_video_frames(path: Path) -> int:
    """The number of frames in the video file at ``path`` (its video packets: one per frame)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


@contextlib.contextmanager
def _session_logs_hidden() -> Iterator[None]:
    """Hide the session's own INFO lines (source, recording to, saved) unless -v asked for DEBUG."""
    app = logging.getLogger("camfilters")
    if app.isEnabledFor(logging.DEBUG):
        yield
        return
    level = app.level
    app.setLevel(logging.WARNING)
    try:
        yield
    finally:
        app.setLevel(level)


def bench_live(name: str, *, size: tuple[int, int], fps: float, seconds: float, window: bool,
               folder: Path, source: str = "demo") -> dict[str, Any]:
    """One `LiveSession`: ``source`` at ``size`` and ``fps`` through filter ``name``, recorded to ``folder``.

    Sustained fps, capture-to-output latency, frames dropped by the source, frames recorded
    vs processed, CPU use (100 = one core) and each stage's ms statistics.
    """
    from ..live import LiveOptions, LiveSession

    record = folder / f"bench-{name}.mp4"
    options = LiveOptions(filters=[name], source=source, size=size, fps=fps, record=record, window=window,
                          duration=seconds, output_dir=folder)
    with _session_logs_hidden():
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
    from ..recording import LIVE_PRESET, VideoOutput

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
