"""Face detection geometry: detections in frame pixels, tiles, squares, mirror padding, NMS.

Two MediaPipe BlazeFace models are bundled (`BUNDLED_DETECTOR`, `BUNDLED_CONFIRMER`; run by
`blazeface.BlazeFace`): the full-range one (192x192 input, faces far from the camera) searches
the frame and its tiles; the short-range one (128x128, about 2.5x cheaper per call) looks at each tracked face from its
centre and gives weak detections a second, independent opinion (`search.FaceDetector`).
Images are mirrored out past the frame's edges (``cv2.BORDER_REFLECT_101``) so that a face cut
in half by an edge meets its mirror image and reads as a whole face; a detection whose centre
lies more than a quarter face outside the frame is that mirror image and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # (x, y, w, h) in frame pixels
BUNDLED_DETECTOR = Path(__file__).with_name("assets") / "face_detection_full_range_sparse.tflite"
BUNDLED_CONFIRMER = Path(__file__).with_name("assets") / "blaze_face_short_range.tflite"


@dataclass(frozen=True)
class Detection:
    """One detected face: ``box`` (x, y, w, h) frame px, ``score`` in [0, 1], ``keypoints`` ``(6, 2)`` frame px
    (BlazeFace order: right eye, left eye, nose tip, mouth, right ear, left ear) or None, and the face's
    ``(478, 3) float32`` landmarks (frame px) when a landmarker found it too, else None. ``confirmed``: strong,
    or agreed with by a second model (`search.FaceDetector`); an unconfirmed one is only a candidate."""

    box: Box
    score: float
    keypoints: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    confirmed: bool = True

    @property
    def centre(self) -> np.ndarray:
        x, y, w, h = self.box
        return np.array([x + w / 2, y + h / 2], np.float32)


def tile_grid(size: tuple[int, int], tile: int, overlap: float = 0.25) -> list[tuple[int, int, int]]:
    """Squares (x, y, side) of side ``min(tile, W, H)`` covering an image of ``size`` (W, H), neighbours
    overlapping by at least ``overlap`` of the side (so a face cut by one tile edge is whole in the next)."""
    width, height = size
    side = max(1, min(tile, width, height))
    step = side * (1.0 - overlap)

    def starts(length: int) -> list[int]:
        n = int(np.ceil(max(0, length - side) / step)) + 1
        return [round(i * (length - side) / (n - 1)) if n > 1 else 0 for i in range(n)]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


def nms(detections: list[Detection], iou: float = 0.3, key=lambda d: d.score) -> list[Detection]:
    """The best detections by ``key`` (the score), dropping any that overlaps a kept one by more than ``iou``
    or lies mostly (60%) inside a kept one (the same face seen at two scales)."""
    kept: list[Detection] = []
    for det in sorted(detections, key=key, reverse=True):
        x, y, w, h = det.box
        duplicate = False
        for k in kept:
            kx, ky, kw, kh = k.box
            ix = max(0.0, min(x + w, kx + kw) - max(x, kx))
            iy = max(0.0, min(y + h, ky + kh) - max(y, ky))
            inter = ix * iy
            if inter > iou * (w * h + kw * kh - inter) or inter > 0.6 * min(w * h, kw * kh):
                duplicate = True
                break
        if not duplicate:
            kept.append(det)
    return kept


def centred_square(image: np.ndarray, centre: tuple[float, float], side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The square of ``side`` px (at most the image's shorter side) of ``image`` centred on ``centre`` (x, y px),
    mirrored past the image's edges, and its origin (x, y). A centre near or past an edge is moved in until
    more than half of the square lies inside, so the mirror image can fill the rest."""
    h, w = image.shape[:2]
    side = max(1, min(side, w, h))
    half = side // 2
    x = min(max(round(centre[0] - side / 2), 1 - half), w - side + half - 1) if side > 2 else 0
    y = min(max(round(centre[1] - side / 2), 1 - half), h - side + half - 1) if side > 2 else 0
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + side), min(h, y + side)
    pads = (y0 - y, y + side - y1, x0 - x, x + side - x1)  # top, bottom, left, right
    view = image[y0:y1, x0:x1]
    return (cv2.copyMakeBorder(view, *pads, cv2.BORDER_REFLECT_101) if max(pads) else view), (x, y)


def rescale(d: Detection, sx: float, sy: float) -> Detection:
    x, y, w, h = d.box
    keypoints = None if d.keypoints is None else d.keypoints * np.array([sx, sy], np.float32)
    return Detection((x * sx, y * sy, w * sx, h * sy), d.score, keypoints, d.landmarks, d.confirmed)


def tile_pad(length: int, tile: int, overlap: float = 0.25) -> int:
    """Mirror padding (px, each end) of a side of ``length`` px for `tile_grid`: the most, up to a quarter tile,
    that needs no more tiles than the side alone; at least an eighth of a tile (a 2 % face half out)."""
    side = min(tile, length)
    step = side * (1.0 - overlap)
    n = int(np.ceil(max(0, length - side) / step)) + 1
    return max(tile // 8, min(tile // 4, int((side + (n - 1) * step - length) / 2)))


def clamp_pads(px: int, py: int, width: int, height: int) -> tuple[int, int]:
    """Mirror padding (px on the left and right, py at the top and bottom) that ``BORDER_REFLECT_101``
    allows on an image of ``width`` x ``height``: less than each side."""
    return max(0, min(px, width - 1)), max(0, min(py, height - 1))


def mirror_pad(rgb: np.ndarray, px: int, py: int) -> np.ndarray:
    return cv2.copyMakeBorder(rgb, py, py, px, px, cv2.BORDER_REFLECT_101) if px or py else rgb


def mostly_inside(box: Box, size: tuple[int, int]) -> bool:
    """Whether the face ``box`` has its centre inside the frame of ``size`` (W, H) or at most a quarter face out:
    a face at least about a quarter inside, not the mirror image of a face inside (its centre lies at least
    half a face out)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    return -0.25 * w <= cx <= size[0] + 0.25 * w and -0.25 * h <= cy <= size[1] + 0.25 * h
