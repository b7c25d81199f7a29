"""The ``blur`` (Gaussian) and ``box`` (mean) filters against OpenCV and scipy.ndimage.

Tolerances: ``blur`` is bit-exact with ``cv2.GaussianBlur`` (same 8-bit fixed point), so
0 levels; ``box`` within 1 level of ``cv2.blur`` (0 measured on these images).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

import filters
from filters import ParameterError
from filters.blur import sixteen_bit_taps
from filters.correlation import border_index
from filters.kernels import gaussian_taps

from helpers import max_diff, opencv_recipes

recipes = opencv_recipes()

B101 = cv2.BORDER_REFLECT_101
TINY = [(1, 1), (1, 7), (7, 1), (7, 3), (2, 2), (3, 50)]


def cv_blur(src: np.ndarray, ksize: int = 5, sigma: float = 0.0) -> np.ndarray:
    return recipes.gaussian_blur(src, ksize=ksize, sigma=sigma)


@pytest.mark.parametrize("photo", ["coffee", "astronaut"])
@pytest.mark.parametrize(("ksize", "sigma"), [(5, 0.0), (3, 0.0), (9, 0.0), (7, 2.5), (21, 0.0), (15, 1.2)])
def test_blur_matches_opencv_on_photos(request, photo, ksize, sigma) -> None:
    src = request.getfixturevalue(photo)
    assert max_diff(filters.get("blur", ksize=ksize, sigma=sigma)(src), cv_blur(src, ksize, sigma)) == 0


@pytest.mark.parametrize("shape", TINY)
@pytest.mark.parametrize("ksize", [3, 5, 11, 21])
def test_blur_matches_opencv_on_tiny_frames(rng, shape, ksize) -> None:
    src = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert max_diff(filters.get("blur", ksize=ksize)(src), cv_blur(src, ksize)) == 0


def test_blur_is_close_to_float_gaussian(coffee) -> None:
    """The fixed-point taps stay within 1.5 levels of scipy's float Gaussian (truncated like ours)."""
    sigma = 2.0
    expected = np.stack([ndi.gaussian_filter(coffee[..., c].astype(np.float64), sigma, mode="mirror",
                                             truncate=4.0 / sigma) for c in range(3)], axis=-1)
    ours = filters.get("blur", ksize=9, sigma=sigma)(coffee).astype(np.float64)
    assert np.abs(ours - expected).max() <= 1.5


def test_gaussian_taps_match_opencv_kernel() -> None:
    """The integer taps are OpenCV's float kernel rounded to 1/256, summing to exactly 256."""
    for ksize, sigma in [(5, 0.0), (11, 0.0), (21, 3.3), (31, 0.0), (7, 0.4)]:
        taps = gaussian_taps(ksize, sigma)
        assert taps.sum() == 256 and (taps == taps[::-1]).all()
        reference = cv2.getGaussianKernel(ksize, sigma, cv2.CV_64F).ravel() * 256
        assert np.abs(taps - reference).max() <= 1.0


def test_tiny_sigma_keeps_the_frame(coffee) -> None:
    """A sigma far below a pixel gives the identity, like OpenCV (no overflow in the taps)."""
    for sigma in (1e-300, 0.05):
        assert (gaussian_taps(7, sigma) == [0, 0, 0, 256, 0, 0, 0]).all()
        result = filters.get("blur", ksize=7, sigma=sigma)(coffee)
        np.testing.assert_array_equal(result, coffee)
        np.testing.assert_array_equal(result, cv_blur(coffee, 7, sigma))


def test_reflect101_index_maps_match_border_interpolate() -> None:
    """Every border index equals cv2.borderInterpolate, including axes narrower than the kernel."""
    for length in (1, 2, 3, 8):
        for radius in (1, 4, 10):
            expected = [cv2.borderInterpolate(p, length, B101) for p in range(-radius, length + radius)]
            assert border_index(length, radius, radius, "reflect101").tolist() == expected


def test_blur_keeps_constant_frame() -> None:
    """A constant frame stays constant under blur."""
    src = np.full((20, 31, 3), (7, 128, 250), np.uint8)
    np.testing.assert_array_equal(filters.get("blur", ksize=7)(src), src)


def test_blur_of_zeros_is_zeros() -> None:
    """Zeros give zeros."""
    src = np.zeros((9, 12, 3), np.uint8)
    assert not filters.get("blur", ksize=9)(src).any()


