"""The frame processor of ``run`` and ``render``: the filter chain, then the face stage.

`build_processor` is the one place both commands make it; what differs between them
is the face stage's edge: live, the analysis runs in its own thread and a privacy lens
holds frames back a fixed delay (`face.stage.FaceStage`); offline, every frame is
analysed and drawn once the searches covering it are done (`face.offline.OfflineLenses`).
`check_specs` checks the specs without building anything (no kernel compiled, no model loaded).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .errors import ParameterError
from .pipeline import Pipeline, stage_from_spec

__all__ = ["MODES", "build_processor", "check_specs"]

MODES = ("live", "render")


def build_processor(filters: Pipeline | Iterable[str], lenses: Iterable[str], mode: str, *,
                    face_model: str | None = None, detector_model: str | None = None,
                    segmentation_model: str | None = None, privacy_delay: float = 0.1,
                    faces_csv: str | os.PathLike[str] | None = None, overwrite: bool = False,
                    every_lens: bool = False) -> Any:
    """What each frame of ``run`` (``mode`` "live") or ``render`` ("render") goes through.

    ``filters`` are spec strings, or the `Pipeline` to run (live: the one the number keys
    change); ``lenses`` are lens specs. Without lenses, the chain itself (a `Pipeline`).
    With them, live: a `FaceStage` running the chain, then drawing the lenses, holding
    frames ``privacy_delay`` s while a privacy lens is on; ``every_lens`` makes one without
    ``lenses`` too, every lens on its hotkey cycle (the ``f`` key). Render: an
    `OfflineLenses` (``push``/``drain``, a context manager) that writes the faces to
    ``faces_csv`` (not replacing one unless ``overwrite``). The models are
    `face.build_face_stage`'s. Raises `ParameterError` for a bad spec or mode, and as
    `face.build_face_stage` does.
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    chain = filters if isinstance(filters, Pipeline) else Pipeline([stage_from_spec(s) for s in filters])
    lenses = list(lenses)
    if mode == "live" and (lenses or every_lens):
        from .face import build_face_stage

        return build_face_stage(lenses, inner=chain, face_model=face_model, detector_model=detector_model,
                                segmentation_model=segmentation_model, privacy_delay=privacy_delay)
    if mode == "render" and lenses:
        from .face.offline import OfflineLenses

        return OfflineLenses(lenses, chain if chain.stages else None, face_model=face_model,
                             detector_model=detector_model, segmentation_model=segmentation_model,
                             faces_csv=faces_csv, overwrite=overwrite)
    return chain


def check_specs(filters: Iterable[str], lenses: Iterable[str]) -> list[Any]:
    """The `Lens` objects of ``lenses``, having checked every filter and lens spec; loads no model.

    Raises `ParameterError` naming a bad spec, `FaceUnavailableError` for lenses without the face extra.
    """
    for spec in filters:
        stage_from_spec(spec)
    lenses = list(lenses)
    if not lenses:
        return []
    from .face import _require_face_extra
    from .face.lenses import parse_lens

    _require_face_extra()
    return [parse_lens(spec) for spec in lenses]
