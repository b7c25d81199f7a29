"""The ``cartoon`` filter: no OpenCV equivalent, so structural and analytic checks.

Expected values are computed here from the documented definition: luma
``0.114 B + 0.587 G + 0.299 R`` snapped to the nearest of ``levels`` evenly spaced levels
in 0..255 by shifting all channels equally; outlines black. Tolerance: 1 level per
channel (uint8 rounding of float32 arithmetic).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filters

LUMA = np.array([0.114, 0.587, 0.299])


def quantised_colour(bgr, levels: int) -> np.ndarray:
    """The documented colour of a flat region: luma snapped, hue kept, clipped, rounded."""
    bgr = np.asarray(bgr, np.float64)
    luma = bgr @ LUMA
    step = 255 / (levels - 1)
    return np.clip(np.rint(bgr + np.round(luma / step) * step - luma), 0, 255)


def luma_distance_to_levels(image: np.ndarray, levels: int) -> np.ndarray:
    """Per pixel: distance of the luma to the nearest quantisation level, grey levels."""
    luma = image.astype(np.float64) @ LUMA
    step = 255 / (levels - 1)
    return np.abs(luma - np.round(luma / step) * step)


def step_image(height=96, width=160, low=40, high=210) -> np.ndarray:
    """Grey frame, dark left half and bright right half: one strong vertical step."""
    src = np.full((height, width, 3), low, np.uint8)
    src[:, width // 2:] = high
    return src


@pytest.mark.parametrize("colour", [(40, 120, 200), (0, 0, 0), (255, 255, 255), (90, 90, 91)])
@pytest.mark.parametrize("levels", [2, 8, 13])
def test_flat_image_stays_flat(colour, levels):
    """A constant frame comes out constant, with its luma snapped to a level (no outlines)."""
    src = np.full((45, 70, 3), colour, np.uint8)
    result = filters.get("cartoon", levels=levels)(src)
    assert (result == result[0, 0]).all()
    assert np.abs(result[0, 0].astype(int) - quantised_colour(colour, levels)).max() <= 1


def test_output_luma_is_quantised(astronaut):
    """Without outlines every pixel's luma sits on one of the `levels` levels (unless clipped)."""
    result = filters.get("cartoon", levels=6, edges=None)(astronaut)
    distance = luma_distance_to_levels(result, 6)
    # channel rounding moves luma by <= 0.5; a channel clipped at 0 or 255 can move it more
    clipped = ((result == 0) | (result == 255)).any(axis=2)
    assert (distance[~clipped] <= 1.0).all() and clipped.mean() < 0.35  # 23 %: black areas
    levels_used = np.unique(np.round((result.astype(np.float64) @ LUMA) / 51))
    assert len(levels_used) <= 6
    assert np.mean(luma_distance_to_levels(astronaut, 6) <= 1.0) < 0.3  # the photo: 15 % (black areas)


def test_smoothing_flattens_the_photo(astronaut):
    """Flat regions: far fewer distinct colours and neighbours far more often equal than in the input."""
    result = filters.get("cartoon", edges=None)(astronaut)

    def typical_step(image):  # median summed |BGR difference| between horizontal neighbours
        return float(np.median(np.abs(np.diff(image.astype(np.int16), axis=1)).sum(axis=2)))

    def colours(image):
        return len(np.unique(image.reshape(-1, 3), axis=0))

    def equal_neighbours(image):
        return float(np.all(image[:, 1:] == image[:, :-1], axis=2).mean())

    assert typical_step(result) <= 1 and typical_step(astronaut) >= 5
    assert colours(result) < 0.25 * colours(astronaut)
    assert equal_neighbours(result) > 0.4 > 0.2 > equal_neighbours(astronaut)


