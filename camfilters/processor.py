"""The frame processor of ``run`` and ``render``: the filter chain, then the face stage.

`check_specs` checks the specs without building anything (no kernel compiled, no model loaded).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["check_specs"]


def check_specs(filters: Iterable[str], lenses: Iterable[str]) -> list[Any]:
    """The `Lens` objects of ``lenses``, having checked every filter and lens spec; loads no model.

    Raises `ParameterError` naming a bad spec, `FaceUnavailableError` for lenses without the face extra.
    """
    from .pipeline import stage_from_spec

    for spec in filters:
        stage_from_spec(spec)
    lenses = list(lenses)
    if not lenses:
        return []
    from .face import _require_face_extra
    from .face.lenses import parse_lens

    _require_face_extra()
    return [parse_lens(spec) for spec in lenses]
