"""The lut filter and the .cube reader, against SciPy's trilinear interpolator and np.interp."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

import filters
from filters import ParameterError
from filters.cube import read_cube


def cube_text(table_3d=None, table_1d=None, header: str = "") -> str:
    """A .cube file's text for RGB tables: 3D ``(n, n, n, 3)`` indexed [b, g, r], 1D ``(n, 3)``."""
    lines = [header] if header else []
    if table_1d is not None:
        lines.append(f"LUT_1D_SIZE {len(table_1d)}")
    if table_3d is not None:
        lines.append(f"LUT_3D_SIZE {table_3d.shape[0]}")
    rows = [] if table_1d is None else list(table_1d)
    rows += [] if table_3d is None else list(table_3d.reshape(-1, 3))
    lines += [" ".join(f"{v:.9f}" for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "look.cube", newline: str = "\n") -> str:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return str(path)


def identity(n: int) -> np.ndarray:
    g = np.linspace(0.0, 1.0, n)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    return np.stack([r, gg, b], axis=-1)


def trilinear_reference(table: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """SciPy's regular-grid linear interpolation of ``table`` ([b, g, r] -> RGB) at every BGR pixel, as uint8 BGR."""
    n = table.shape[0]
    grid = np.linspace(0.0, 1.0, n)
    points = frame.reshape(-1, 3).astype(np.float64) / 255.0  # b, g, r: the table's axis order
    rgb = np.stack([RegularGridInterpolator((grid, grid, grid), table[..., c])(points) for c in range(3)], axis=-1)
    return np.clip(np.floor(rgb[:, ::-1] * 255.0 + 0.5), 0, 255).astype(np.uint8).reshape(frame.shape)


def tetrahedral_reference(table: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Tetrahedral interpolation as a walk from the lower corner to the upper one, largest fraction first."""
    n = table.shape[0]
    pos = frame.reshape(-1, 3).astype(np.float64) / 255.0 * (n - 1)  # b, g, r
    low = np.minimum(np.floor(pos), n - 2).astype(int)
    frac = pos - low
    order = np.argsort(-frac, axis=1, kind="stable")
    corner = low.copy()
    value = table[corner[:, 0], corner[:, 1], corner[:, 2]]
    result = value * 0.0
    weights_left = np.ones(len(pos))
    for step in range(3):
        axis = order[:, step]
        f = frac[np.arange(len(pos)), axis]
        result += (weights_left - f)[:, None] * value
        weights_left = f
        corner[np.arange(len(pos)), axis] += 1
        value = table[corner[:, 0], corner[:, 1], corner[:, 2]]
    result += weights_left[:, None] * value
    return np.clip(np.floor(result[:, ::-1] * 255.0 + 0.5), 0, 255).astype(np.uint8).reshape(frame.shape)


def max_level_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.fixture
def frame(rng) -> np.ndarray:
    return rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)


@pytest.mark.parametrize("interp", ["trilinear", "tetrahedral"])
@pytest.mark.parametrize("n", [2, 17, 33, pytest.param(65, marks=pytest.mark.slow)])  # 65: 4-7 s of reference
def test_identity_cube_gives_the_input_back_exactly(tmp_path, frame, n, interp):
    """The fixed-point kernels' rounding (table entries in 1/8 level, weights in 1/1024) stays under half a level."""
    lut = filters.get("lut", file=write(tmp_path, cube_text(identity(n))), interp=interp)
    np.testing.assert_array_equal(lut(frame), frame)


@pytest.mark.parametrize("n", [2, 17, 33])
def test_random_3d_lut_matches_scipy_trilinear_within_one_level(tmp_path, frame, rng, n):
    table = rng.random((n, n, n, 3))
    lut = filters.get("lut", file=write(tmp_path, cube_text(table)))
    assert max_level_diff(lut(frame), trilinear_reference(table, frame)) <= 1


@pytest.mark.parametrize("n", [2, 17, 33])
def test_random_3d_lut_tetrahedral_matches_the_corner_walk_within_one_level(tmp_path, frame, rng, n):
    table = rng.random((n, n, n, 3))
    lut = filters.get("lut", file=write(tmp_path, cube_text(table)), interp="tetrahedral")
    result = lut(frame)
    assert max_level_diff(result, tetrahedral_reference(table, frame)) <= 1
    if n > 2:  # the two interpolations really differ on a random table
        assert max_level_diff(result, trilinear_reference(table, frame)) > 1


@pytest.mark.parametrize("interp", ["trilinear", "tetrahedral"])
@pytest.mark.parametrize("n", [2, 33, pytest.param(65, marks=pytest.mark.slow)])
def test_partial_strength_blends_the_reference_with_the_original(tmp_path, frame, rng, n, interp):
    table = rng.random((n, n, n, 3))
    reference = trilinear_reference if interp == "trilinear" else tetrahedral_reference
    lut = filters.get("lut", file=write(tmp_path, cube_text(table)), interp=interp, strength=0.3)
    expected = np.floor(frame + 0.3 * (reference(table, frame).astype(float) - frame) + 0.5)
    assert max_level_diff(lut(frame), expected) <= 1


def test_1d_lut_matches_np_interp(tmp_path, frame, rng):
    table = np.sort(rng.random((11, 3)), axis=0)
    lut = filters.get("lut", file=write(tmp_path, cube_text(table_1d=table)))
    x = np.linspace(0, 1, 11)
    expected = np.stack([np.interp(frame[..., 2 - c] / 255.0, x, table[:, c]) for c in range(3)], axis=-1)
    expected = np.floor(expected[..., ::-1] * 255.0 + 0.5).astype(np.uint8)
    assert max_level_diff(lut(frame), expected) <= 1


def test_resolve_shaper_plus_3d_applies_the_1d_table_first(tmp_path, frame, rng):
    shaper = np.tile(np.linspace(0, 1, 9) ** 2, (3, 1)).T  # a gamma-like 1D shaper
    table = rng.random((5, 5, 5, 3))
    lut = filters.get("lut", file=write(tmp_path, cube_text(table, shaper)))
    shaped = np.interp(frame / 255.0, np.linspace(0, 1, 9), shaper[:, 0])  # same curve on every channel
    expected = trilinear_reference(table, np.floor(shaped * 255.0 + 0.5).astype(np.uint8))
    # the reference re-quantises the shaped value to a byte: allow for that rounding
    assert max_level_diff(lut(frame), expected) <= 3


def test_strength_blends_with_the_original(tmp_path, frame):
    inverted = 1.0 - identity(3)
    path = write(tmp_path, cube_text(inverted))
    assert np.array_equal(filters.get("lut", file=path, strength=0.0)(frame), frame)
    half = filters.get("lut", file=path, strength=0.5)(frame)
    assert max_level_diff(half, np.full_like(frame, 128)) <= 1  # x + 0.5 * ((255 - x) - x) = 127.5


def test_domain_max_stretches_the_input(tmp_path, frame):
    """With DOMAIN_MAX 2 2 2, an identity table maps a byte value v to v / 2."""
    path = write(tmp_path, cube_text(identity(9), header="DOMAIN_MIN 0 0 0\nDOMAIN_MAX 2 2 2"))
    half = np.floor(frame / 2.0 * 1.0 + 0.5)
    assert max_level_diff(filters.get("lut", file=path)(frame), half) <= 1


def test_real_world_variants_parse_alike(tmp_path):
    """Header order, TITLE, comments, blank lines, a BOM and CRLF do not change the table."""
    table = identity(2)[..., ::-1].copy()
    plain = read_cube(write(tmp_path, cube_text(table), "plain.cube"))
    body = cube_text(table).split("\n", 1)[1]
    variant = ('\ufeff# made by a grading tool\nTITLE "Teal & Orange"\n\n'
               "DOMAIN_MIN 0 0 0 # inline comment\nLUT_3D_SIZE 2\nDOMAIN_MAX 1.0 1.0 1.0\n" + body)
    parsed = read_cube(write(tmp_path, variant, "variant.cube", newline="\r\n"))
    assert parsed.title == "Teal & Orange"
    np.testing.assert_array_equal(parsed.table_3d, plain.table_3d)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("LUT_3D_SIZE 2\n0 0 0\n1 0 0\n", r"the table has 2 rows, expected 2\^3 = 8"),
        ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 3 + "0 zero 0\n" + "0 0 0\n" * 4, r"line 5: table row must be 3 numbers"),
        ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8 + "TITLE \"late\"\n", r"line 10: keyword TITLE after the table rows"),
        ("LUT_3D_SIZE 1\n0 0 0\n", r"line 1: LUT_3D_SIZE must be an integer from 2 to 65"),
        ("LUT_3D_SIZE 2\nLUT_3D_SHAPE 2\n", r"line 2: unknown keyword 'LUT_3D_SHAPE'"),
        ("LUT_3D_SIZE 2\nDOMAIN_MIN 0 0\n", r"line 2: DOMAIN_MIN must be 3 finite numbers"),
        ("LUT_3D_SIZE 2\nDOMAIN_MIN 1 0 0\nDOMAIN_MAX 1 1 1\n" + "0 0 0\n" * 8, r"min < max"),
        ("0 0 0\n", r"no LUT_1D_SIZE or LUT_3D_SIZE line"),
        ("LUT_1D_SIZE 2\n0 0 nan\n1 1 1\n", r"line 2: table row must be 3 finite numbers"),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ParameterError, match=match) as info:
        filters.get("lut", file=path)
    assert path in str(info.value) and "\n" not in str(info.value)


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(ParameterError, match=r"cannot read LUT file .*nope.cube: No such file"):
        filters.parse(f"lut:file={tmp_path / 'nope.cube'}")
    (tmp_path / "bin.cube").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParameterError, match=r"not a text .cube file"):
        filters.get("lut", file=str(tmp_path / "bin.cube"))


def test_apply_tables_matches_cv2_lut_in_place():
    """Per-channel byte tables on an odd-sized frame: exactly cv2.LUT with the same (1, 256, 3) table."""
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    tables = rng.integers(0, 256, (3, 256), dtype=np.uint8)
    expected = cv2.LUT(frame, np.ascontiguousarray(tables.T[None]))
    filters.apply_tables(frame, tables)
    np.testing.assert_array_equal(frame, expected)


@pytest.mark.parametrize(("frame", "tables", "match"), [
    (np.zeros((4, 6, 3), np.uint8)[:, ::2], np.zeros((3, 256), np.uint8), "C-contiguous"),
    (np.zeros((4, 6, 3), np.uint8), np.zeros((256, 3), np.uint8), r"tables must be a \(3, 256\) uint8 array, got \(256, 3\)"),
    (np.zeros((4, 6, 3), np.uint8), np.zeros((3, 256), np.float32), "uint8 array, got .* float32"),
])
def test_apply_tables_refuses_what_it_cannot_change_in_place(frame, tables, match):
    with pytest.raises(ParameterError, match=match):
        filters.apply_tables(frame, tables)
