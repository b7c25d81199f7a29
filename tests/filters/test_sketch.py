"""The ``sketch`` filter against the classic OpenCV pencil-sketch recipe.

Reference: ``cv2.divide(grey, 255 - cv2.GaussianBlur(255 - grey, (k, k), sigma), scale=256)``
with ``grey = cv2.cvtColor(src, COLOR_BGR2GRAY)``, reflect-101. Tolerance 2 levels
(the luma and the Gaussian are bit-exact; the float32 quotient measured 0 here).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filters
from filters import ParameterError

from helpers import opencv_recipes

recipes = opencv_recipes()

TOLERANCE = 2


def cv_sketch(src: np.ndarray, ksize: int = 21, sigma: float = 0.0) -> np.ndarray:
    return recipes.sketch(src, ksize=ksize, sigma=sigma)[..., 0]


def check(result: np.ndarray, src: np.ndarray, **options) -> None:
    assert result.shape == src.shape and result.dtype == np.uint8
    assert (result[..., 0] == result[..., 1]).all() and (result[..., 0] == result[..., 2]).all()
    expected = cv_sketch(src, **options)
    assert np.abs(result[..., 0].astype(np.int16) - expected).max() <= TOLERANCE


@pytest.mark.parametrize("photo", ["coffee", "astronaut"])
@pytest.mark.parametrize(("ksize", "sigma"), [(21, 0.0), (5, 0.0), (41, 3.3)])
def test_sketch_matches_opencv_recipe_on_photos(request, photo, ksize, sigma) -> None:
    src = request.getfixturevalue(photo)
    check(filters.get("sketch", ksize=ksize, sigma=sigma)(src), src, ksize=ksize, sigma=sigma)


@pytest.mark.parametrize("photo", ["coffee", "astronaut"])
@pytest.mark.parametrize("ksize", [3, 5])
def test_one_pass_sketch_is_bit_exact(request, photo, ksize) -> None:
    """OpenCV's default 3 and 5 tap Gaussians take the one-pass kernel (luma, blur and dodge
    per band of rows, the luma rows in a ring): 0 levels from the recipe, also across band edges."""
    src = request.getfixturevalue(photo)
    result = filters.get("sketch", ksize=ksize)(src)
    assert (result[..., 0] == cv_sketch(src, ksize=ksize)).all()


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (7, 3), (2, 2), (3, 50)])
def test_sketch_matches_opencv_recipe_on_tiny_frames(rng, shape) -> None:
    src = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    check(filters.get("sketch")(src), src, ksize=21)


def test_flat_frame_turns_white() -> None:
    """A flat frame has no strokes: the dodge saturates to paper white."""
    src = np.full((12, 16, 3), (40, 120, 200), np.uint8)
    assert (filters.get("sketch")(src) == 255).all()


def test_black_frame_stays_black() -> None:
    """Zeros give zeros (0 / 0 is 0, as cv2.divide)."""
    assert not filters.get("sketch")(np.zeros((9, 9, 3), np.uint8)).any()


def test_dark_line_on_white_is_drawn() -> None:
    """A dark line on white paper stays dark while the paper around it stays white."""
    src = np.full((30, 30, 3), 255, np.uint8)
    src[:, 15] = 30
    result = filters.get("sketch", ksize=7)(src)[..., 0]
    assert result[10, 15] < 64
    assert (result[:, :10] == 255).all()


@settings(deadline=None, max_examples=30)
@given(height=st.integers(1, 30), width=st.integers(1, 30), ksize=st.sampled_from([3, 9, 21]),
       seed=st.integers(0, 2**32 - 1))
def test_sketch_matches_opencv_recipe_on_random_shapes(height, width, ksize, seed) -> None:
    src = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    before = src.copy()
    check(filters.get("sketch", ksize=ksize)(src), src, ksize=ksize)
    np.testing.assert_array_equal(src, before)


@pytest.mark.parametrize(("options", "message"), [
    ({"ksize": 20}, r"ksize must be an odd integer >= 3, got 20"),
    ({"sigma": -2}, r"sigma must be between 0.0 and 100.0, got -2"),
    ({"shade": 1}, r"unknown option 'shade'"),
])
def test_bad_options_are_rejected(options, message) -> None:
    with pytest.raises(ParameterError, match=message):
        filters.get("sketch", **options)
