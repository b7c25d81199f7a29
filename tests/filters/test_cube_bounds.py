"""``.cube`` files that are endless, huge, NaN-filled or tab-separated: bounded reads, short one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

import filters
from filters import ParameterError
from filters.cube import MAX_3D_SIZE, MAX_BYTES, read_cube


def write(tmp_path, text: str, name: str = "look.cube") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def refused(spec_file: str, match: str) -> str:
    """The one-line message of ``lut:file=spec_file``, checked against ``match`` and its length."""
    with pytest.raises(ParameterError, match=match) as info:
        filters.get("lut", file=spec_file)
    message = str(info.value)
    assert "\n" not in message and len(message) < 80 + 200, message
    return message


def test_dev_zero_is_not_read_until_memory_runs_out():
    """An endless file is refused once it passes the byte limit (it used to be read to OOM)."""
    refused("/dev/zero", rf"/dev/zero: over {MAX_BYTES // 2**20} MB, too big for a \.cube file")


def test_huge_file_is_refused_from_its_size(tmp_path):
    path = tmp_path / "huge.cube"
    with path.open("wb") as f:
        f.truncate(300 * 2**20)  # sparse
    refused(str(path), r"huge\.cube: over 32 MB, too big for a \.cube file \(65\^3 rows take about 8 MB\)")


@pytest.mark.parametrize("line", ["1 " * 100_000, "x" * 100_000, "LUT_3D_SIZE " + "9" * 100_000,
                                  "TITLE_" + "y" * 100_000, "DOMAIN_MIN " + "0 " * 100_000])
def test_a_long_bad_line_is_quoted_in_at_most_80_characters(tmp_path, line):
    text = "LUT_3D_SIZE 2\n" + line + "\n" if not line.startswith("LUT_3D") else line + "\n"
    message = refused(write(tmp_path, text), r"look\.cube line \d")
    assert line[:100] not in message


@pytest.mark.parametrize("row", ["nan 0 0", "NaN 0.5 0.5", "inf 0 0", "-Infinity 1 1"])
def test_nan_or_infinite_row_says_so(tmp_path, row):
    text = "LUT_3D_SIZE 2\n" + "0 0 0\n" * 3 + row + "\n" + "0 0 0\n" * 4
    message = refused(write(tmp_path, text), r"line 5: table row must be 3 finite numbers")
    word = row.split()[0]
    assert f"{word!r} is not {'a number' if 'nan' in word.lower() else 'finite'}" in message
    assert "keyword" not in message


def test_tab_separated_cube_parses_like_spaces(tmp_path):
    """Resolve writes tabs between the fields."""
    rows = [f"{r / 2:g} {g / 2:g} {b / 2:g}" for b in range(3) for g in range(3) for r in range(3)]
    spaced = "TITLE \"t\"\nLUT_3D_SIZE 3\nDOMAIN_MIN 0 0 0\n" + "\n".join(rows) + "\n"
    tabbed = spaced.replace(" ", "\t")
    a, b = read_cube(write(tmp_path, spaced, "a.cube")), read_cube(write(tmp_path, tabbed, "b.cube"))
    np.testing.assert_array_equal(a.table_3d, b.table_3d)
    assert b.title == "t"


def test_3d_size_limit_is_65_as_documented(tmp_path):
    assert MAX_3D_SIZE == 65
    refused(write(tmp_path, "LUT_3D_SIZE 66\n"), r"LUT_3D_SIZE must be an integer from 2 to 65, got '66'")
