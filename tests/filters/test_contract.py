"""The contract every registered filter keeps (plugins included): shapes, dtypes, out=, views."""

from __future__ import annotations

import numpy as np
import pytest

import filters

NAMES = filters.available()
SIZES = [(1, 1), (1, 7), (7, 3), (2, 2), (5, 33), (33, 17), (64, 48)]


def random_frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_shape_dtype_kept_and_input_untouched(name, size):
    """Any size down to 1x1 gives an (H, W, 3) uint8 result and leaves src unchanged."""
    src = random_frame(*size)
    before = src.copy()
    result = filters.get(name)(src)
    assert result.shape == src.shape and result.dtype == np.uint8
    assert result.flags.c_contiguous
    np.testing.assert_array_equal(src, before)


@pytest.mark.parametrize("name", NAMES)
def test_out_is_filled_and_returned(name):
    """With out=, the result is that very array and equals the allocating call."""
    src = random_frame(31, 45, seed=1)
    flt = filters.get(name)
    out = np.full_like(src, 7)
    assert flt(src, out=out) is out
    np.testing.assert_array_equal(out, filters.get(name)(src))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("view", ["step", "flipped", "crop"])
def test_non_contiguous_views_match_contiguous_copies(name, view):
    """Strided, negatively-strided and cropped views filter exactly like their contiguous copies."""
    base = random_frame(70, 90, seed=2)
    src = {"step": base[::2, ::3], "flipped": base[::-1, :, ::-1], "crop": base[5:50, 7:61]}[view]
    assert not src.flags.c_contiguous
    expected = filters.get(name)(np.ascontiguousarray(src))
    np.testing.assert_array_equal(filters.get(name)(src), expected)


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_out_is_honoured(name):
    """A strided out= view is filled in place and returned."""
    src = random_frame(20, 30, seed=3)
    holder = np.zeros((20, 60, 3), np.uint8)
    out = holder[:, ::2]
    assert filters.get(name)(src, out=out) is out
    np.testing.assert_array_equal(holder[:, ::2], filters.get(name)(src))


@pytest.mark.parametrize("name", NAMES)
def test_buffers_reused_and_size_changes_handled(name):
    """One instance gives the same answers across repeated calls and frame-size changes."""
    flt = filters.get(name)
    a, b = random_frame(40, 50, seed=4), random_frame(23, 61, seed=5)
    first_a = flt(a).copy()
    first_b = flt(b).copy()
    if flt.temporal:  # depends on the frames before (grain moves, denoise restarts on a new size and then
        # averages): each has its own tests of that; a fresh instance is bound to repeat its first frame
        flt(a)
        np.testing.assert_array_equal(first_a, filters.get(name)(a))
        return
    np.testing.assert_array_equal(flt(a), first_a)
    np.testing.assert_array_equal(flt(b), first_b)
    np.testing.assert_array_equal(first_a, filters.get(name)(a))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((0, 4, 3), np.uint8), np.zeros((4, 4, 4), np.uint8)],
                         ids=["grey", "float", "empty", "4ch"])
def test_bad_frames_rejected(name, bad):
    """Frames that are not (H, W, 3) uint8 raise ParameterError naming the shape."""
    with pytest.raises(filters.ParameterError, match=r"src must"):
        filters.get(name)(bad)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_out_shape_rejected(name):
    with pytest.raises(filters.ParameterError, match=r"out must have the shape of src"):
        filters.get(name)(random_frame(8, 8), out=np.zeros((8, 9, 3), np.uint8))


@pytest.mark.parametrize("name", NAMES)
def test_repr_and_spec_rebuild_the_filter(name):
    """repr shows every option; the spec text builds an equal filter through parse()."""
    flt = filters.get(name)
    for opt in flt.options:
        assert f"{opt.name}=" in repr(flt)
    rebuilt = filters.parse(flt.spec)
    assert repr(rebuilt) == repr(flt)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_lists_valid_ones(name):
    valid = ", ".join(o.name for o in filters.filter_class(name).options) or "none"
    with pytest.raises(filters.ParameterError, match=f"unknown option 'bogus'; valid options: {valid}"):
        filters.get(name, bogus=1)
