"""The ``kernel`` and ``identity`` filters against cv2.filter2D and scipy.ndimage.correlate.

Tolerance: uint8 frames within 1 level of OpenCV's rounded float32 result.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

import filters
from filters import ParameterError

SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)


def assert_within_one(result: np.ndarray, expected: np.ndarray) -> None:
    assert result.shape == expected.shape and result.dtype == np.uint8
    assert np.abs(result.astype(np.int16) - expected.astype(np.int16)).max() <= 1


def test_parse_spec_matches_filter2d(coffee) -> None:
    kernel = filters.parse("kernel:k=0 -1 0; -1 5 -1; 0 -1 0")
    expected = cv2.filter2D(coffee, -1, SHARPEN, borderType=cv2.BORDER_REFLECT_101)
    assert_within_one(kernel(coffee), expected)


def test_default_is_sharpen(astronaut) -> None:
    default = filters.get("kernel")
    np.testing.assert_array_equal(default.k.array, SHARPEN)
    assert default.spec == "kernel"
    assert_within_one(default(astronaut), cv2.filter2D(astronaut, -1, SHARPEN, borderType=cv2.BORDER_REFLECT_101))


@pytest.mark.parametrize("border", ["reflect101", "replicate", "constant"])
def test_integer_kernel_is_exact(astronaut, border) -> None:
    """Integer weights sum exactly: the default equals scipy's float64 correlation, rounded."""
    expected = ndi.correlate(astronaut.astype(np.float64), SHARPEN[:, :, None].astype(np.float64),
                             mode={"reflect101": "mirror", "replicate": "nearest", "constant": "constant"}[border])
    result = filters.get("kernel", border=border)(astronaut)
    np.testing.assert_array_equal(result, np.clip(expected, 0, 255).astype(np.uint8))


def test_normalize_divides_by_sum(coffee) -> None:
    blur = filters.parse("kernel:k=1 2 1; 2 4 2; 1 2 1,normalize=true")
    weights = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32) / 16
    assert_within_one(blur(coffee), cv2.filter2D(coffee, -1, weights, borderType=cv2.BORDER_REFLECT_101))
    raw = filters.parse("kernel:k=1 2 1; 2 4 2; 1 2 1")
    assert (raw(coffee) >= blur(coffee)).all()  # unnormalized sum 16 saturates upwards


def test_border_option(rng) -> None:
    """border=wrap against scipy.ndimage.correlate mode="wrap", per channel."""
    frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    k = rng.normal(size=(4, 5)) / 4
    text = "; ".join(" ".join(repr(float(v)) for v in row) for row in k)
    wrapped = filters.parse(f"kernel:k={text},border=wrap")
    expected = ndi.correlate(frame.astype(np.float64), k[:, :, None], mode="wrap")
    assert_within_one(wrapped(frame), np.clip(np.rint(expected), 0, 255).astype(np.uint8))


def test_array_and_list_kernels(chelsea) -> None:
    emboss = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
    expected = cv2.filter2D(chelsea, -1, np.float32(emboss), borderType=cv2.BORDER_REFLECT_101)
    assert_within_one(filters.get("kernel", k=emboss)(chelsea), expected)
    assert_within_one(filters.get("kernel", k=np.array(emboss, np.int64))(chelsea), expected)


@pytest.mark.parametrize("text", [
    "0 -1 0; -1 5 -1; 0 -1 0",
    "0.1 0.2; -0.3 1e-07",
    "0.3333333333333333 0.6666666666666666 -2.5",
    "1;2;3;4",
])
def test_spec_round_trips(rng, text) -> None:
    kernel = filters.parse(f"kernel:k={text},border=replicate")
    again = filters.parse(kernel.spec)
    assert again.k == kernel.k
    assert again.border == "replicate"
    frame = rng.integers(0, 256, (12, 15, 3), dtype=np.uint8)
    np.testing.assert_array_equal(again(frame), kernel(frame))


def test_spec_round_trips_array_kernel() -> None:
    weights = np.random.default_rng(7).normal(size=(3, 4))
    kernel = filters.get("kernel", k=weights, normalize=True)
    again = filters.parse(kernel.spec)
    np.testing.assert_array_equal(again.k.array, weights)
    assert again.normalize is True


def test_repr_shows_options() -> None:
    text = repr(filters.parse("kernel:k=1 1; 1 1,normalize=true,border=zero"))
    assert "Kernel('1 1; 1 1')" in text and "normalize=True" in text and "border='zero'" in text


def test_out_honoured_and_src_untouched(coffee) -> None:
    src = coffee.copy()
    out = np.empty_like(src)
    kernel = filters.get("kernel")
    assert kernel(src, out=out) is out
    np.testing.assert_array_equal(src, coffee)
    np.testing.assert_array_equal(out, kernel(coffee))


def test_identity_copies(astronaut) -> None:
    identity = filters.get("identity")
    result = identity(astronaut)
    assert result is not astronaut
    np.testing.assert_array_equal(result, astronaut)
    out = np.zeros_like(astronaut)
    assert identity(astronaut, out=out) is out
    np.testing.assert_array_equal(out, astronaut)
    assert identity.spec == "identity"


@pytest.mark.parametrize("spec,match", [
    ("kernel:k=1 2; 3", r"option k: kernel rows must all have the same number of values, got '1 2; 3'"),
    ("kernel:k=1 x; 3 4", r"option k: kernel must be numbers separated by spaces, rows by ';', got '1 x; 3 4'"),
    ("kernel:k=", r"option k: kernel must not be empty"),
    ("kernel:k=1 nan", r"option k: kernel must hold finite float32 numbers, got nan at \(0, 1\)"),
    ("kernel:k=1 -1; -1 1,normalize=true", r"normalize=true needs a kernel whose sum is not 0, got k=1 -1; -1 1"),
    ("kernel:normalize=maybe", r"option normalize must be bool, got 'maybe'"),
    ("kernel:border=mirror", r"option border must be one of .*wrap.*got 'mirror'"),
    ("kernel:size=3", r"unknown option 'size'"),
    ("identity:k=1", r"unknown option 'k'"),
])
def test_bad_specs(spec, match) -> None:
    with pytest.raises(ParameterError, match=match):
        filters.parse(spec)


def test_bad_array_kernel() -> None:
    with pytest.raises(ParameterError, match=r"option k: kernel must be 2-D \(kh, kw\), got shape \(2, 2, 2\)"):
        filters.get("kernel", k=np.ones((2, 2, 2)))