def test_strong_step_gives_dark_line():
    """A strong vertical step becomes a black outline along the step, flat colour elsewhere."""
    src = step_image()
    result = filters.get("cartoon")(src)
    darkest = result.max(axis=2).min(axis=0)  # per column, the darkest pixel's brightest channel
    assert darkest[78:82].min() <= 5  # black at the step, every row
    assert (result[:, 78:82].max(axis=2).min(axis=1) <= 5).all()
    np.testing.assert_array_equal(np.unique(result[:, :60].reshape(-1, 3), axis=0),
                                  [quantised_colour((40, 40, 40), 8)])
    np.testing.assert_array_equal(np.unique(result[:, 100:].reshape(-1, 3), axis=0),
                                  [quantised_colour((210, 210, 210), 8)])


def test_no_outlines_without_edges():
    """edges=None draws no dark line: the step keeps its two flat colours (and blends between)."""
    result = filters.get("cartoon", edges=None)(step_image())
    assert result.min() >= quantised_colour((40, 40, 40), 8).min() - 1


def test_thickness_widens_outlines():
    """More thickness gives strictly more black pixels on the step image."""
    src = step_image()
    dark = [int((filters.get("cartoon", thickness=t)(src).max(axis=2) <= 5).sum()) for t in (0, 1, 2)]
    assert dark[0] < dark[1] < dark[2]


def test_more_levels_give_more_distinct_lumas(astronaut):
    """levels controls the shading: more levels, more distinct luma bands."""
    def bands(levels):
        result = filters.get("cartoon", levels=levels, edges=None)(astronaut)
        return len(np.unique(np.round((result.astype(np.float64) @ LUMA) / (255 / (levels - 1)))))

    assert bands(3) <= 3 < bands(8) <= 8 < bands(16)


def test_deterministic_and_src_untouched(coffee):
    """Same input, same output, across calls and instances; src unchanged."""
    before = coffee.copy()
    flt = filters.get("cartoon", smooth=3, thickness=1)
    first = flt(coffee)
    np.testing.assert_array_equal(flt(coffee), first)
    np.testing.assert_array_equal(filters.get("cartoon", smooth=3, thickness=1)(coffee), first)
    np.testing.assert_array_equal(coffee, before)


def test_large_frame_works_at_reduced_resolution():
    """A 1280x720 frame (smoothed at half size) keeps a flat region flat and outlines the step."""
    src = step_image(720, 1280)
    result = filters.get("cartoon")(src)
    assert (result[:, :500] == quantised_colour((40, 40, 40), 8)).all()
    assert (result[:, 636:644].max(axis=2).min(axis=1) <= 5).all()


def test_parse_spec():
    """The CLI form builds the same filter; 'none' turns outlines off."""
    flt = filters.parse("cartoon:levels=5,smooth=1,edges=none,thickness=2")
    assert (flt.levels, flt.smooth, flt.edges, flt.thickness) == (5, 1, None, 2)
    assert filters.parse(flt.spec).spec == flt.spec


@pytest.mark.parametrize("options,message", [
    ({"levels": 1}, r"levels must be between 2 and 32, got 1"),
    ({"levels": 33}, r"levels must be between 2 and 32, got 33"),
    ({"smooth": -1}, r"smooth must be between 0 and 6, got -1"),
    ({"edges": 0}, r"edges must be > 0 and <= 255, got 0"),
    ({"thickness": 5}, r"thickness must be between 0 and 4, got 5"),
    ({"levels": 2.5}, r"levels must be int, got 2.5"),
    ({"colors": 8}, r"unknown option 'colors'"),
])
def test_bad_options_raise(options, message):
    """The constructor rejects a bad option, naming it and the bad value."""
    with pytest.raises(filters.ParameterError, match=message):
        filters.get("cartoon", **options)


@settings(deadline=None, max_examples=30)
@given(height=st.integers(1, 60), width=st.integers(1, 60),
       colour=st.tuples(*[st.integers(0, 255)] * 3), levels=st.integers(2, 32),
       smooth=st.integers(0, 3))
def test_random_shapes_flat_stays_flat(height, width, colour, levels, smooth):
    """Any shape: a flat frame gives the flat quantised colour everywhere."""
    src = np.full((height, width, 3), colour, np.uint8)
    result = filters.get("cartoon", levels=levels, smooth=smooth)(src)
    assert result.shape == src.shape
    assert np.abs(result.astype(int) - quantised_colour(colour, levels)).max() <= 1
