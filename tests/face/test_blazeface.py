"""`blazeface.BlazeFace` (the models on LiteRT, decoded here) against MediaPipe's FaceDetector task on the same
models and the same real crops: the same faces, scores within 1e-4, boxes and keypoints within 1 px."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camfilters.face.blazeface import BlazeFace, anchors
from camfilters.face.detect import BUNDLED_CONFIRMER, BUNDLED_DETECTOR

from helpers import MODELS


def mediapipe_faces(path, rgb: np.ndarray, min_score: float) -> list[tuple[tuple[int, int, int, int], float, np.ndarray]]:
    """The reference: (box x, y, w, h px, score, keypoints (6, 2) px) of MediaPipe's task, IMAGE mode."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceDetectorOptions(base_options=BaseOptions(model_asset_path=str(path)),
                                         running_mode=vision.RunningMode.IMAGE,
                                         min_detection_confidence=min_score, min_suppression_threshold=0.3)
    h, w = rgb.shape[:2]
    with vision.FaceDetector.create_from_options(options) as task:
        result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
    return [((d.bounding_box.origin_x, d.bounding_box.origin_y, d.bounding_box.width, d.bounding_box.height),
             d.categories[0].score, np.array([(k.x * w, k.y * h) for k in d.keypoints])) for d in result.detections]


def crops(photos: list[np.ndarray], side: int, n: int, seed: int) -> list[np.ndarray]:
    """``n`` square RGB crops of ``side`` px from the photos (BGR), at random places and scales."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        s = int(rng.integers(min(h, w) // 8, min(h, w)))
        x, y = int(rng.integers(0, w - s + 1)), int(rng.integers(0, h - s + 1))
        out.append(cv2.cvtColor(cv2.resize(photo[y:y + s, x:x + s], (side, side), interpolation=cv2.INTER_AREA),
                                cv2.COLOR_BGR2RGB))
    return out


@pytest.mark.parametrize("path, side", [(BUNDLED_CONFIRMER, 128), (BUNDLED_DETECTOR, 192)])
def test_the_same_faces_as_mediapipe(need_mediapipe, astronaut, coffee, path, side):
    ours = BlazeFace(str(path), min_score=0.3)
    compared = 0
    for rgb in crops([astronaut, coffee], side, 24, seed=side):
        mine = sorted(ours.detect(rgb), key=lambda d: -d.score)
        theirs = sorted(mediapipe_faces(path, rgb, 0.3), key=lambda d: -d[1])
        assert len(mine) == len(theirs), ([d.score for d in mine], [d[1] for d in theirs])
        for d, (box, score, keypoints) in zip(mine, theirs):
            assert d.score == pytest.approx(score, abs=1e-4)
            assert np.abs(d.keypoints - keypoints).max() <= 1.0
            x, y, w, h = d.box
            assert w == pytest.approx(box[2], abs=1.0) and h == pytest.approx(box[3], abs=1.0)
            # MediaPipe moves a box that starts outside the image to 0 (keeping its size); here it stays put.
            assert (max(x, 0.0), max(y, 0.0)) == pytest.approx(box[:2], abs=1.0)
            compared += 1
    assert compared >= 10  # faces were there to compare


def test_anchors_match_the_models_outputs():
    assert len(anchors(128)) == 896 and len(anchors(192)) == 2304
    assert anchors(128)[0] == pytest.approx((0.5 / 16, 0.5 / 16)) and anchors(192)[-1] == pytest.approx((47.5 / 48,) * 2)


def test_another_model_is_refused(need_mediapipe):
    with pytest.raises(ValueError, match="not a MediaPipe face detector model"):
        BlazeFace(str(MODELS / "selfie_segmentation.tflite"))
