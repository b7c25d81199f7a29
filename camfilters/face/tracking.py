"""Faces over time: tracks of every detected face (held through misses), MediaPipe FaceLandmarker on the
frame and on crops for the landmark lenses, One Euro smoothing.

Landmarks are returned in pixels of the full frame as ``(478, 3) float32`` arrays
(x, y, z; z in the same pixel scale, negative towards the camera).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from .detect import Detection

N_LANDMARKS = 478
Box = tuple[int, int, int, int]  # (x, y, w, h) in frame pixels
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


def landmark_box(landmarks: np.ndarray) -> Box4:
    """The (x, y, w, h) bounding box (px) of ``(N, 2+)`` landmarks."""
    x0, y0 = landmarks[:, :2].min(axis=0)
    x1, y1 = landmarks[:, :2].max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


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
    detections and every ``5 * tries``-th after (a badge or a toy found again and again). ``confirmed`` lists, after each update, the tracks confirmed
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
                if tr.confirmed or len(tr.history) < self.tries or len(tr.history) % (5 * self.tries) == 0]

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
            if j in used or t - track.t > (self.hold if _inside(track.box(t), size) else self.edge_hold) + 1e-6:
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


def _inside(box: Box4, size: tuple[int, int] | None) -> bool:
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


def attach_landmarks(detections: list[Detection], landmark_sets: list[np.ndarray]) -> list[Detection]:
    """``detections`` with each ``(478, 3)`` landmark set (frame px) attached to the detection nearest its
    centre (within half a face width); a set near no detection becomes a detection of its own (its
    landmarks' box, score 1)."""
    out = list(detections)
    for landmarks in landmark_sets:
        box = landmark_box(landmarks)
        centre = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2], np.float32)
        free = [(float(np.hypot(*(d.centre - centre))), i) for i, d in enumerate(out) if d.landmarks is None]
        dist, i = min(free, default=(np.inf, -1))
        if i >= 0 and dist < 0.5 * max(box[2], out[i].box[2]):
            out[i] = dataclasses.replace(out[i], landmarks=landmarks)
        else:
            out.append(Detection(box, 1.0, None, landmarks))
    return out


class Landmarker:
    """MediaPipe FaceLandmarker: RGB images → landmarks in pixels of the frame they were cut from.

    ``video`` selects VIDEO mode (increasing timestamps; MediaPipe follows the faces between
    frames, so every image must show the same view) or IMAGE mode (each image on its own:
    crops from anywhere in the frame).
    """

    def __init__(self, model_path: str, *, num_faces: int = 4, video: bool = True) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=num_faces,
            min_face_detection_confidence=0.5,
            min_face_presence_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        self.video = video
        self._task = vision.FaceLandmarker.create_from_options(options)
        self._last_ms = -1

    def detect(self, rgb: np.ndarray, timestamp_ms: int, box: Box) -> list[np.ndarray]:
        """Landmarks of each face in ``rgb`` ((h, w, 3) uint8 RGB), the frame region ``box``, in frame pixels.

        ``box`` is (x, y, w, h) in frame pixels; z is scaled like x. ``timestamp_ms`` is
        used (made strictly increasing) in VIDEO mode only.
        """
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.video:
            timestamp_ms = max(int(timestamp_ms), self._last_ms + 1)
            self._last_ms = timestamp_ms
            result = self._task.detect_for_video(image, timestamp_ms)
        else:
            result = self._task.detect(image)
        x, y, width, height = box
        scale = np.array([width, height, width], np.float32)
        offset = np.array([x, y, 0], np.float32)
        return [
            np.array([(p.x, p.y, p.z) for p in face], np.float32) * scale + offset
            for face in result.face_landmarks
            if len(face) == N_LANDMARKS
        ]

    def close(self) -> None:
        if self._task is not None:
            self._task.close()
            self._task = None


def face_size(landmarks: np.ndarray) -> float:
    """The larger side (px) of the bounding box of ``(N, 2+)`` landmarks."""
    return float(np.ptp(landmarks[:, :2], axis=0).max())


def square_box(cx: float, cy: float, side: float, frame_size: tuple[int, int]) -> Box:
    """The square (x, y, s, s) of side ``side`` (at most the shorter frame side) centred on (cx, cy) px,
    shifted to lie inside the frame of ``frame_size`` (W, H)."""
    width, height = frame_size
    s = max(1, min(round(side), width, height))
    x = round(min(max(cx - s / 2, 0.0), width - s))
    y = round(min(max(cy - s / 2, 0.0), height - s))
    return x, y, s, s


