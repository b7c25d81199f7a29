"""`cover.paste_feathered` against the same step done by NumPy and OpenCV: a float weight map over the whole
region and ``cv2.blendLinear``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camfilters.face.cover import paste_feathered


def reference(view: np.ndarray, hidden: np.ndarray, origin, centre, half_axes, feather, ellipse):
    rows, cols = view.shape[:2]
    ys = np.arange(rows, dtype=np.float64)[:, None] + origin[1] - centre[1]
    xs = np.arange(cols, dtype=np.float64)[None, :] + origin[0] - centre[0]
    a, b = half_axes
    if ellipse:
        outside = (np.sqrt((xs / a) ** 2 + (ys / b) ** 2) - 1.0) * min(a, b)
    else:
        outside = np.hypot(np.maximum(np.abs(xs) - a, 0.0), np.maximum(np.abs(ys) - b, 0.0))
    weight = np.clip(1.0 - outside / feather, 0.0, 1.0).astype(np.float32)
    return cv2.blendLinear(hidden, view, weight, 1.0 - weight), weight


@pytest.mark.parametrize("ellipse", [True, False])
def test_the_same_picture_as_opencv(rng, ellipse):
    """Within 1 level (rounding) on random regions and images, equal to the hidden picture where the weight is 1,
    and untouched where it is 0 (nothing beyond the feather changes)."""
    for _ in range(40):
        rows, cols = (int(v) for v in rng.integers(3, 300, 2))
        view = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
        hidden = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
        origin = tuple(float(v) for v in rng.uniform(0, 500, 2))
        a, b = (float(v) for v in rng.uniform(0.3, 0.5, 2) * (cols, rows))
        centre = (origin[0] + cols / 2, origin[1] + rows / 2)
        feather = max(1.0, 0.1 * min(a, b))
        expected, weight = reference(view, hidden, origin, centre, (a, b), feather, ellipse)
        frame = np.zeros((rows + 10, cols + 10, 3), np.uint8)  # a strided view, as the lenses pass
        frame[5:-5, 5:-5] = view
        got = frame[5:-5, 5:-5]
        paste_feathered(got, hidden, origin, centre, (a, b), feather, ellipse)
        assert np.abs(got.astype(int) - expected).max() <= 1
        assert np.array_equal(got[weight == 0], view[weight == 0])
        assert np.array_equal(got[weight == 1], hidden[weight == 1])
        assert (frame[:5] == 0).all() and (frame[-5:] == 0).all()
