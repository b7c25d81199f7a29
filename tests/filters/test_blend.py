"""filters.composite: the alpha blend the face lenses draw with."""

from __future__ import annotations

import numpy as np
import pytest

from filters import ParameterError, composite


@pytest.fixture
def frames():
    rng = np.random.default_rng(7)
    fg = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    alpha[0, :4] = [0, 255, 0, 255]
    a = alpha[..., None].astype(np.int64)
    expected = ((fg * a + bg * (255 - a) + 127) // 255).astype(np.uint8)
    return fg, bg, alpha, expected


def test_matches_the_integer_reference_into_new_given_and_in_place(frames):
    """round((fg a + bg (255 - a)) / 255) exactly: new array, given out, out is fg, out is bg."""
    fg, bg, alpha, expected = frames
    assert np.array_equal(composite(fg, bg, alpha), expected)
    out = np.empty_like(fg)
    assert composite(fg, bg, alpha, out) is out and np.array_equal(out, expected)
    for which in (0, 1):
        pair = [fg.copy(), bg.copy()]
        assert composite(pair[0], pair[1], alpha, pair[which]) is pair[which]
        assert np.array_equal(pair[which], expected)


def test_non_contiguous_inputs_are_read_correctly(frames):
    """Strided views of fg, bg and alpha give the same blend as their copies."""
    fg, bg, alpha, expected = frames
    big = np.zeros((37, 106, 3), np.uint8)
    big[:, ::2] = fg
    alpha_t = np.ascontiguousarray(alpha.T).T
    assert np.array_equal(composite(big[:, ::2], bg, alpha_t), expected)


def test_non_contiguous_out_is_refused(frames):
    """A strided out would be silently left unwritten by the kernel: refused with the reason."""
    fg, bg, alpha, _ = frames
    out = np.zeros((37, 106, 3), np.uint8)
    with pytest.raises(ParameterError, match="out must be C-contiguous"):
        composite(fg, bg, alpha, out[:, ::2])
    assert not out.any()


@pytest.mark.parametrize("bad, message", [
    (lambda fg, bg, a: (fg, bg[:-1], a), "bg must have the shape of fg"),
    (lambda fg, bg, a: (fg, bg, a[:-1]), r"alpha must be a \(37, 53\) uint8 array"),
    (lambda fg, bg, a: (fg, bg, a.astype(np.float32)), "alpha must be a"),
    (lambda fg, bg, a: (fg[..., 0], bg, a), r"fg must be an \(H, W, 3\) uint8"),
])
def test_bad_arguments_name_the_problem(frames, bad, message):
    fg, bg, alpha, _ = frames
    with pytest.raises(ParameterError, match=message):
        composite(*bad(fg, bg, alpha))
