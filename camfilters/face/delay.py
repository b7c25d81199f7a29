"""The live privacy delay: a frame leaves for the window, the recording and the virtual camera only once the
face search covering it is done, as a broadcast delay works.

In live mode the analysis runs beside the picture, on the newest frame it can take (`stage.FaceStage`). With a
delay, each filtered frame waits until it is ``seconds`` old and the analysis of a frame at or after it has
come back; it is then drawn with the faces of the analyses just before and just after it, so a face found
a few frames late is hidden on it too. While the first frames fill the delay, the oldest is shown again
(``fresh`` False: the caller records and sends it once).
"""

from __future__ import annotations

import collections
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .tracking import inside

if TYPE_CHECKING:
    from .analysis import Analysis


class Delay:
    """Frames (the drawing source, capture time s, the stage's frame number) held ``seconds``, and the recent
    analyses to draw them with."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._frames: collections.deque[tuple[np.ndarray, float, int]] = collections.deque()
        self._analyses: collections.deque[Analysis] = collections.deque(maxlen=64)

    def __repr__(self) -> str:
        return f"Delay(seconds={self.seconds})"

    def add(self, source: np.ndarray, timestamp: float, frame: int, analysis: Analysis) -> None:
        """Hold a copy of ``source`` (frame number ``frame``); remember ``analysis``, the newest one."""
        self._frames.append((source.copy(), timestamp, frame))
        if not self._analyses or self._analyses[-1].seq != analysis.seq:
            self._analyses.append(analysis)

    def take(self, behind: int) -> tuple[np.ndarray, float, Analysis, bool]:
        """The frame to show now: (source, capture time, the analysis to draw it with, fresh). The oldest frame
        leaves once it is ``seconds`` older than the newest and more than ``behind`` frames back (the newest
        analysis is then of a frame at or after it); until then it is shown again, not fresh."""
        source, timestamp, frame = self._frames[0]
        fresh = len(self._frames) > behind + 1 and self._frames[-1][1] - timestamp >= self.seconds - 1e-6
        if fresh:
            self._frames.popleft()
        return source, timestamp, self._around(frame, source.shape[1::-1]), fresh

    def rest(self) -> list[tuple[np.ndarray, float, Analysis]]:
        """Every frame still held, oldest first, with the analysis to draw it with; the delay is left empty."""
        rest = [(source, timestamp, self._around(frame, source.shape[1::-1])) for source, timestamp, frame in self._frames]
        self._frames.clear()
        return rest

    def clear(self) -> None:
        self._frames.clear()
        self._analyses.clear()

    def _around(self, frame: int, size: tuple[int, int]) -> Analysis:
        """The analysis nearest after ``frame`` (else the newest), with the faces of the one just before too, on a
        frame of ``size`` (W, H). A face the one after has and the one before has not is drawn only when it is
        coming in across the frame's edge (found a little late, as an entering face is); one that appears at once
        inside the frame is drawn from the frame where it appears, not before."""
        after = next((a for a in self._analyses if a.frame >= frame), self._analyses[-1])
        before = next((a for a in reversed(self._analyses) if a.frame < frame), None)
        if before is None:
            return after
        known = {face.track_id for face in before.faces}
        new = [face for face in after.faces
               if after.frame == frame or face.track_id in known or not inside(face.box, size)]
        return replace(after, faces=list(before.faces) + new)
