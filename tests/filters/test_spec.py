"""The one spec grammar (``NAME:key=value,...``) and the matrix grammar, shared by filters, lenses and explain."""

from __future__ import annotations

import numpy as np
import pytest

import filters
from filters import ParameterError, Spec, parse_matrix, parse_spec


@pytest.mark.parametrize(("text", "expected"), [
    ("edge", Spec("edge", {})),
    (" edge : ", Spec("edge", {})),
    ("edge:ksize=5", Spec("edge", {"ksize": "5"})),
    ("edge: ksize = 5 , method=scharr", Spec("edge", {"ksize": "5", "method": "scharr"})),
    ("bg-replace:color=0,177,64", Spec("bg-replace", {"color": "0,177,64"})),
    ("bg-replace:color=0, 177, 64,image=a b.png", Spec("bg-replace", {"color": "0, 177, 64", "image": "a b.png"})),
    ("kernel:k=0 -1 0; -1 5 -1; 0 -1 0,normalize=true",
     Spec("kernel", {"k": "0 -1 0; -1 5 -1; 0 -1 0", "normalize": "true"})),
    ("kernel:k=1,2;3,4", Spec("kernel", {"k": "1,2;3,4"})),
    ("x:path=a=b", Spec("x", {"path": "a=b"})),
])
def test_a_value_runs_to_the_next_comma_key_equals(text, expected):
    """Values may hold commas, spaces and ';': a value ends only at the next ``,KEY=``."""
    assert parse_spec(text) == expected


@pytest.mark.parametrize(("text", "kind", "message"), [
    ("", "filter", r"^empty filter name in ''; expected NAME or NAME:key=value,\.\.\.$"),
    (":ksize=3", "lens", r"^empty lens name in ':ksize=3'"),
    ("edge:5", "filter", r"^filter edge: expected key=value in 'edge:5', got '5'$"),
    ("bg-blur:strength", "lens", r"^lens bg-blur: expected key=value in 'bg-blur:strength', got 'strength'$"),
    ("edge:ksize=3,ksize=5", "filter", r"^filter edge: option 'ksize' given twice in 'edge:ksize=3,ksize=5'$"),
    ("bg-blur:strength=3, strength=4", "lens", r"^lens bg-blur: option 'strength' given twice"),
])
def test_bad_specs_are_one_line_naming_the_bad_part(text, kind, message):
    with pytest.raises(ParameterError, match=message) as info:
        parse_spec(text, kind)
    assert "\n" not in str(info.value)


def test_filters_use_the_grammar():
    """filters.parse builds what parse_spec splits; a kernel value may use commas between numbers."""
    flt = filters.parse("kernel:k=1,2;3,4,border=wrap")
    np.testing.assert_array_equal(flt.k.array, [[1, 2], [3, 4]])
    assert flt.border == "wrap"
    with pytest.raises(ParameterError, match=r"option 'ksize' given twice"):
        filters.parse("blur:ksize=3,ksize=5")


@pytest.mark.parametrize(("text", "expected"), [
    ("1 2 3; 4 5 6", [[1, 2, 3], [4, 5, 6]]),
    ("1,2,3;4,5,6;", [[1, 2, 3], [4, 5, 6]]),
    ("  -0.5  1e-3 ", [[-0.5, 0.001]]),
])
def test_parse_matrix(text, expected):
    m = parse_matrix(text)
    assert m.dtype == np.float64
    np.testing.assert_array_equal(m, expected)


@pytest.mark.parametrize(("text", "message"), [
    ("", r"^--kernel must not be empty, got ''$"),
    (" ; ", r"^--kernel must not be empty"),
    ("1 2; 3", r"^--kernel rows must all have the same number of values, got '1 2; 3' \(write equal-length rows"),
    ("1 x", r"^--kernel must be numbers separated by spaces, rows by ';', got '1 x'$"),
])
def test_parse_matrix_errors(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_matrix(text, "--kernel")
