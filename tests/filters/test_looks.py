"""The looks (sepia, noir, warm, cool, vintage, vignette, grain): structural checks of what each promises."""

from __future__ import annotations

import numpy as np
import pytest

import filters
from filters.grades import GRADES

GRADE_NAMES = sorted(GRADES)


def grey(level: int, shape=(48, 64)) -> np.ndarray:
    return np.full((*shape, 3), level, np.uint8)


def test_every_look_is_registered():
    assert set(GRADE_NAMES + ["vignette", "grain", "lut"]) <= set(filters.available())


@pytest.mark.parametrize("name", GRADE_NAMES + ["vignette", "grain"])
def test_strength_zero_leaves_the_frame_unchanged(name, astronaut):
    out = filters.get(name, strength=0.0)(astronaut)
    assert np.abs(out.astype(int) - astronaut).max() <= 1


@pytest.mark.parametrize("name", GRADE_NAMES)
def test_half_strength_lies_halfway(name, astronaut):
    full = filters.get(name)(astronaut).astype(float)
    half = filters.get(name, strength=0.5)(astronaut).astype(float)
    assert np.abs(half - (astronaut + full) / 2).max() <= 1.5


def test_sepia_channel_ratios_follow_the_sepia_matrix():
    """A grey level v becomes (R, G, B) = v * (1.351, 1.203, 0.937), the sepia matrix's row sums (BGR out)."""
    out = filters.get("sepia")(grey(100))[0, 0].astype(float)
    np.testing.assert_allclose(out, [93.7, 120.3, 135.1], atol=1.0)


def test_sepia_is_always_red_over_green_over_blue(astronaut):
    out = filters.get("sepia")(astronaut).astype(int)
    assert (out[..., 2] >= out[..., 1] - 1).all() and (out[..., 1] >= out[..., 0] - 1).all()


def test_noir_has_zero_saturation(astronaut):
    out = filters.get("noir")(astronaut)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert out.std() > 40  # contrast kept: not a flat grey


@pytest.mark.parametrize(("name", "redder"), [("warm", True), ("cool", False)])
def test_warm_and_cool_shift_the_white_balance(name, redder, astronaut):
    before = astronaut.reshape(-1, 3).mean(axis=0)
    after = filters.get(name)(astronaut).reshape(-1, 3).mean(axis=0)
    red_minus_blue = (after[2] - before[2]) - (after[0] - before[0])
    assert red_minus_blue > 10 if redder else red_minus_blue < -10


def test_vintage_lifts_the_blacks_and_softens_the_whites():
    black, white = filters.get("vintage")(grey(0))[0, 0], filters.get("vintage")(grey(255))[0, 0]
    assert black.min() >= 20 and white.max() <= 245


def test_vignette_falls_off_radially_from_an_untouched_centre():
    frame = grey(200, (121, 201))
    out = filters.get("vignette", strength=0.6, radius=0.4)(frame).astype(int)
    assert out[60, 100, 0] == 200  # inside the radius
    assert abs(out[0, 0, 0] - 200 * 0.4) <= 4  # the corner: gain 1 - strength
    diagonal = [out[round(60 - 60 * t), round(100 - 100 * t), 0] for t in np.linspace(0, 1, 30)]
    assert all(a >= b for a, b in zip(diagonal, diagonal[1:]))
    np.testing.assert_array_equal(out, out[::-1, ::-1])  # symmetric about the centre


def test_grain_is_zero_mean_monochrome_and_of_the_stated_amplitude():
    frame = grey(128, (200, 300))
    noise = filters.get("grain", strength=0.5)(frame).astype(float) - 128
    amplitude = 48 * 0.5
    assert abs(noise.mean()) < 0.3
    assert noise.std() == pytest.approx(amplitude / np.sqrt(6), rel=0.1)  # triangular distribution
    assert np.array_equal(noise[..., 0], noise[..., 1]) and np.array_equal(noise[..., 1], noise[..., 2])


def test_grain_moves_every_frame_and_repeats_with_its_seed():
    frame = grey(128)
    a, b = filters.get("grain", seed=7), filters.get("grain", seed=7)
    first, second = a(frame).copy(), a(frame).copy()
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(b(frame), first)
    np.testing.assert_array_equal(b(frame), second)
    assert not np.array_equal(filters.get("grain", seed=8)(frame), first)


def test_lut_accepts_a_built_in_grade_by_name(astronaut):
    np.testing.assert_array_equal(filters.parse("lut:file=sepia")(astronaut), filters.get("sepia")(astronaut))