def scan_tiles(frame_size: tuple[int, int]) -> list[Box]:
    """The square crops searched for small faces: the centre square (side = shorter frame side),
    then, when the frame is at least 5:4 or 4:5, the squares at both ends of its longer side."""
    width, height = frame_size
    s = min(width, height)
    tiles = [square_box(width / 2, height / 2, s, frame_size)]
    if max(width, height) - s >= s / 4:
        tiles += [square_box(s / 2, s / 2, s, frame_size), square_box(width - s / 2, height - s / 2, s, frame_size)]
    return tiles


class FaceFinder:
    """Finds the faces of a frame, small ones too, as landmark arrays in frame pixels.

    The VIDEO-mode landmarker looks at the whole frame (downscaled): big faces, followed by
    MediaPipe between frames. Its short-range detector sees that frame letterboxed into
    128x128 px, so it misses faces narrower than about 1/8 of a 16:9 frame; a second,
    IMAGE-mode landmarker therefore looks at square crops of the full-resolution frame:
    around each face found that way before (a region ``roi_scale`` times the face size),
    and at one `scan_tiles` square in turn whenever no face is found at all, and every
    ``scan_every`` analyses anyway (a small face beside a big one). A face found in a crop
    keeps its region while it is found, and the whole-frame result for it is dropped (one
    landmark source per face) until it grows to ``handover`` times the longer frame side.
    """

    def __init__(self, model_path: str, *, num_faces: int = 4, analysis_size: int = 640, roi_scale: float = 2.5,
                 scan_every: int = 10, handover: float = 0.2) -> None:
        self.num_faces = num_faces
        self.analysis_size = analysis_size
        self.roi_scale = roi_scale
        self.scan_every = scan_every
        self.handover = handover
        self._whole = Landmarker(model_path, num_faces=num_faces, video=True)
        try:
            self._crops = Landmarker(model_path, num_faces=num_faces, video=False)
        except BaseException:
            self._whole.close()
            raise
        self._cropped: list[np.ndarray] = []  # last faces found in crops, frame px
        self._count = 0
        self._tile = 0

    def __repr__(self) -> str:
        return (f"FaceFinder(num_faces={self.num_faces}, roi_scale={self.roi_scale}, scan_every={self.scan_every}, "
                f"handover={self.handover})")

    def find(self, image: np.ndarray, small: np.ndarray, timestamp_ms: int) -> list[np.ndarray]:
        """``(478, 3) float32`` landmarks (frame px) of the faces in ``image`` ((H, W, 3) uint8 BGR),
        of which ``small`` is the downscaled ``(h, w, 3) uint8 RGB`` copy, taken at ``timestamp_ms``."""
        h, w = image.shape[:2]
        whole = self._whole.detect(small, timestamp_ms, (0, 0, w, h))
        cropped: list[np.ndarray] = []
        for previous in self._cropped:
            box = square_box(*previous[:, :2].mean(axis=0), self.roi_scale * face_size(previous), (w, h))
            found = [d for d in self._detect_crop(image, box) if not _near_any(d, cropped)]
            if found:
                centre = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2])
                cropped.append(min(found, key=lambda d: float(np.hypot(*(d[:, :2].mean(axis=0) - centre)))))
        # A face grown big enough for the whole frame goes back to it (one landmark pass less).
        cropped = [d for d in cropped if face_size(d) < self.handover * max(w, h) or not _near_any(d, whole)]
        whole = [d for d in whole if not _near_any(d, cropped)]
        self._count += 1
        if not (whole or cropped) or self._count % self.scan_every == 0:
            tiles = scan_tiles((w, h))
            box = tiles[self._tile % len(tiles)]
            self._tile += 1
            cropped += [d for d in self._detect_crop(image, box) if not _near_any(d, whole + cropped)]
        self._cropped = cropped[: self.num_faces]
        return (self._cropped + whole)[: self.num_faces]

    def _detect_crop(self, image: np.ndarray, box: Box) -> list[np.ndarray]:
        # MediaPipe scales the crop to each model's input itself; only very big crops are reduced
        # first (a non-integer INTER_AREA resize of a 720 px tile costs more than the detector).
        x, y, s, _ = box
        crop = image[y : y + s, x : x + s]
        if s > 2 * self.analysis_size:
            crop = cv2.resize(crop, (self.analysis_size, self.analysis_size), interpolation=cv2.INTER_AREA)
        return self._crops.detect(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB), 0, box)

    def close(self) -> None:
        self._whole.close()
        self._crops.close()


def _near_any(landmarks: np.ndarray, others: list[np.ndarray]) -> bool:
    """Whether the face ``landmarks`` has its centre within half a face size of one of ``others``."""
    centre = landmarks[:, :2].mean(axis=0)
    return any(
        np.hypot(*(centre - o[:, :2].mean(axis=0))) < 0.5 * max(face_size(landmarks), face_size(o)) for o in others
    )
