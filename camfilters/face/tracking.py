"""Faces over time: tracks of every detected face (held through misses, shown once confirmed), One Euro
smoothing. The landmarks come from `landmarks`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .detect import Detection

Box4 = tuple[float, float, float, float]  # (x, y, w, h) in frame pixels, float


class OneEuroFilter:
    """One Euro filter (Casiez et al., CHI 2012) over an array of values, vectorised.

    ``min_cutoff`` (Hz) sets the smoothing of slow motion (lower: less jitter, more
    lag); ``beta`` (1 / value unit) raises the cutoff with speed so fast motion has
    little lag; ``d_cutoff`` (Hz) smooths the speed estimate.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.2, d_cutoff: float = 1.0) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __repr__(self) -> str:
        return f"OneEuroFilter(min_cutoff={self.min_cutoff}, beta={self.beta}, d_cutoff={self.d_cutoff})"

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """The filtered value of sample ``x`` taken at time ``t`` (seconds, increasing)."""
        x = np.asarray(x, np.float32)
        if self._x is None or self._t is None or t <= self._t or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return self._x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        self._dx += self._alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x += self._alpha(cutoff, dt) * (x - self._x)
        self._t = t
        return self._x.copy()


@dataclass
class Face:
    """One tracked face in one analysis: the face stage's per-face result (see `stage`).

    - ``track_id``: stable id while the face is tracked (a new face gets a new id).
    - ``box``: (x, y, w, h) float, pixels of the full frame; the face box, not dilated by a lens;
      while held it moves with the track's velocity and grows by the hold margin.
    - ``score``: confidence in [0, 1] of the last detection.
    - ``landmarks``: ``(478, 3) float32`` frame pixels, or None (only landmark lenses ask for them).
    - ``detected``: True when found in this analysis, False when held from earlier detections.
    - ``timestamp``: capture time (s) of the analysed frame.
    """

    track_id: int
    box: Box4
    score: float = 1.0
    landmarks: np.ndarray | None = None
    detected: bool = True
    timestamp: float = 0.0

    @property
    def centroid(self) -> np.ndarray:
        """Centre (x, y) px of ``box``, float32."""
        x, y, w, h = self.box
        return np.array([x + w / 2, y + h / 2], np.float32)

    @property
    def width(self) -> float:
        """Width (px) of ``box``."""
        return float(self.box[2])


class _Track:
    """A face followed over time: its box at the last detection, velocity, filters."""

    def __init__(self, track_id: int, det: Detection, t: float, min_cutoff: float, beta: float) -> None:
        self.track_id = track_id
        self.centre = det.centre
        self.size = np.array(det.box[2:], np.float32)
        self.velocity = np.zeros(2, np.float32)  # px/s
        self.hits = 1  # detections so far
        self.t = t  # time of the last detection (s)
        self.score = det.score
        self.landmarks: np.ndarray | None = None
        self.box_filter = OneEuroFilter(min_cutoff, beta)
        self.landmark_filter = OneEuroFilter(min_cutoff, beta)
        self.confirmed = False  # shown once a confirmed detection continued it
        self.history: list[tuple[float, Box4]] = []  # (time, box) of its detections while unconfirmed

    def predict(self, t: float) -> np.ndarray:
        """The centre (px) at time ``t`` (s), moving on at the velocity once three detections measured it."""
        if self.hits < 3:
            return self.centre
        return self.centre + self.velocity * (t - self.t)

    def box(self, t: float) -> Box4:
        """The box (x, y, w, h px) where the face is expected at time ``t`` (s)."""
        (cx, cy), (w, h) = self.predict(t), self.size
        return float(cx - w / 2), float(cy - h / 2), float(w), float(h)


