"""``cartoon`` keeps small facial features readable: eyes and mouth are not dark blobs.

The boxes are the eyes and lips of astronaut.png (512 px), from MediaPipe's face-mesh
landmarks (eye contours 33..246 and 263..466, outer lips 61..409) plus 3 px, measured once.
The photo is upscaled 2x, so the face is as large as in a 720p webcam picture and the
filter works at half size, as it does there. Two proxies, each against the source photo:

- the share of near-black pixels (luma < 50) in the boxes: the source has 4 % (the
  pupils); the outlines before thinning in crowded places made 41 % (eyes) and 16 % (mouth);
- the correlation of the boxes' Sobel magnitude with the source's: the blobs had none
  (-0.14), thin lines follow the lids and the iris (0.28).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import filters

EYES = [(192, 217, 94, 108), (233, 258, 96, 111)]  # x0, x1, y0, y1 in the 512 px photo
MOUTH = [(200, 246, 136, 158)]
SCALE = 2


def regions(image, boxes):
    """The boxes of ``image`` (the photo upscaled `SCALE` x), as a list of arrays."""
    return [image[y0 * SCALE:y1 * SCALE, x0 * SCALE:x1 * SCALE] for x0, x1, y0, y1 in boxes]


def near_black(image, boxes):
    luma = np.concatenate([cv2.cvtColor(r, cv2.COLOR_BGR2GRAY).ravel() for r in regions(image, boxes)])
    return float(np.mean(luma < 50))


def edge_correlation(image, source, boxes):
    def sobel(r):
        grey = cv2.cvtColor(r, cv2.COLOR_BGR2GRAY).astype(np.float32)
        return cv2.magnitude(cv2.Sobel(grey, -1, 1, 0), cv2.Sobel(grey, -1, 0, 1)).ravel()
    return float(np.mean([np.corrcoef(sobel(a), sobel(b))[0, 1]
                          for a, b in zip(regions(image, boxes), regions(source, boxes))]))


@pytest.fixture(scope="module")
def face_pair(astronaut):
    big = cv2.resize(astronaut, (512 * SCALE, 512 * SCALE), interpolation=cv2.INTER_CUBIC)
    return big, filters.get("cartoon")(big)


@pytest.mark.parametrize(("boxes", "source_max", "cartoon_max"), [(EYES, 0.06, 0.32), (MOUTH, 0.02, 0.13)])
def test_eyes_and_mouth_are_not_dark_blobs(face_pair, boxes, source_max, cartoon_max):
    """Near-black share in the boxes: at most 32 % (eyes) and 13 % (mouth), against 41 % and 16 % before."""
    source, cartoon = face_pair
    assert near_black(source, boxes) <= source_max  # the boxes hold the features, not hair
    assert near_black(cartoon, boxes) <= cartoon_max


def test_eye_outlines_follow_the_source_edges(face_pair):
    """Sobel magnitude of the cartoon's eyes correlates with the source's at 0.2 or more (before: -0.14)."""
    source, cartoon = face_pair
    assert edge_correlation(cartoon, source, EYES) >= 0.2


def test_isolated_contours_stay_bold(face_pair):
    """Where lines do not crowd (the hair against the grey backdrop, x 280..300 at y 40 of the photo)
    the outline is still 2 working pixels (4 px here) of near-black, as before the thinning."""
    _, cartoon = face_pair
    row = cv2.cvtColor(cartoon[40 * SCALE:40 * SCALE + 1, 280 * SCALE:300 * SCALE], cv2.COLOR_BGR2GRAY)[0]
    assert (row < 50).sum() >= 4, row
