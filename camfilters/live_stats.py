"""What a live run did: frame counts, rate, latency and the time of each stage, for the log and the bench."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EndReason

#: Per-frame samples kept for the statistics: the last 10 minutes at 60 fps.
STAT_SAMPLES = 36_000

#: Where a frame's time goes, in ms: waiting for the source, the frame's age when it arrived
#: (since capture), the chain, handing it to recorder / virtual camera, and the window
#: (overlay, imshow, waitKey). "display" is absent without a window.
STAGES = ("capture_wait", "frame_age", "chain", "recording_handoff", "display")


def _samples() -> deque[float]:
    return deque(maxlen=STAT_SAMPLES)


@dataclass
class LiveStats:
    """What a run did: counts, frame rate, capture-to-output latency and per-stage time (ms)."""

    frames: int = 0
    dropped: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies_ms: deque[float] = field(default_factory=_samples)
    stage_ms: dict[str, deque[float]] = field(default_factory=lambda: {s: _samples() for s in STAGES})
    recordings: list[Path] = field(default_factory=list)
    snapshots: list[Path] = field(default_factory=list)
    frames_recorded: int = 0
    ended: EndReason | None = None  # why the run ended; the CLI's exit code is ``ended.exit_code``
    end_message: str | None = None  # the same in words, naming the source

    @property
    def cpu_percent(self) -> float:
        """Process CPU time over wall time during the loop, in % of one core."""
        return 100.0 * self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0
