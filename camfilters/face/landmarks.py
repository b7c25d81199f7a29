"""MediaPipe FaceLandmarker on the frame and on crops, for the landmark lenses (glasses, mesh, big eyes, ...).

Landmarks are returned in pixels of the full frame as ``(478, 3) float32`` arrays (x, y, z; z in the same
pixel scale, negative towards the camera).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from .detect import Detection
from .tracking import Box4

N_LANDMARKS = 478
Box = tuple[int, int, int, int]  # (x, y, w, h) in frame pixels


def landmark_box(landmarks: np.ndarray) -> Box4:
    """The (x, y, w, h) bounding box (px) of ``(N, 2+)`` landmarks."""
    x0, y0 = landmarks[:, :2].min(axis=0)
    x1, y1 = landmarks[:, :2].max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


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
