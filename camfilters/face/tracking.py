"""Face landmarks over time: MediaPipe FaceLandmarker in VIDEO mode, face tracks, One Euro smoothing.

Landmarks are returned in pixels of the full frame as ``(478, 3) float32`` arrays
(x, y, z; z in the same pixel scale, negative towards the camera).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

N_LANDMARKS = 478


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
    """One tracked face: a stable ``track_id`` and its smoothed ``(478, 3) float32`` landmarks in pixels."""

    track_id: int
    landmarks: np.ndarray
    _filter: OneEuroFilter = field(repr=False, default_factory=OneEuroFilter)

    @property
    def centroid(self) -> np.ndarray:
        return self.landmarks[:, :2].mean(axis=0)

    @property
    def width(self) -> float:
        xy = self.landmarks[:, :2]
        return float(np.ptp(xy[:, 0]))


class FaceTracks:
    """Matches each frame's detections to the previous faces by centroid distance and smooths them.

    A detection within ``max_jump`` face widths of a known face continues its track
    (and its One Euro filter); a face without a detection is dropped at once, so its
    lens disappears with it; other detections start new tracks.
    """

    def __init__(self, *, smoothing: bool = True, min_cutoff: float = 1.0, beta: float = 0.2,
                 max_jump: float = 0.75) -> None:
        self.smoothing = smoothing
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.max_jump = max_jump
        self.faces: list[Face] = []
        self._next_id = 0

    def update(self, detections: list[np.ndarray], t: float) -> list[Face]:
        """Update with ``(478, 3)`` pixel landmark arrays detected at time ``t`` (s); return the faces."""
        previous = self.faces
        centres = [d[:, :2].mean(axis=0) for d in detections]
        pairs = sorted(
            (float(np.hypot(*(c - f.centroid))), i, j)
            for i, c in enumerate(centres)
            for j, f in enumerate(previous)
        )
        matched: dict[int, Face] = {}
        used: set[int] = set()
        for dist, i, j in pairs:
            if i in matched or j in used or dist > self.max_jump * max(previous[j].width, 1.0):
                continue
            matched[i] = previous[j]
            used.add(j)
        faces = []
        for i, det in enumerate(detections):
            face = matched.get(i)
            if face is None:
                face = Face(self._next_id, det, OneEuroFilter(self.min_cutoff, self.beta))
                self._next_id += 1
            face.landmarks = face._filter(det, t) if self.smoothing else det.astype(np.float32)
            faces.append(face)
        self.faces = faces
        return faces

    def reset(self) -> None:
        self.faces = []


class Landmarker:
    """MediaPipe FaceLandmarker in VIDEO mode: RGB frames with increasing timestamps → pixel landmarks."""

    def __init__(self, model_path: str, *, num_faces: int = 4) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=num_faces,
            min_face_detection_confidence=0.5,
            min_face_presence_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        self._task = vision.FaceLandmarker.create_from_options(options)
        self._last_ms = -1

    def detect(self, rgb: np.ndarray, timestamp_ms: int, frame_size: tuple[int, int]) -> list[np.ndarray]:
        """Landmarks of each face in ``rgb`` ((h, w, 3) uint8 RGB), scaled to ``frame_size`` (W, H) pixels."""
        import mediapipe as mp

        timestamp_ms = max(int(timestamp_ms), self._last_ms + 1)
        self._last_ms = timestamp_ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._task.detect_for_video(image, timestamp_ms)
        width, height = frame_size
        scale = np.array([width, height, width], np.float32)
        return [
            np.array([(p.x, p.y, p.z) for p in face], np.float32) * scale
            for face in result.face_landmarks
            if len(face) == N_LANDMARKS
        ]

    def close(self) -> None:
        if self._task is not None:
            self._task.close()
            self._task = None
