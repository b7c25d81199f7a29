"""filters.correlate against cv2.filter2D, cv2.copyMakeBorder and scipy.ndimage.correlate.

Tolerances: uint8 results within 1 level (float32 sums rounded, as OpenCV, whose large
kernels go through a DFT); float32 results within ``1e-4 * sum|k| * max|src|`` (the
largest value an output could take).
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
from filters import correlation as corr

CV_BORDER = {
    "constant": cv2.BORDER_CONSTANT,
    "zero": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT,
    "reflect101": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "wrap": cv2.BORDER_WRAP,
}
SCIPY_MODE = {"constant": "constant", "reflect": "reflect", "reflect101": "mirror",
              "replicate": "nearest", "wrap": "wrap"}
BORDERS = ["constant", "reflect", "reflect101", "replicate", "wrap"]


def random_kernel(rng: np.random.Generator, kh: int, kw: int) -> np.ndarray:
    """Mixed-sign weights summing to about 1, so photos stay mostly in range."""
    k = rng.uniform(-0.3, 1.0, (kh, kw))
    return k / max(k.sum(), 0.5)


def reference(src: np.ndarray, kernel: np.ndarray, border: str = "reflect101", mode: str = "same") -> np.ndarray:
    """OpenCV: pad with copyMakeBorder (any border, also wider than the image), filter2D, crop."""
    kh, kw = kernel.shape
    top, left = kh // 2, kw // 2
    k32 = np.asarray(kernel, np.float32)
    if mode == "valid":
        full = cv2.filter2D(src, -1, k32, borderType=cv2.BORDER_REFLECT_101)
        out = full[top:top + src.shape[0] - kh + 1, left:left + src.shape[1] - kw + 1]
    else:
        padded = cv2.copyMakeBorder(src, top, kh - 1 - top, left, kw - 1 - left, CV_BORDER[border], value=0)
        out = cv2.filter2D(padded, -1, k32, borderType=cv2.BORDER_REFLECT_101)
        out = out[top:top + src.shape[0], left:left + src.shape[1]]
    return out.reshape(out.shape[:2] + src.shape[2:])


def assert_close(result: np.ndarray, expected: np.ndarray, src: np.ndarray, kernel: np.ndarray) -> None:
    assert result.shape == expected.shape
    assert result.dtype == src.dtype
    if src.dtype == np.uint8:
        diff = np.abs(result.astype(np.int16) - expected.astype(np.int16))
        assert diff.max(initial=0) <= 1, f"uint8 differs by {diff.max()} levels"
    else:
        scale = np.abs(kernel).sum() * max(np.abs(src).max(), 1e-3)
        np.testing.assert_allclose(result, expected, rtol=0, atol=1e-4 * scale)


def scipy_reference(src: np.ndarray, kernel: np.ndarray, border: str) -> np.ndarray:
    """scipy.ndimage.correlate per channel in float64, rounded and saturated like OpenCV."""
    x = src.astype(np.float64)
    k = np.asarray(kernel, np.float64)
    if x.ndim == 3:
        k = k[:, :, None]  # no mixing across channels
    out = ndi.correlate(x, k, mode=SCIPY_MODE[border], cval=0.0)
    if src.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)


def test_worked_example_valid() -> None:
    """The 2x2 anti-diagonal kernel on 1..9 gives [[6, 8], [12, 14]] in valid mode."""
    image = np.arange(1, 10).reshape(3, 3)
    kernel = [[0, 1], [1, 0]]
    for dtype in (np.uint8, np.float32):
        result = filters.correlate(image.astype(dtype), kernel, mode="valid")
        assert result.dtype == dtype
        np.testing.assert_array_equal(result, [[6, 8], [12, 14]])


@pytest.mark.parametrize("photo", ["coffee", "astronaut"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("ksize", [(1, 1), (3, 3), (4, 4), (5, 5), (2, 7), (8, 3), (15, 15), (31, 31)])
def test_matches_filter2d_on_photos(request, rng, photo, dtype, ksize) -> None:
    src = request.getfixturevalue(photo)
    if ksize[0] * ksize[1] > 100:
        src = src[100:260, 150:350]  # keep big kernels quick
    src = src.astype(dtype)
    kernel = random_kernel(rng, *ksize)
    expected = cv2.filter2D(src, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    assert_close(filters.correlate(src, kernel), expected, src, kernel)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("ksize", [(3, 3), (4, 5), (1, 6), (9, 9)])
def test_every_border_matches_opencv(rng, border, dtype, ksize) -> None:
    """Each border against cv2.filter2D (no wrap there) and copyMakeBorder + filter2D."""
    src = rng.integers(0, 256, (23, 31, 3)).astype(dtype)
    kernel = rng.normal(size=ksize) / 3
    result = filters.correlate(src, kernel, border=border)
    assert_close(result, reference(src, kernel, border), src, kernel)
    if border != "wrap":
        direct = cv2.filter2D(src, -1, kernel.astype(np.float32), borderType=CV_BORDER[border])
        assert_close(result, direct, src, kernel)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("ksize", [(3, 3), (4, 4), (7, 5)])
def test_every_border_matches_scipy(rng, border, dtype, ksize) -> None:
    src = rng.integers(0, 256, (19, 26, 3)).astype(dtype)
    kernel = rng.normal(size=ksize) / 3
    assert_close(filters.correlate(src, kernel, border=border), scipy_reference(src, kernel, border), src, kernel)


@pytest.mark.parametrize("border", BORDERS)
def test_kernel_larger_than_image(rng, border) -> None:
    """A 31x31 kernel on a 5x7 image: pads longer than the image, as OpenCV's borderInterpolate."""
    src = rng.integers(0, 256, (5, 7)).astype(np.float32)
    kernel = rng.normal(size=(31, 31))
    assert_close(filters.correlate(src, kernel, border=border), reference(src, kernel, border), src, kernel)


