"""The ``beauty`` lens: edge-preserving skin smoothing, confined to the skin by the face landmarks.

The skin is the face oval minus the eyes, brows and lips (each grown a little), with a
feathered edge; hair (outside the oval) is never touched. Inside it the frame is replaced,
by ``strength``, with a self-guided filter (He et al., "Guided Image Filtering", 2010) of
radius about 1/20 of the face width: flat skin texture is averaged away while edges with
a variance above ``eps`` (nose, jaw, wrinkles' strong edges) stay. For speed the filter
runs on a copy of the face's box at most `WORK_SIZE` px wide and is upsampled back.
"""

from __future__ import annotations

import cv2
import numpy as np

from filters.base import Option, in_range

from .drawing import FACE_OVAL, SHIFT, blend, box_around, fixed_point
from .lenses import Lens, Scene, register_lens

# Face-mesh rings (landmark indices) of the parts left sharp.
EYE_RING_A = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
EYE_RING_B = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
BROW_A = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
BROW_B = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
SHARP_PARTS = (EYE_RING_A, EYE_RING_B, BROW_A, BROW_B, LIPS)
WORK_SIZE = 160  # px: the width of the face's box the filter works at (at most)
EPS = 0.006  # guided filter's edge threshold: variance in (0..1 intensity)^2; about 20 levels std


def guided_smooth(image: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Self-guided filter of ``image`` ((h, w, 3) float32 in 0..1), each channel guiding itself; box ``radius`` px."""
    k = (2 * radius + 1, 2 * radius + 1)
    box = lambda x: cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mean = box(image)
    var = box(image * image) - mean * mean
    a = var / (var + eps)
    b = mean - a * mean
    return box(a) * image + box(b)


def skin_alpha(landmarks: np.ndarray, roi: tuple[slice, slice], face_width: float) -> np.ndarray:
    """``(h, w) float32`` weight over ``roi``: 1 on the skin (oval minus eyes, brows, lips), 0 elsewhere, feathered."""
    origin = np.array([roi[1].start, roi[0].start], np.float32)
    xy = landmarks[:, :2] - origin
    shape = (roi[0].stop - roi[0].start, roi[1].stop - roi[1].start)
    feather = max(1.0, 0.025 * face_width)
    grow = int(round(2.0 * feather))  # sharp parts grow by this much, so the feather stays off them
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [fixed_point(xy[list(FACE_OVAL)])], 255, cv2.LINE_AA, SHIFT)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(1, grow // 2))  # feather inside the oval
    parts = np.zeros(shape, np.uint8)
    for ring in SHARP_PARTS:
        cv2.fillPoly(parts, [fixed_point(xy[list(ring)])], 255, cv2.LINE_AA, SHIFT)
    parts = cv2.dilate(parts, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    mask = cv2.subtract(mask, parts)
    return cv2.GaussianBlur(mask, (0, 0), feather).astype(np.float32) * np.float32(1.0 / 255.0)


@register_lens("beauty")
class BeautyLens(Lens):
    help = "smooth the skin, keeping eyes, brows, lips and hair sharp"
    options = (Option("strength", float, 0.7, "how much smoothing, 0 (none) to 1", in_range(0.0, 1.0)),)

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        if self.strength <= 0.0:
            return
        for face in scene.landmark_faces():
            self._smooth(frame, face.landmarks, face.width)

    def _smooth(self, frame: np.ndarray, landmarks: np.ndarray, face_width: float) -> None:
        roi = box_around(landmarks[list(FACE_OVAL), :2], 2.0, frame.shape)
        if roi is None or face_width < 8.0:
            return
        view = frame[roi]
        h, w = view.shape[:2]
        f = min(1.0, WORK_SIZE / w)
        small = cv2.resize(view, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        radius = max(1, round(face_width * f / 20.0))
        smooth = guided_smooth(small.astype(np.float32) * np.float32(1.0 / 255.0), radius, EPS)
        smooth = cv2.resize(smooth, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(255.0)
        alpha = skin_alpha(landmarks, roi, face_width) * np.float32(self.strength)
        blend(view, np.clip(smooth + 0.5, 0, 255).astype(np.uint8), alpha)