def test_blur_of_impulse_keeps_its_mass() -> None:
    """A single bright pixel spreads into a symmetric bump whose sum is the impulse, +- rounding."""
    src = np.zeros((31, 31, 3), np.uint8)
    src[15, 15] = 255
    result = filters.get("blur", ksize=9, sigma=1.5)(src).astype(np.int64)
    bump = result[..., 1]
    assert abs(int(bump.sum()) - 255) <= 81 // 2  # at most half a level lost or gained per pixel
    np.testing.assert_array_equal(bump, bump[::-1, ::-1])
    np.testing.assert_array_equal(bump, bump.T)
    assert bump.argmax() == 15 * 31 + 15


@pytest.mark.parametrize("photo", ["coffee", "astronaut"])
@pytest.mark.parametrize("ksize", [9, 3, 15, 21, 31])
def test_box_matches_opencv_on_photos(request, photo, ksize) -> None:
    src = request.getfixturevalue(photo)
    expected = cv2.blur(src, (ksize, ksize), borderType=B101)
    assert max_diff(filters.get("box", ksize=ksize)(src), expected) <= 1


def box_exact(src: np.ndarray, ksize: int) -> np.ndarray:
    """The mean over each ``ksize x ksize`` window of the reflect-101 padded frame, rounded half
    up (the area is odd: no ties), from int64 summed-area tables (``np.pad`` "reflect")."""
    r = ksize // 2
    padded = np.pad(src.astype(np.int64), ((r, r), (r, r), (0, 0)), mode="reflect")
    table = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0), (0, 0)))
    sums = table[ksize:, ksize:] - table[:-ksize, ksize:] - table[ksize:, :-ksize] + table[:-ksize, :-ksize]
    return ((2 * sums + ksize * ksize) // (2 * ksize * ksize)).astype(np.uint8)


def test_box_every_ksize_is_the_exact_mean(rng) -> None:
    """Every odd ksize 3..255 (uint16 tap sums up to 15, a doubling ladder up to 31, int32 running
    sums above): the exactly rounded mean, and within 1 level of cv2.blur (which rounds in
    float for large areas)."""
    src = rng.integers(0, 256, (37, 300, 3), dtype=np.uint8)
    for ksize in range(3, 256, 2):
        ours = filters.get("box", ksize=ksize)(src)
        assert max_diff(ours, box_exact(src, ksize)) == 0, ksize
        assert max_diff(ours, cv2.blur(src, (ksize, ksize), borderType=B101)) <= 1, ksize


@pytest.mark.parametrize("ksize", [15, 17, 255])
def test_box_keeps_white_frame(ksize) -> None:
    """All 255: the largest sums of each kind (uint16 at 15, int32 above) do not overflow."""
    src = np.full((300, 280, 3), 255, np.uint8)
    np.testing.assert_array_equal(filters.get("box", ksize=ksize)(src), src)


@pytest.mark.parametrize("shape", TINY)
@pytest.mark.parametrize("ksize", [3, 9, 15, 17, 255])
def test_box_matches_opencv_on_tiny_frames(rng, shape, ksize) -> None:
    src = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert max_diff(filters.get("box", ksize=ksize)(src), cv2.blur(src, (ksize, ksize), borderType=B101)) <= 1


def test_box_matches_scipy_uniform_filter(coffee) -> None:
    """Against scipy's float mean (mode 'mirror' is reflect-101): within half a level + rounding."""
    expected = ndi.uniform_filter(coffee.astype(np.float64), size=(7, 7, 1), mode="mirror")
    assert np.abs(filters.get("box", ksize=7)(coffee) - expected).max() <= 0.5 + 1e-6


def test_box_keeps_constant_frame() -> None:
    """A constant frame stays constant under box."""
    src = np.full((13, 17, 3), (1, 99, 254), np.uint8)
    np.testing.assert_array_equal(filters.get("box", ksize=5)(src), src)


def test_box_of_zeros_is_zeros() -> None:
    """Zeros give zeros."""
    assert not filters.get("box")(np.zeros((10, 10, 3), np.uint8)).any()


@settings(deadline=None, max_examples=30)
@given(height=st.integers(1, 40), width=st.integers(1, 40), ksize=st.sampled_from([3, 5, 7, 9, 13, 21]),
       sigma=st.sampled_from([0.0, 0.7, 2.0]), seed=st.integers(0, 2**32 - 1))
def test_blur_and_box_match_opencv_on_random_shapes(height, width, ksize, sigma, seed) -> None:
    src = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    before = src.copy()
    assert max_diff(filters.get("blur", ksize=ksize, sigma=sigma)(src), cv_blur(src, ksize, sigma)) == 0
    assert max_diff(filters.get("box", ksize=ksize)(src), cv2.blur(src, (ksize, ksize), borderType=B101)) <= 1
    np.testing.assert_array_equal(src, before)


def test_out_and_frame_size_changes(rng) -> None:
    """``out`` is filled and returned; scratch buffers follow a change of frame size."""
    blur, box = filters.get("blur"), filters.get("box")
    for shape in [(40, 60, 3), (23, 17, 3), (40, 60, 3)]:
        src = rng.integers(0, 256, shape, dtype=np.uint8)
        out = np.empty_like(src)
        assert blur(src, out=out) is out
        assert max_diff(out, cv_blur(src, 21)) == 0
        assert max_diff(box(src), cv2.blur(src, (9, 9), borderType=B101)) <= 1


@pytest.mark.parametrize(("name", "options", "message"), [
    ("blur", {"ksize": 4}, r"ksize must be an odd integer >= 3, got 4"),
    ("blur", {"ksize": 1}, r"ksize must be an odd integer >= 3, got 1"),
    ("blur", {"ksize": 257}, r"ksize must be at most 255, got 257"),
    ("blur", {"sigma": -1.0}, r"sigma must be between 0.0 and 100.0, got -1.0"),
    ("blur", {"sigma": "wide"}, r"sigma must be float, got 'wide'"),
    ("box", {"ksize": 8}, r"ksize must be an odd integer >= 3, got 8"),
    ("box", {"size": 3}, r"unknown option 'size'"),
])
def test_bad_options_are_rejected(name, options, message) -> None:
    with pytest.raises(ParameterError, match=message):
        filters.get(name, **options)


def test_spec_and_repr() -> None:
    blur = filters.parse("blur:ksize=7,sigma=1.5")
    assert (blur.ksize, blur.sigma) == (7, 1.5)
    assert blur.spec == "blur:ksize=7,sigma=1.5"
    assert repr(filters.get("box", ksize=3)) == "Box(ksize=3)"


def test_sixteen_bit_path_takes_only_the_default_small_kernels() -> None:
    """OpenCV's default 3 and 5 tap kernels go through the 16-bit kernel; any other taps do not."""
    assert sixteen_bit_taps(gaussian_taps(3, 0)).tolist() == [1, 2, 1]
    assert sixteen_bit_taps(gaussian_taps(5, 0)).tolist() == [1, 4, 6, 4, 1]
    for ksize, sigma in ((3, 0.5), (3, 0.01), (5, 1.3), (7, 0), (9, 0)):
        assert sixteen_bit_taps(gaussian_taps(ksize, sigma)) is None


@pytest.mark.parametrize("ksize", [3, 5])
def test_sixteen_bit_path_is_exact_at_the_extremes(ksize: int) -> None:
    """Largest sums (all 255) and the sharpest contrast (a 0/255 checkerboard) match cv2.GaussianBlur exactly."""
    white = np.full((9, 11, 3), 255, np.uint8)
    checker = (np.indices((9, 11)).sum(axis=0) % 2 * 255).astype(np.uint8)[..., None].repeat(3, axis=2)
    for frame in (white, checker, 255 - checker):
        expected = cv2.GaussianBlur(frame, (ksize, ksize), 0, borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_array_equal(filters.get("blur", ksize=ksize)(frame), expected)


@pytest.mark.parametrize("ksize", range(3, 32, 2))
def test_every_pass_layout_is_exact(rng, ksize: int) -> None:
    """Radii 1 to 15 (one pass up to 5 taps; then the centre with 2 or 4 pairs, passes of 4, 2 and 1
    pair, the outermost pair last) give cv2.GaussianBlur exactly: on random pixels, at the largest
    sums (all 255) and on a 0/255 checkerboard, in 3 channels and in sketch's 1, over several bands."""
    sigma = ksize / 5.0  # not OpenCV's default: the 3 and 5 tap kernels take the general path
    noise = rng.integers(0, 256, (45, 31, 3), dtype=np.uint8)
    checker = (np.indices((45, 31)).sum(axis=0) % 2 * 255).astype(np.uint8)[..., None].repeat(3, axis=2)
    blur = filters.get("blur", ksize=ksize, sigma=sigma)
    for frame in (noise, np.full_like(noise, 255), checker):
        np.testing.assert_array_equal(blur(frame), cv_blur(frame, ksize, sigma))
    sketch = filters.get("sketch", ksize=ksize, sigma=sigma)  # one channel: the blurred inverted grey
    np.testing.assert_array_equal(sketch(noise), recipes.sketch(noise, ksize=ksize, sigma=sigma))


def test_zero_end_taps_change_nothing() -> None:
    """ksize 21's default taps end in zeros, which the kernel drops: an impulse next to the border still
    spreads exactly as OpenCV's 21 taps spread it."""
    assert gaussian_taps(21, 0)[[0, -1]].tolist() == [0, 0]
    frame = np.zeros((23, 25, 3), np.uint8)
    frame[1, 2] = frame[21, 23] = 255
    np.testing.assert_array_equal(filters.get("blur", ksize=21)(frame), cv_blur(frame, 21))