def test_zero_is_constant(rng) -> None:
    src = rng.integers(0, 256, (17, 12, 3), dtype=np.uint8)
    kernel = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(filters.correlate(src, kernel, border="zero"),
                                  filters.correlate(src, kernel, border="constant"))


@pytest.mark.parametrize("n", range(1, 7))
@pytest.mark.parametrize("border", BORDERS)
def test_border_index_matches_cv2_border_interpolate(n, border) -> None:
    before, after = 40, 37
    expected = [cv2.borderInterpolate(p, n, CV_BORDER[border]) for p in range(-before, n + after)]
    np.testing.assert_array_equal(corr.border_index(n, before, after, border), expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("ksize", [(1, 1), (1, 5), (4, 1), (2, 3), (6, 6), (11, 7), (31, 31)])
def test_valid_mode(rng, dtype, ksize) -> None:
    src = rng.integers(0, 256, (40, 35, 3)).astype(dtype)
    kernel = random_kernel(rng, *ksize)
    result = filters.correlate(src, kernel, mode="valid")
    assert result.shape == (40 - ksize[0] + 1, 35 - ksize[1] + 1, 3)
    assert_close(result, reference(src, kernel, mode="valid"), src, kernel)


@pytest.mark.parametrize("ksize", [(5, 5), (3, 7), (15, 9), (31, 31)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_separable_path_matches_reference_and_general_path(coffee, monkeypatch, ksize, dtype) -> None:
    """A rank-1 kernel takes the two-pass path; it and the full 2-D path both match OpenCV."""
    col = cv2.getGaussianKernel(ksize[0], -1)[:, 0]
    row = np.linspace(-1.0, 2.0, ksize[1])
    kernel = np.outer(col, row) / row.sum()
    assert corr.prepare_kernel(kernel).col is not None
    src = coffee[50:250, 100:400].astype(dtype)
    expected = cv2.filter2D(src, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    separable = filters.correlate(src, kernel)
    assert_close(separable, expected, src, kernel)
    monkeypatch.setattr(corr, "SEPARABLE_RTOL", -1.0)  # nothing passes the rank-1 test now
    assert corr.prepare_kernel(kernel).col is None
    general = filters.correlate(src, kernel)
    assert_close(general, expected, src, kernel)
    assert_close(separable, general, src, kernel)


def test_rank_one_detection(rng) -> None:
    gauss = cv2.getGaussianKernel(7, -1)[:, 0]
    taps = corr.prepare_kernel(np.outer(gauss, gauss))
    np.testing.assert_allclose(np.outer(taps.col, taps.row), np.outer(gauss, gauss), rtol=1e-6)
    integer = corr.prepare_kernel(np.outer([1, 4, 6, 4, 1], [1, 2, 0, -2, -1]))
    np.testing.assert_array_equal(np.outer(integer.col, integer.row), np.outer([1, 4, 6, 4, 1], [1, 2, 0, -2, -1]))
    assert corr.prepare_kernel(rng.normal(size=(5, 5))).col is None  # rank 5
    assert corr.prepare_kernel(np.outer(gauss, gauss) + 1e-3 * rng.normal(size=(7, 7))).col is None
    assert corr.prepare_kernel(np.zeros((5, 5))).col is None


INTEGER_3X3 = {
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "laplacian": [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    "strong": [[0, -100, 0], [-100, 401, -100], [0, -100, 0]],  # int32 sums (int16 could overflow)
}


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 2), (3, 3), (6, 1), (5, 2), (7, 3), (9, 13)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("integer", [True, False])
def test_3x3_path_every_border_and_tiny_size(rng, border, shape, dtype, integer) -> None:
    """The fused 3x3 path (integer and float weights) where most or all columns are border ones."""
    src = rng.integers(0, 256, (*shape, 3)).astype(dtype)
    kernel = np.array(INTEGER_3X3["laplacian"]) if integer else rng.normal(size=(3, 3)) / 2
    assert_close(filters.correlate(src, kernel, border=border), reference(src, kernel, border), src, kernel)
    if shape[0] >= 3 and shape[1] >= 3:
        valid = filters.correlate(src, kernel, mode="valid")
        assert_close(valid, reference(src, kernel, mode="valid"), src, kernel)


@pytest.mark.parametrize("name", sorted(INTEGER_3X3))
@pytest.mark.parametrize("border", BORDERS)
def test_integer_3x3_is_exact(coffee, name, border) -> None:
    """Integer 3x3 weights on uint8 sum exactly: equal to scipy's float64 result, rounded."""
    src = coffee[40:200, 60:300]
    kernel = np.array(INTEGER_3X3[name])
    np.testing.assert_array_equal(filters.correlate(src, kernel, border=border),
                                  scipy_reference(src, kernel, border))


def test_integer_taps() -> None:
    """Integer weights get the narrowest of int16 and int32 that holds 255 * sum|k|, else none."""
    small = corr.prepare_kernel([[2.0, -1.0], [0.0, 3.0]]).integer
    np.testing.assert_array_equal(small, [[2, -1], [0, 3]])
    assert small.dtype == np.int16
    assert corr.prepare_kernel([[2**15 // 255]]).integer.dtype == np.int16
    assert corr.prepare_kernel([[2**15 // 255 + 1]]).integer.dtype == np.int32
    assert corr.prepare_kernel([[2**31 // 255 - 1]]).integer.dtype == np.int32
    assert corr.prepare_kernel([[2**31 // 255 + 1]]).integer is None
    assert corr.prepare_kernel([[0.5, 1.0]]).integer is None


def test_scratch_is_float32_and_reused(rng) -> None:
    """The ring and accumulator rows are float32, as the kernels sum (float64 ran 2x slower),
    and the same arrays serve the next frame of the same size."""
    src = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
    out = np.empty_like(src)
    store: dict = {}
    for kernel in (rng.normal(size=(5, 4)), np.outer([1, 2, 1, 3], [1, 0, 2, 1, 1])):
        taps = corr.prepare_kernel(kernel)
        corr.correlate_into(src.reshape(30, -1), taps, "same", "reflect101", 3, out.reshape(30, -1), store)
        first = dict(store)
        assert first and all(a.dtype == np.float32 for a in first.values())
        corr.correlate_into(src.reshape(30, -1), taps, "same", "reflect101", 3, out.reshape(30, -1), store)
        assert all(store[k] is a for k, a in first.items())
        np.testing.assert_array_equal(out, filters.correlate(src, kernel))


def test_prepared_taps_give_the_same_result(rng) -> None:
    src = rng.integers(0, 256, (20, 25, 3), dtype=np.uint8)
    for kernel in (rng.normal(size=(3, 3)), rng.normal(size=(4, 5)), np.array(INTEGER_3X3["sharpen"])):
        np.testing.assert_array_equal(filters.correlate(src, corr.prepare_kernel(kernel), border="wrap"),
                                      filters.correlate(src, kernel, border="wrap"))


@pytest.mark.parametrize("border", ["reflect101", "reflect", "replicate", "wrap"])
@pytest.mark.parametrize("ksize", [(3, 3), (4, 6), (9, 9)])
def test_constant_image_stays_constant(rng, border, ksize) -> None:
    """A constant image stays the same constant under a kernel that sums to 1."""
    kernel = rng.uniform(0, 1, ksize)
    kernel /= kernel.sum()
    src = np.full((20, 30, 3), 137, np.uint8)
    np.testing.assert_array_equal(filters.correlate(src, kernel, border=border), src)
    result = filters.correlate(src.astype(np.float32), kernel, border=border)
    np.testing.assert_allclose(result, 137.0, rtol=1e-5)


@pytest.mark.parametrize("ksize,at", [((3, 3), (0, 2)), ((4, 4), (3, 0)), ((5, 2), (2, 1)), ((1, 7), (0, 6))])
def test_delta_kernel_shifts(rng, ksize, at) -> None:
    """A kernel with one 1 at (r, c) reads src[y + r - kh//2, x + c - kw//2] (exact)."""
    kernel = np.zeros(ksize)
    kernel[at] = 1
    dy, dx = at[0] - ksize[0] // 2, at[1] - ksize[1] // 2
    for src in (rng.integers(0, 256, (16, 21, 3), dtype=np.uint8), rng.random((16, 21)).astype(np.float32)):
        result = filters.correlate(src, kernel, border="constant")
        shifted = np.zeros_like(src)
        h, w = src.shape[:2]
        shifted[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)] = \
            src[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
        np.testing.assert_array_equal(result, shifted)


def test_uint8_rounds_and_saturates() -> None:
    src = np.array([[10, 20, 30, 250]], np.uint8)
    np.testing.assert_array_equal(filters.correlate(src, [[2.0]]), [[20, 40, 60, 255]])
    np.testing.assert_array_equal(filters.correlate(src, [[-1.0]]), [[0, 0, 0, 0]])
    np.testing.assert_array_equal(filters.correlate(src, [[0.26]]), [[3, 5, 8, 65]])  # 2.6, 5.2, 7.8, 65


def test_grey_and_multichannel(rng) -> None:
    kernel = random_kernel(rng, 5, 3)
    grey = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    four = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    one = grey[:, :, None]
    assert_close(filters.correlate(grey, kernel), reference(grey, kernel), grey, kernel)
    assert_close(filters.correlate(four, kernel), reference(four, kernel), four, kernel)
    np.testing.assert_array_equal(filters.correlate(one, kernel)[:, :, 0], filters.correlate(grey, kernel))


def test_out_is_filled_and_returned(rng) -> None:
    src = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    kernel = random_kernel(rng, 3, 3)
    expected = filters.correlate(src, kernel)
    out = np.zeros_like(src)
    assert filters.correlate(src, kernel, out=out) is out
    np.testing.assert_array_equal(out, expected)
    wide = np.zeros((24, 64, 3), np.uint8)
    view = wide[:, ::2]  # not contiguous
    assert filters.correlate(src, kernel, out=view) is view
    np.testing.assert_array_equal(view, expected)
    assert not wide[:, 1::2].any()
    valid = np.zeros((22, 30, 3), np.uint8)
    assert filters.correlate(src, kernel, mode="valid", out=valid) is valid


def test_in_place_and_src_untouched(rng) -> None:
    src = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    copy = src.copy()
    kernel = random_kernel(rng, 5, 5)
    expected = filters.correlate(src, kernel)
    np.testing.assert_array_equal(src, copy)
    assert filters.correlate(src, kernel, out=src) is src
    np.testing.assert_array_equal(src, expected)


def test_non_contiguous_src(rng) -> None:
    big = rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)
    view = big[::2, 1::3]
    kernel = random_kernel(rng, 4, 3)
    assert_close(filters.correlate(view, kernel), reference(np.ascontiguousarray(view), kernel), view, kernel)


@settings(deadline=None, max_examples=40)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    channels=st.sampled_from([0, 1, 3, 4]),
    kh=st.integers(1, 12),
    kw=st.integers(1, 12),
    dtype=st.sampled_from([np.uint8, np.float32]),
    border=st.sampled_from(BORDERS),
    rank_one=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_matches_opencv(h, w, channels, kh, kw, dtype, border, rank_one, seed) -> None:
    """Any shape, kernel size (pads may exceed the image), dtype, border and both paths."""
    rng = np.random.default_rng(seed)
    shape = (h, w, channels) if channels else (h, w)
    src = rng.integers(0, 256, shape).astype(dtype)
    kernel = np.outer(rng.normal(size=kh), rng.normal(size=kw)) if rank_one else rng.normal(size=(kh, kw))
    result = filters.correlate(src, kernel, border=border)
    assert_close(result, reference(src, kernel, border), src, kernel)
    if kh <= h and kw <= w:
        valid = filters.correlate(src, kernel, mode="valid")
        assert_close(valid, reference(src, kernel, mode="valid"), src, kernel)


@pytest.mark.parametrize("src,kernel,kwargs,match", [
    (np.zeros((5, 5), np.uint8), np.ones((3, 3, 1)), {}, r"kernel must be 2-D.*\(3, 3, 1\)"),
    (np.zeros((5, 5), np.uint8), np.ones(3), {}, r"kernel must be 2-D.*\(3,\)"),
    (np.zeros((5, 5), np.uint8), np.ones((0, 3)), {}, r"kernel must not be empty.*\(0, 3\)"),
    (np.zeros((0, 5), np.uint8), np.ones((3, 3)), {}, r"src must not be empty.*\(0, 5\)"),
    (np.zeros((5, 5, 0), np.uint8), np.ones((3, 3)), {}, r"src must not be empty.*\(5, 5, 0\)"),
    (np.zeros((5, 5), np.int16), np.ones((3, 3)), {}, r"src must be uint8 or float32, got int16"),
    (np.zeros((5, 5), np.float64), np.ones((3, 3)), {}, r"src must be uint8 or float32, got float64"),
    (np.zeros((2, 5, 5, 3), np.uint8), np.ones((3, 3)), {}, r"src must be .*got shape \(2, 5, 5, 3\)"),
    ([[1, 2], [3, 4]], np.ones((1, 1)), {}, r"src must be a numpy array, got list"),
    (np.zeros((5, 5), np.uint8), [[1, np.nan]], {}, r"kernel must hold finite float32 numbers, got nan at \(0, 1\)"),
    (np.zeros((5, 5), np.uint8), [[1], [-np.inf]], {}, r"kernel must hold finite float32 numbers, got -inf at \(1, 0\)"),
    (np.zeros((5, 5), np.uint8), [[1e300]], {}, r"kernel must hold finite float32 numbers, got 1e\+300 at \(0, 0\)"),
    (np.zeros((5, 5), np.uint8), [["a", "b"]], {}, r"kernel must hold real numbers.*<U1"),
    (np.zeros((5, 5), np.uint8), [[1j]], {}, r"kernel must hold real numbers.*complex"),
    (np.zeros((5, 5), np.uint8), [[True]], {}, r"kernel must hold real numbers.*bool"),
    (np.zeros((5, 5), np.uint8), [[1, 2], [3]], {}, r"kernel must be a 2-D array of numbers"),
    (np.zeros((4, 6), np.uint8), np.ones((5, 3)), {"mode": "valid"}, r"kernel 5x3 is larger than the image 4x6"),
    (np.zeros((5, 5), np.uint8), np.ones((3, 3)), {"mode": "full"}, r"mode must be one of same, valid, got 'full'"),
    (np.zeros((5, 5), np.uint8), np.ones((3, 3)), {"border": "mirror"}, r"border must be one of .*got 'mirror'"),
    (np.zeros((5, 5), np.uint8), np.ones((3, 3)), {"border": None}, r"border must be one of .*got None"),
    (np.zeros((5, 5), np.uint8), np.ones((3, 3)), {"out": np.zeros((5, 4), np.uint8)},
     r"out must be \(5, 5\) uint8, got \(5, 4\) uint8"),
    (np.zeros((5, 5), np.uint8), np.ones((3, 3)), {"out": np.zeros((5, 5), np.float32)},
     r"out must be \(5, 5\) uint8, got \(5, 5\) float32"),
    (np.zeros((5, 5), np.uint8), np.ones((3, 3)), {"mode": "valid", "out": np.zeros((5, 5), np.uint8)},
     r"out must be \(3, 3\) uint8, got \(5, 5\) uint8"),
    (np.zeros((5, 5), np.uint8), np.ones((3, 3)), {"out": [[0]]}, r"out must be a numpy array, got list"),
])
def test_errors(src, kernel, kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        filters.correlate(src, kernel, **kwargs)
