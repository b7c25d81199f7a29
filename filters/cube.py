"""Reading Adobe / Resolve ``.cube`` colour look-up tables.

A file holds a 1D table (``LUT_1D_SIZE``), a 3D table (``LUT_3D_SIZE``), or both (Resolve:
a 1D shaper applied before the 3D table, its rows first). Keywords come before the rows:
``TITLE``, ``DOMAIN_MIN``/``DOMAIN_MAX`` (three floats each), and Resolve's
``LUT_1D_INPUT_RANGE``/``LUT_3D_INPUT_RANGE`` (two floats). Rows are three floats, red
green blue; in a 3D table red changes fastest, then green, then blue. ``#`` starts a
comment; blank lines, a UTF-8 BOM and Windows line endings are accepted. Anything else is
a `ParameterError` naming the file and line.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ParameterError, shorten

__all__ = ["CubeLUT", "read_cube"]

MAX_3D_SIZE = 65
MAX_1D_SIZE = 65536
#: The most a .cube may hold: 65^3 rows take about 8 MB, and 65536 1D rows 2 MB more; comments fit in the rest.
MAX_BYTES = 32 * 2**20


@dataclass(frozen=True)
class CubeLUT:
    """A parsed ``.cube`` file; tables hold RGB output values as float64.

    ``table_1d``: ``(n, 3)`` or None; ``table_3d``: ``(n, n, n, 3)`` indexed
    ``[blue, green, red]`` or None; ``domain_1d``/``domain_3d``: ``(2, 3)`` rows min and
    max of the input per channel (RGB).
    """

    title: str
    table_1d: np.ndarray | None
    table_3d: np.ndarray | None
    domain_1d: np.ndarray
    domain_3d: np.ndarray


def read_cube(path: str | os.PathLike[str]) -> CubeLUT:
    """Parse the ``.cube`` file at ``path``; `ParameterError` with the line number if it is malformed."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)  # never more: /dev/zero or a huge file
        if len(data) > MAX_BYTES:
            raise ParameterError(f"{path}: over {MAX_BYTES // 2**20} MB, too big for a .cube file "
                                 f"({MAX_3D_SIZE}^3 rows take about 8 MB)")
        text = data.decode("utf-8-sig")
    except OSError as exc:
        raise ParameterError(f"cannot read LUT file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path} is not a text .cube file (not UTF-8)") from None
    return _parse(path, text)


def _parse(path: Path, text: str) -> CubeLUT:
    def fail(line: int, what: str) -> ParameterError:
        return ParameterError(f"{path} line {line}: {what}")

    title, size_1d, size_3d = "", 0, 0
    domain = np.array([[0.0] * 3, [1.0] * 3])
    ranges: dict[str, np.ndarray] = {}
    rows: list[tuple[float, float, float]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, *rest = line.split(None, 1)  # spaces or tabs
        rest = rest[0] if rest else ""
        if word[0].isalpha() and not _is_float(word):  # "nan 0 0" is a bad row, not a keyword
            if rows:
                raise fail(number, f"keyword {shorten(word)} after the table rows; keywords come first")
            if word == "TITLE":
                title = rest.strip('"')
            elif word in ("LUT_1D_SIZE", "LUT_3D_SIZE"):
                limit = MAX_1D_SIZE if word == "LUT_1D_SIZE" else MAX_3D_SIZE
                if not rest.isdigit() or len(rest) > 6 or not 2 <= int(rest) <= limit:
                    raise fail(number, f"{word} must be an integer from 2 to {limit}, got {shorten(rest)!r}")
                if word == "LUT_1D_SIZE":
                    size_1d = int(rest)
                else:
                    size_3d = int(rest)
            elif word in ("DOMAIN_MIN", "DOMAIN_MAX"):
                domain[int(word == "DOMAIN_MAX")] = _floats(rest, 3, lambda what: fail(number, f"{word} {what}"))
            elif word in ("LUT_1D_INPUT_RANGE", "LUT_3D_INPUT_RANGE"):
                low, high = _floats(rest, 2, lambda what: fail(number, f"{word} {what}"))
                ranges[word] = np.array([[low] * 3, [high] * 3])
            else:
                raise fail(number, f"unknown keyword {shorten(word)!r}")
        else:
            rows.append(tuple(_floats(line, 3, lambda what: fail(number, f"table row {what}"))))
    if not (size_1d or size_3d):
        raise ParameterError(f"{path}: no LUT_1D_SIZE or LUT_3D_SIZE line; is this a .cube file?")
    expected = size_1d + size_3d**3
    if len(rows) != expected:
        sizes = " + ".join(f"{s}" for s in ([size_1d] if size_1d else []) + ([f"{size_3d}^3"] if size_3d else []))
        raise ParameterError(f"{path}: the table has {len(rows)} rows, expected {sizes} = {expected}")
    domain_1d = ranges.get("LUT_1D_INPUT_RANGE", domain)
    domain_3d = ranges.get("LUT_3D_INPUT_RANGE", domain if not size_1d else np.array([[0.0] * 3, [1.0] * 3]))
    for what, d in (("1D", domain_1d), ("3D", domain_3d)):
        if np.any(d[1] <= d[0]):
            raise ParameterError(f"{path}: the {what} input domain must have min < max per channel, got {d.tolist()}")
    data = np.asarray(rows, np.float64).reshape(-1, 3)
    table_1d = data[:size_1d] if size_1d else None
    table_3d = data[size_1d:].reshape(size_3d, size_3d, size_3d, 3) if size_3d else None
    return CubeLUT(title, table_1d, table_3d, domain_1d, domain_3d)


def _is_float(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _floats(text: str, count: int, fail) -> list[float]:
    parts = text.split()
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise fail(f"must be {count} numbers, got {shorten(text)!r}") from None
    bad = [p for p, v in zip(parts, values) if not math.isfinite(v)]
    if bad:
        what = "a number" if math.isnan(float(bad[0])) else "finite"
        raise fail(f"must be {count} finite numbers; {shorten(bad[0])!r} is not {what}, got {shorten(text)!r}")
    if len(values) != count:
        raise fail(f"must be {count} finite numbers, got {len(values)}: {shorten(text)!r}")
    return values