class FaceTracks:
    """Every face over time: each analysis' detections matched to tracks, faces held through misses.

    A detection continues the track whose centre, moved on at its velocity, is nearest
    (within ``max_jump`` times the larger of the two face widths, and of half to twice its width); other detections start new
    tracks, with no limit on their number, except a detection under half the width of a held face
    with its centre on it (a part of that face: the held face hides it). A track missed by the detector is held for ``hold``
    s after its last detection (``edge_hold`` s when its box crosses the frame's edge: a face missed there,
    looked for from its centre, is leaving) (its box moving at the track's velocity, at most ``max_speed``
    face widths per second, and dilated by ``margin`` of its size on each side plus half the
    distance moved), then dropped. Boxes and landmarks are smoothed by
    One Euro filters when ``smoothing``; a detection's landmarks (or None) become its face's.

    A track is shown (returned as a face) from its first confirmed detection on (`detect.Detection`);
    until then it is a candidate, given a look from its centre (`looks`) on its first ``tries``
    detections and every ``tries``-th after (an entering face may be confirmed only once more of it is in).
    ``confirmed`` lists, after each update, the tracks confirmed
    by it: (track id, [(time, box) of each detection before it]), so that a caller holding those frames
    can hide the face on them too.
    """

    def __init__(self, *, smoothing: bool = True, hold: float = 0.5, margin: float = 0.1, min_cutoff: float = 1.0,
                 beta: float = 0.2, max_jump: float = 1.0, max_speed: float = 5.0, tries: int = 3,
                 edge_hold: float = 0.1) -> None:
        self.smoothing = smoothing
        self.edge_hold = min(edge_hold, hold)
        self.tries = tries
        self.confirmed: list[tuple[int, list[tuple[float, Box4]]]] = []
        self.hold = hold
        self.margin = margin
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.max_jump = max_jump
        self.max_speed = max_speed  # face widths per second, caps the velocity of a track
        self._tracks: list[_Track] = []
        self._next_id = 0

    def __repr__(self) -> str:
        return f"FaceTracks(hold={self.hold}, margin={self.margin}, smoothing={self.smoothing})"

    def looks(self, t: float) -> list[Box4]:
        """The boxes (frame px, expected at ``t`` s) to look at from their centre: every shown face, and the
        candidates due a look."""
        return [tr.box(t) for tr in self._tracks
                if tr.confirmed or len(tr.history) < self.tries or len(tr.history) % self.tries == 0]

    def known(self, t: float) -> list[Box4]:
        """Every track's box (frame px) expected at ``t`` s, candidates included."""
        return [tr.box(t) for tr in self._tracks]

    def update(self, detections: list[Detection], t: float, size: tuple[int, int] | None = None) -> list[Face]:
        """Update with the ``detections`` (frame px) of the frame taken at ``t`` (s); return every face.

        With the frame ``size`` (W, H), a held face whose predicted centre is more than a quarter face out
        of the frame (at most a quarter of it still inside) is dropped.
        """
        tracks = self._tracks
        predicted = [track.predict(t) for track in tracks]
        pairs = sorted(
            (float(np.hypot(*(det.centre - predicted[j]))), i, j)
            for i, det in enumerate(detections)
            for j, track in enumerate(tracks)
        )
        matched: dict[int, _Track] = {}
        used: set[int] = set()
        for dist, i, j in pairs:
            if i in matched or j in used:
                continue
            width, track_width = detections[i].box[2], float(tracks[j].size[0])
            if dist > self.max_jump * max(track_width, width, 1.0) or not 0.5 <= width / max(track_width, 1.0) <= 2.0:
                continue  # too far, or another face (half or twice the size)
            matched[i] = tracks[j]
            used.add(j)
        faces: list[Face] = []
        kept: list[_Track] = []
        self.confirmed = []
        held = [(predicted[j], tracks[j].size) for j in range(len(tracks)) if j not in used]
        for i, det in enumerate(detections):
            track = matched.get(i)
            if track is None and any(np.all(np.abs(det.centre - centre) < wh / 2) and det.box[2] < wh[0] / 2
                                     for centre, wh in held):
                continue  # a part of a held face (found alone while the whole was missed): hidden with it
            if track is None:
                track = _Track(self._next_id, det, t, self.min_cutoff, self.beta)
                self._next_id += 1
            else:
                det = _anchored(det, track, size)
                self._follow(track, det, t)
            x, y, w, h = self._smoothed(track, det, t)
            track.score = det.score
            track.landmarks = None
            if det.landmarks is not None:
                track.landmarks = (track.landmark_filter(det.landmarks, t) if self.smoothing
                                   else det.landmarks.astype(np.float32))
            kept.append(track)
            if not track.confirmed and det.confirmed:
                track.confirmed = True
                self.confirmed.append((track.track_id, track.history))
                track.history = []
            if not track.confirmed:
                track.history.append((t, (x, y, w, h)))
                continue
            faces.append(Face(track.track_id, (x, y, w, h), track.score, track.landmarks, True, t))
        for j, track in enumerate(tracks):
            if j in used or t - track.t > (self.hold if inside(track.box(t), size) else self.edge_hold) + 1e-6:
                continue  # held for ``hold`` s, or ``edge_hold`` s across the frame's edge: leaving, not missed
            # Dilated by the margin and by the distance moved since the last detection, so the box
            # also covers the last place the face was seen should its motion have changed.
            moved = np.abs(predicted[j] - track.centre)
            (cx, cy), (w, h) = predicted[j], track.size * (1.0 + 2.0 * self.margin) + moved
            fw, fh = track.size / 4  # a face's centre may lie up to a quarter face out (detect.mostly_inside)
            if size is not None and not (-fw <= cx <= size[0] + fw and -fh <= cy <= size[1] + fh):
                continue  # three quarters of it out of the frame: the face left
            kept.append(track)
            if track.confirmed:
                faces.append(Face(track.track_id, (float(cx - w / 2), float(cy - h / 2), float(w), float(h)),
                                  track.score, None, False, t))
        self._tracks = kept
        return faces

    def _follow(self, track: _Track, det: Detection, t: float) -> None:
        """Move ``track`` to ``det`` found at ``t``, updating its velocity (capped at ``max_speed``)."""
        dt = t - track.t
        if dt > 0:
            velocity = (det.centre - track.centre) / dt
            velocity = 0.5 * (track.velocity + velocity) if track.velocity.any() else velocity
            limit = self.max_speed * max(float(track.size[0]), 1.0)
            speed = float(np.hypot(*velocity))
            track.velocity = (velocity * min(1.0, limit / speed) if speed > 0 else velocity).astype(np.float32)
        track.centre = det.centre
        track.hits += 1
        track.t = t

    def _smoothed(self, track: _Track, det: Detection, t: float) -> Box4:
        """The box (x, y, w, h) of ``det``, smoothed over the track when ``smoothing``; updates the track size."""
        x, y, w, h = det.box
        state = np.array([x + w / 2, y + h / 2, w, h], np.float32)
        if self.smoothing:
            state = track.box_filter(state, t)
        cx, cy, w, h = (float(v) for v in state)
        track.size = np.array([w, h], np.float32)
        return cx - w / 2, cy - h / 2, w, h

    def reset(self) -> None:
        self._tracks = []


def inside(box: Box4, size: tuple[int, int] | None) -> bool:
    """Whether ``box`` (x, y, w, h px) lies wholly inside the frame of ``size`` (W, H) (or no size is known)."""
    x, y, w, h = box
    return size is None or (x >= 0 and y >= 0 and x + w <= size[0] and y + h <= size[1])


def _anchored(det: Detection, track: _Track, size: tuple[int, int] | None) -> Detection:
    """``det`` of a face cut by the edge of the frame of ``size`` (W, H): its box crosses the edge, and the
    detector boxes only the part it sees (with its mirror image). Such a face keeps its track's size, placed
    from its box's inner side, so it moves and is predicted where it really goes."""
    x, y, w, h = det.box
    if size is None:
        return det
    tw, th = (float(v) for v in track.size)
    if x < 0 < x + w < size[0] and tw > w:
        x, w = x + w - tw, tw
    elif 0 < x < size[0] < x + w and tw > w:
        w = tw
    if y < 0 < y + h < size[1] and th > h:
        y, h = y + h - th, th
    elif 0 < y < size[1] < y + h and th > h:
        h = th
    return det if (x, y, w, h) == det.box else dataclasses.replace(det, box=(x, y, w, h))
