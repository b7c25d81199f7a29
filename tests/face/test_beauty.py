"""The beauty lens on astronaut.png: the skin loses high-frequency energy, the eyes, brows, lips and hair keep theirs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camfilters.face.beauty import EYE_RING_A, EYE_RING_B, LIPS
from camfilters.face.drawing import FACE_OVAL

CHEEKS_AND_FOREHEAD = (50, 280, 151)  # landmark indices at the middle of plain skin


def high_pass(image: np.ndarray) -> np.ndarray:
    """Grey minus its Gaussian blur (sigma 1.5 px): the fine texture, float32."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return grey - cv2.GaussianBlur(grey, (0, 0), 1.5)


def energy(image: np.ndarray, mask: np.ndarray) -> float:
    return float(np.mean(high_pass(image)[mask] ** 2))


def polygon(shape, points) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def regions(shape, landmarks, face_width):
    """(skin discs on the cheeks and forehead, the eyes and lips, the face oval grown by 6 % of the face width)."""
    xy = landmarks[:, :2]
    skin = np.zeros(shape[:2], np.uint8)
    for i in CHEEKS_AND_FOREHEAD:
        cv2.circle(skin, tuple(np.round(xy[i]).astype(int)), round(0.08 * face_width), 1, -1)
    sharp = polygon(shape, xy[list(EYE_RING_A)]) | polygon(shape, xy[list(EYE_RING_B)]) | polygon(shape, xy[list(LIPS)])
    grow = round(0.06 * face_width)
    oval = cv2.dilate(polygon(shape, xy[list(FACE_OVAL)]).astype(np.uint8), np.ones((2 * grow + 1,) * 2, np.uint8))
    return skin.astype(bool), sharp, oval.astype(bool)


def test_beauty_smooths_the_skin_only(make_stage, astronaut):
    """strength=1 removes most of the skin's fine texture; the eyes and lips are unchanged (within 1 level)
    and nothing outside the face oval (hair, background) changes."""
    stage = make_stage(["beauty:strength=1"])
    out = stage.process(astronaut, 0.0)
    face = stage.faces[0]
    skin, sharp, oval = regions(astronaut.shape, face.landmarks, face.width)
    before, after = energy(astronaut, skin), energy(out, skin)
    assert after < 0.6 * before, (before, after)
    assert np.abs(out[sharp].astype(int) - astronaut[sharp]).max() <= 1
    assert energy(out, sharp) == pytest.approx(energy(astronaut, sharp), rel=0.01)
    assert np.array_equal(out[~oval], astronaut[~oval])


def test_strength_orders_the_smoothing(make_stage, astronaut):
    """strength 0 changes nothing; 0.5 smooths the skin less than 1."""
    results = {}
    for strength in (0.0, 0.5, 1.0):
        stage = make_stage([f"beauty:strength={strength}"])
        results[strength] = stage.process(astronaut, 0.0).copy()
        face = stage.faces[0]
    skin, _, _ = regions(astronaut.shape, face.landmarks, face.width)
    assert np.array_equal(results[0.0], astronaut)
    assert energy(results[1.0], skin) < energy(results[0.5], skin) < energy(astronaut, skin)
