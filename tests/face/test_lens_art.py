"""The look of the glasses and big-eyes lenses on a real photo: anti-aliased, shaded, within the
face; big-eyes visible at its default."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

ASTRONAUT_FACE = (177, 82, 95, 95)  # FaceDetector's box (x, y, w, h), shared/README.md
EYE_LEFT, EYE_RIGHT = (33, 133), (263, 362)  # outer and inner corners in the 478-point mesh


@pytest.fixture(scope="module")
def landmarks(astronaut):
    """The astronaut's face landmarks (478, 2) in photo pixels, from the face stage."""
    from helpers import MODELS

    pytest.importorskip("mediapipe")
    if not (MODELS / "face_landmarker.task").is_file():
        pytest.skip("the face model is missing")
    from camfilters.face import build_face_stage

    with build_face_stage(["glasses"], None, face_model=str(MODELS / "face_landmarker.task"),
                          segmentation_model=str(MODELS / "selfie_segmentation.tflite"), synchronous=True) as stage:
        stage.process(astronaut, 0.0)
        faces = stage.result.faces
    assert len(faces) == 1
    return faces[0].landmarks[:, :2].copy()


def glasses_alpha(landmarks, shape) -> tuple[np.ndarray, np.ndarray]:
    """The glasses drawn on black and on white: their coverage (H, W) in [0, 1] and colour on black (H, W, 3).

    Each layer is ``out = src + a (colour - src)``, so white - black = 255 (1 - a).
    """
    from camfilters.face.lenses import GlassesLens

    lens = GlassesLens()
    black, white = np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8)
    lens._draw(black, landmarks)
    lens._draw(white, landmarks)
    alpha = 1.0 - (white.astype(np.float32) - black).mean(axis=2) / 255.0
    return np.clip(alpha, 0.0, 1.0), black


def test_glasses_sit_within_the_face_and_cover_the_eyes(landmarks, astronaut):
    alpha, _ = glasses_alpha(landmarks, astronaut.shape)
    x, y, w, h = ASTRONAUT_FACE
    grow = 0.35
    outside = np.ones(alpha.shape, bool)
    outside[int(y - grow * h):int(y + h + grow * h), int(x - grow * w):int(x + w + grow * w)] = False
    assert alpha[outside].max() == 0.0
    for eye in (EYE_LEFT, EYE_RIGHT):
        cx, cy = np.round(landmarks[list(eye)].mean(axis=0)).astype(int)
        assert alpha[cy, cx] > 0.6  # the tinted lens over the eye


def test_glasses_edges_are_anti_aliased(landmarks, astronaut):
    """Along the outline of the drawing, coverage steps through intermediate values: the edge pixels
    (drawn, with an undrawn 4-neighbour) are mostly partial, and almost no opaque pixel touches an
    undrawn one (a hard-edged drawing has them all along its outline)."""
    alpha, _ = glasses_alpha(landmarks, astronaut.shape)
    drawn = (alpha > 0).astype(np.uint8)
    edge = drawn.astype(bool) & (cv2.erode(drawn, np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)) == 0)
    assert edge.sum() > 200
    partial = (alpha[edge] > 0.02) & (alpha[edge] < 0.9)
    assert partial.mean() > 0.85, partial.mean()
    assert (alpha[edge] >= 0.98).mean() < 0.02


def test_glasses_are_shaded(landmarks, astronaut):
    """The opaque frame has a top-to-bottom gradient, and the lenses a bright reflection."""
    alpha, colour = glasses_alpha(landmarks, astronaut.shape)
    grey = colour.astype(np.float32).mean(axis=2)
    rim = grey[alpha > 0.98]
    assert np.percentile(rim, 95) - np.percentile(rim, 5) > 30  # not one flat colour
    lens_zone = (alpha > 0.5) & (alpha < 0.98)  # the tinted lenses (the frame is opaque)
    assert np.percentile(grey[lens_zone], 99) > 2.0 * np.median(grey[lens_zone])  # a highlight


def dark_eye_area(image: np.ndarray, landmarks) -> int:
    """Dark pixels (grey < 80: iris, pupil, lashes) within 1.2 eye widths of each eye centre."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for eye in (EYE_LEFT, EYE_RIGHT):
        pts = landmarks[list(eye)]
        centre, width = pts.mean(axis=0), float(np.hypot(*(pts[0] - pts[1])))
        cv2.circle(mask, tuple(int(v) for v in np.round(centre)), int(1.2 * width), 1, -1)
    return int(((cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) < 80) & (mask > 0)).sum())


def test_big_eyes_is_visible_at_its_default(make_stage, astronaut, landmarks):
    """At its default the dark of the eyes grows 1.7x+ in area (measured 1.89x), well above the old
    default's 1.47x (scale 1.6 over 1.3 eye widths, kept here as the reference)."""
    from camfilters.face.lenses import BigEyesLens

    out = make_stage(["big-eyes"]).process(astronaut, 0.0)
    old = astronaut.copy()
    for eye in ((33, 133, 159, 145), (263, 362, 386, 374)):
        pts = landmarks[list(eye)]
        BigEyesLens._magnify(old, pts.mean(axis=0), 1.3 * float(np.hypot(*(pts[0] - pts[1]))), 1.0 - 1.0 / 1.6)
    plain = dark_eye_area(astronaut, landmarks)
    before, after = dark_eye_area(old, landmarks) / plain, dark_eye_area(out, landmarks) / plain
    assert after > 1.7 and after > before + 0.25, (before, after)
