"""The ``edge`` filter against OpenCV's Sobel/Scharr/Laplacian, plus analytic and option checks.

Reference: ``cv2.cvtColor(BGR2GRAY)`` (or each channel with ``color=True``), then
``cv2.Sobel``/``cv2.Scharr``/``cv2.Laplacian`` to CV_32F with BORDER_REFLECT_101,
``cv2.magnitude`` (or ``abs``) and ``cv2.convertScaleAbs``. Tolerance: bit-exact with
``scale=1`` (measured max difference 0); 1 level with other scales (rounding of exact
halves: OpenCV rounds half to even, the filter half up).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filters

from helpers import max_diff, opencv_recipes

recipes = opencv_recipes()

METHODS = [("sobel", 1), ("sobel", 3), ("sobel", 5), ("sobel", 7), ("scharr", 3),
           ("laplacian", 1), ("laplacian", 3), ("laplacian", 5)]


def reference(src, method="sobel", ksize=3, color=False, scale=1.0, threshold=None):
    """The edge image computed with OpenCV calls only, (H, W, 3) uint8."""
    return recipes.edge(src, method=method, ksize=ksize, color=color, scale=scale, threshold=threshold)


@pytest.fixture(scope="module")
def photo(astronaut):
    """A 200x260 crop of the astronaut photo (face, flag and suit edges)."""
    return np.ascontiguousarray(astronaut[40:240, 100:360])


@pytest.mark.parametrize("method,ksize", METHODS)
@pytest.mark.parametrize("color", [False, True], ids=["grey", "color"])
def test_matches_opencv_exactly(photo, method, ksize, color):
    """With scale=1 the result equals the OpenCV pipeline bit for bit."""
    result = filters.get("edge", method=method, ksize=ksize, color=color)(photo)
    np.testing.assert_array_equal(result, reference(photo, method, ksize, color))


@pytest.mark.parametrize("method,ksize", [("sobel", 5), ("laplacian", 1), ("scharr", 3)])
def test_scale_within_one_level(photo, method, ksize):
    """A non-unit scale stays within 1 level of convertScaleAbs(alpha=scale)."""
    result = filters.get("edge", method=method, ksize=ksize, scale=0.3)(photo)
    assert max_diff(result, reference(photo, method, ksize, scale=0.3)) <= 1


@pytest.mark.parametrize("method,ksize", METHODS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 3), (2, 5), (5, 2), (3, 3)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_tiny_frames_match_opencv_borders(photo, method, ksize, shape):
    """Frames smaller than the aperture reflect (101) like OpenCV, bit for bit."""
    src = np.ascontiguousarray(photo[50:50 + shape[0], 80:80 + shape[1]])
    result = filters.get("edge", method=method, ksize=ksize)(src)
    np.testing.assert_array_equal(result, reference(src, method, ksize))


@pytest.mark.parametrize("color", [False, True], ids=["grey", "color"])
def test_threshold_binarises(photo, color):
    """threshold=t gives 255 exactly where the magnitude is > t, else 0."""
    result = filters.get("edge", threshold=60, color=color)(photo)
    assert set(np.unique(result)) == {0, 255}
    np.testing.assert_array_equal(result, reference(photo, color=color, threshold=60))


def test_grey_mode_writes_equal_channels(photo):
    """color=False gives white-on-black grey edges: three identical channels."""
    result = filters.get("edge")(photo)
    assert np.array_equal(result[..., 0], result[..., 1]) and np.array_equal(result[..., 0], result[..., 2])
    assert result.max() == 255 and np.median(result) < 40


@pytest.mark.parametrize("method,ksize", METHODS)
def test_constant_image_gives_zeros(method, ksize):
    """A constant frame has no gradient anywhere, borders included."""
    src = np.full((23, 31, 3), (12, 200, 90), np.uint8)
    assert not filters.get("edge", method=method, ksize=ksize, color=True)(src).any()


@pytest.mark.parametrize("method,ksize", [("sobel", 3), ("scharr", 3), ("laplacian", 1)])
def test_vertical_step_gives_vertical_line(method, ksize):
    """A vertical step edge lights the two columns next to the step, in every row, and nothing else."""
    src = np.zeros((16, 20, 3), np.uint8)
    src[:, 10:] = 255
    result = filters.get("edge", method=method, ksize=ksize)(src)
    lit = np.flatnonzero(result[..., 0].max(axis=0))
    np.testing.assert_array_equal(lit, [9, 10])
    assert (result[:, 9:11] == 255).all()  # 255 * kernel weight saturates


def test_src_untouched_and_deterministic(photo):
    """src is not modified and two calls (one reusing buffers) agree."""
    before = photo.copy()
    flt = filters.get("edge", method="sobel", ksize=5, color=True)
    first = flt(photo)
    np.testing.assert_array_equal(flt(photo), first)
    np.testing.assert_array_equal(photo, before)


def test_parse_spec():
    """The CLI form builds the same filter, 'none' meaning no threshold."""
    flt = filters.parse("edge:method=laplacian,ksize=1,threshold=none,color=true,scale=0.5")
    assert (flt.method, flt.ksize, flt.threshold, flt.color, flt.scale) == ("laplacian", 1, None, True, 0.5)
    assert filters.parse(flt.spec).spec == flt.spec


@pytest.mark.parametrize("options,message", [
    ({"method": "canny"}, r"method must be one of sobel, scharr, laplacian, got 'canny'"),
    ({"ksize": 4}, r"ksize must be one of 1, 3, 5, 7, got 4"),
    ({"method": "scharr", "ksize": 5}, r"ksize must be one of 3 for method=scharr, got 5"),
    ({"method": "laplacian", "ksize": 7}, r"ksize must be one of 1, 3, 5 for method=laplacian, got 7"),
    ({"threshold": 256}, r"threshold must be between 0 and 255, got 256"),
    ({"threshold": -1}, r"threshold must be between 0 and 255, got -1"),
    ({"scale": 0}, r"scale must be > 0 and <= 1000, got 0"),
    ({"color": "maybe"}, r"color must be bool, got 'maybe'"),
    ({"sigma": 1}, r"unknown option 'sigma'"),
])
def test_bad_options_raise(options, message):
    """The constructor rejects a bad option, naming it and the bad value."""
    with pytest.raises(filters.ParameterError, match=message):
        filters.get("edge", **options)


@settings(deadline=None, max_examples=30)
@given(height=st.integers(1, 40), width=st.integers(1, 40), method=st.sampled_from(METHODS),
       color=st.booleans(), seed=st.integers(0, 2**16))
def test_random_shapes_match_opencv(height, width, method, color, seed):
    """Any shape and content matches the OpenCV pipeline bit for bit."""
    src = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    result = filters.get("edge", method=method[0], ksize=method[1], color=color)(src)
    np.testing.assert_array_equal(result, reference(src, *method, color))
