"""Look-back for the privacy lenses on files: frames wait a little before they are drawn, so that a face found
late is hidden from the frame where it entered.

A face is found at the latest ``every`` frames after it appears (`search.FaceDetector`'s rotation), and a weak
one counts only once confirmed a few frames later (`tracking.FaceTracks`). `LookBack` holds the last
``frames`` frames of a synchronous `stage.FaceStage`; when a face is confirmed, its detections on the frames
held are hidden too, and it is followed backwards, a look from its centre on each older frame held, until a
look misses. A frame is drawn and handed on once ``frames`` newer ones have been analysed (or at `drain`).
Each frame is analysed on a thread of its own while the caller's thread draws the older ones, so the
models (2-3 cores' worth of work at 720p) and the drawing overlap.
"""

from __future__ import annotations

import collections
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .analysis import Analysis
from .stage import FaceStage
from .tracking import Face, inside

__all__ = ["LookBack"]


@dataclass
class _Held:
    image: np.ndarray  # the frame as read (faces are looked for in it)
    source: np.ndarray  # the frame the lenses draw on (through the chain)
    timestamp: float
    analysis: Analysis | None  # None while it is being made
    tag: Any


class LookBack:
    """``push(image, seconds, tag)`` → the frames now drawn, ``[(out, faces, tag)]``, ``frames`` frames behind;
    `drain` → the rest. ``stage`` must be synchronous. ``faces`` are those drawn (`tracking.Face`). A face
    entering across the frame's edge, where looks from its centre miss, is held ``edge_frames`` frames back
    in its first place, as `tracking.FaceTracks` holds one leaving."""

    def __init__(self, stage: FaceStage, frames: int, *, edge_frames: int = 3) -> None:
        if not stage.synchronous:
            raise ValueError("LookBack needs a synchronous FaceStage")
        self.stage = stage
        self.frames = max(0, frames)
        self.edge_frames = edge_frames
        self._held: collections.deque[_Held] = collections.deque()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="lookback")
        self._pending: tuple[Future[Analysis], _Held] | None = None
        self.found_back = 0  # face-frames added by looking back

    def __repr__(self) -> str:
        return f"LookBack({self.stage!r}, frames={self.frames})"

    def push(self, image: np.ndarray, timestamp: float, tag: Any = None) -> list[tuple[np.ndarray, list[Face], Any]]:
        stage = self.stage
        source, flags = stage.prepare(image, timestamp)
        if not stage.lenses:
            return self.drain() + [(source.copy(), [], tag)]
        image = image.copy()  # the caller may reuse its buffer
        held = _Held(image, image if source is image else source.copy(), timestamp, None, tag)
        self._settle()
        self._pending = self._pool.submit(stage.analyse, image, timestamp, flags), held
        ready = []
        while len(self._held) > self.frames:
            ready.append(self._draw(self._held.popleft()))
        return ready

    def drain(self) -> list[tuple[np.ndarray, list[Face], Any]]:
        """Every frame still held, drawn, oldest first."""
        self._settle()
        ready = [self._draw(held) for held in self._held]
        self._held.clear()
        return ready

    def close(self) -> None:
        """Wait for the analysis under way (the models stay in use until it ends); safe to call twice."""
        self._pool.shutdown(cancel_futures=True)
        self._pending = None

    def _settle(self) -> None:
        """Hold the frame analysed last, once its analysis is done (raising its error), and hide the faces it
        confirmed on the frames before it."""
        if self._pending is None:
            return
        future, held = self._pending
        self._pending = None
        held.analysis = future.result()
        self._held.append(held)
        for track_id, history in self.stage.confirmed:
            self._hide_before(track_id, history, held.analysis)

    def _draw(self, held: _Held) -> tuple[np.ndarray, list[Face], Any]:
        self.stage.publish(held.analysis)
        return self.stage.draw(held.source, held.analysis, held.timestamp).copy(), held.analysis.faces, held.tag

    def _hide_before(self, track_id: int, history: list[tuple[float, tuple[float, float, float, float]]],
                     now: Analysis) -> None:
        """Hide the face ``track_id``, confirmed on the newest frame, on the frames held before it: where it was
        seen as a candidate (``history``: (time, box)), and on older ones as far back as looks find it."""
        face = next((f for f in now.faces if f.track_id == track_id), None)
        if face is None:
            return
        seen = dict(history)
        box, score, missed = face.box, face.score, 0
        for held in reversed(list(self._held)[:-1]):
            detected = True
            if held.timestamp in seen:  # seen there as a candidate: a sighting, as a look's
                box, missed = seen[held.timestamp], 0
            else:
                [found] = self.stage.find(held.image, [box])
                if found is not None:
                    box, score, missed = found.box, found.score, 0
                elif missed < self.edge_frames and not inside(box, held.image.shape[1::-1]):
                    detected, missed = False, missed + 1  # entering: half out, where looks miss; held as forwards
                else:
                    break
            if any(f.track_id == track_id or _same_place(f.box, box) for f in held.analysis.faces):
                break  # hidden there already, as another track (a face followed before, then lost) or this one
            held.analysis.faces.append(Face(track_id, box, score, None, detected, held.timestamp))
            self.found_back += 1


def _same_place(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether boxes ``a`` and ``b`` (x, y, w, h px) are one face: each centre on the other box."""
    def centre_on(p: tuple[float, float, float, float], q: tuple[float, float, float, float]) -> bool:
        return q[0] <= p[0] + p[2] / 2 <= q[0] + q[2] and q[1] <= p[1] + p[3] / 2 <= q[1] + q[3]

    return centre_on(a, b) and centre_on(b, a)
