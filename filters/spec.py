"""The one text grammar for filters, lenses and matrices: ``NAME:key=value,...`` and ``"1 2; 3 4"``.

Spec grammar (``--filter``, ``--lens``, `filters.parse`): ``NAME [":" KEY "=" VALUE {"," KEY "=" VALUE}]``.
``NAME`` is any text before the first ``:`` (surrounding spaces dropped), not empty; ``KEY`` is a
Python identifier, given once; a ``VALUE`` runs up to the next ``,KEY=`` (a comma followed by an
identifier and ``=``) or the end, so it may hold commas, spaces and ``;`` (``bg-replace:color=0,177,64``,
``kernel:k=0 -1 0; -1 5 -1; 0 -1 0,normalize=true``) but not ``,KEY=``. Values stay text; each
option converts and checks its own (`filters.Option`).

Matrix grammar (kernel values, ``camfilters explain``): rows separated by ``;``, numbers in a row
by spaces or commas; every row has the same length; empty rows are ignored.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import ParameterError, shorten

__all__ = ["Spec", "parse_matrix", "parse_spec"]


class Spec(NamedTuple):
    """A parsed ``NAME:key=value,...``: the name and the options as text, in the order given."""

    name: str
    options: dict[str, str]


def parse_spec(spec: str, kind: str = "filter") -> Spec:
    """Split ``spec`` by the grammar above; ``kind`` ("filter", "lens") names it in errors.

    Raises ParameterError (one line, naming the bad part) for an empty name, a part
    before any ``key=``, or a key given twice.
    """
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if not name:
        raise ParameterError(f"empty {kind} name in {shorten(spec)!r}; expected NAME or NAME:key=value,...")
    options: dict[str, str] = {}
    key = None
    for part in rest.split(",") if rest.strip() else ():
        head, eq, value = part.partition("=")
        if eq and head.strip().isidentifier():
            key = head.strip()
            if key in options:
                raise ParameterError(f"{kind} {name}: option {key!r} given twice in {shorten(spec)!r}")
            options[key] = value.strip()
        elif key is not None:
            options[key] = f"{options[key]},{part.rstrip()}"
        else:
            raise ParameterError(f"{kind} {name}: expected key=value in {shorten(spec)!r}, got {shorten(part.strip())!r}")
    return Spec(name, options)


def parse_matrix(text: str, what: str = "matrix") -> np.ndarray:
    """``"1 2 3; 4 5 6"`` (or ``"1,2,3; 4,5,6"``) -> a ``(2, 3)`` float64 array; ``what`` names it in errors.

    Numbers are not checked for being finite: the consumer says what it accepts.
    """
    rows = [row.replace(",", " ").split() for row in text.split(";")]
    rows = [row for row in rows if row]
    if not rows:
        raise ParameterError(f"{what} must not be empty, got {shorten(text)!r}")
    if any(len(row) != len(rows[0]) for row in rows):
        raise ParameterError(f"{what} rows must all have the same number of values, got {shorten(text)!r} "
                             "(write equal-length rows separated by ';')")
    try:
        return np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
    except ValueError:
        raise ParameterError(f"{what} must be numbers separated by spaces, rows by ';', got {shorten(text)!r}") from None
