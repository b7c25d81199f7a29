"""The ``sharpen`` (unsharp mask) and ``emboss`` filters against OpenCV.

Tolerances: ``sharpen`` within 1 level of ``cv2.addWeighted(src, 1 + a,
cv2.GaussianBlur(src), -a, 0)`` (the blur is bit-exact; float32 rounding of the weighted
sum may differ by 1: measured 0 for integer amounts, 1 otherwise). ``emboss`` within 1 level
of ``cv2.filter2D`` (0 for integer kernels).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filters
from filters import ParameterError

from helpers import max_diff, mean_abs, opencv_recipes

recipes = opencv_recipes()

B101 = cv2.BORDER_REFLECT_101
TINY = [(1, 1), (1, 7), (7, 1), (7, 3), (2, 2)]


def cv_sharpen(src: np.ndarray, amount: float = 1.0, ksize: int = 5, sigma: float = 0.0) -> np.ndarray:
    return recipes.sharpen(src, amount=amount, ksize=ksize, sigma=sigma)


def cv_emboss(src: np.ndarray, strength: float = 1.0, gray: bool = False) -> np.ndarray:
    return recipes.emboss(src, strength=strength, gray=gray)


@pytest.mark.parametrize("photo", ["coffee", "astronaut"])
@pytest.mark.parametrize(("amount", "ksize", "sigma", "tolerance"),
                         [(1.0, 5, 0.0, 0), (5.0, 5, 0.0, 0), (0.37, 9, 0.0, 1), (2.5, 7, 3.0, 1)])
def test_sharpen_matches_opencv_on_photos(request, photo, amount, ksize, sigma, tolerance) -> None:
    src = request.getfixturevalue(photo)
    result = filters.get("sharpen", amount=amount, ksize=ksize, sigma=sigma)(src)
    assert max_diff(result, cv_sharpen(src, amount, ksize, sigma)) <= tolerance


@pytest.mark.parametrize("shape", TINY)
def test_sharpen_matches_opencv_on_tiny_frames(rng, shape) -> None:
    src = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert max_diff(filters.get("sharpen", amount=1.5)(src), cv_sharpen(src, 1.5)) <= 1


def test_sharpen_keeps_constant_frame() -> None:
    """A constant frame stays constant under sharpen, whatever the amount."""
    src = np.full((11, 14, 3), (3, 128, 252), np.uint8)
    np.testing.assert_array_equal(filters.get("sharpen", amount=5.0)(src), src)


def test_sharpen_amount_zero_is_identity(coffee) -> None:
    """amount=0 returns the frame unchanged."""
    np.testing.assert_array_equal(filters.get("sharpen", amount=0.0)(coffee), coffee)


def test_sharpen_raises_contrast_at_an_edge() -> None:
    """A step edge gets an undershoot on the dark side and an overshoot on the bright side."""
    src = np.full((9, 20, 3), 60, np.uint8)
    src[:, 10:] = 180
    row = filters.get("sharpen", amount=1.0)(src)[4, :, 0].astype(int)
    assert row[9] < 60 < 180 < row[10]
    assert row[0] == 60 and row[-1] == 180


@pytest.mark.parametrize("photo", ["coffee", "astronaut"])
@pytest.mark.parametrize(("strength", "gray", "tolerance"),
                         [(1.0, False, 0), (0.3, False, 1), (1.0, True, 0), (2.7, True, 1)])
def test_emboss_matches_opencv_on_photos(request, photo, strength, gray, tolerance) -> None:
    src = request.getfixturevalue(photo)
    result = filters.get("emboss", strength=strength, gray=gray)(src)
    assert max_diff(result, cv_emboss(src, strength, gray)) <= tolerance


def test_colour_emboss_is_the_classic_kernel(astronaut) -> None:
    kernel = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)
    np.testing.assert_array_equal(filters.get("emboss", gray=False).kernel(), kernel)
    assert max_diff(filters.get("emboss", gray=False)(astronaut),
                    cv2.filter2D(astronaut, -1, kernel, borderType=B101)) == 0


def test_default_emboss_is_the_grey_relief(astronaut) -> None:
    """The default must be obvious: the grey relief, far from the picture itself."""
    assert filters.get("emboss").gray
    assert mean_abs(filters.get("emboss")(astronaut), astronaut) > 40


def test_grey_emboss_of_flat_frame_is_mid_grey() -> None:
    """Flat areas become 128 in the grey relief, on every channel."""
    src = np.full((8, 9, 3), (10, 200, 90), np.uint8)
    assert (filters.get("emboss", gray=True)(src) == 128).all()


def test_emboss_lights_one_side_of_a_ridge() -> None:
    """Light comes from the top left: a bright square is lit on its top-left edges, shadowed on the others."""
    src = np.zeros((20, 20, 3), np.uint8)
    src[5:15, 5:15] = 100
    relief = filters.get("emboss", gray=True)(src)[..., 0].astype(int)
    assert relief[5, 10] > 128 > relief[14, 10]
    assert relief[10, 5] > 128 > relief[10, 14]
    assert relief[10, 10] == 128


@settings(deadline=None, max_examples=30)
@given(height=st.integers(1, 30), width=st.integers(1, 30), amount=st.floats(0.0, 5.0),
       gray=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_sharpen_and_emboss_match_opencv_on_random_shapes(height, width, amount, gray, seed) -> None:
    src = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    before = src.copy()
    assert max_diff(filters.get("sharpen", amount=amount)(src), cv_sharpen(src, amount)) <= 1
    assert max_diff(filters.get("emboss", gray=gray)(src), cv_emboss(src, gray=gray)) == 0
    np.testing.assert_array_equal(src, before)


@pytest.mark.parametrize(("name", "options", "message"), [
    ("sharpen", {"amount": 6.0}, r"amount must be between 0.0 and 5.0, got 6.0"),
    ("sharpen", {"amount": -0.5}, r"amount must be between 0.0 and 5.0, got -0.5"),
    ("sharpen", {"ksize": 6}, r"ksize must be an odd integer >= 3, got 6"),
    ("sharpen", {"sigma": float("nan")}, r"sigma must be float, got nan"),
    ("emboss", {"strength": 11}, r"strength must be between 0.0 and 10.0, got 11"),
    ("emboss", {"gray": "maybe"}, r"gray must be bool, got 'maybe'"),
])
def test_bad_options_are_rejected(name, options, message) -> None:
    with pytest.raises(ParameterError, match=message):
        filters.get(name, **options)
