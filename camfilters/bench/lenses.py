"""Section ``lenses``: the per-frame cost of each face lens (analysis and drawing, synchronous)."""

from __future__ import annotations

import time
from typing import Any

from ..errors import CamfiltersError
from .recipes import Frame
from .stats import summary


def bench_lenses(frame: Frame, repeat: int) -> dict[str, Any]:
    """Per-frame cost of each registered face lens on ``frame``.

    Needs the face extra and the models already on disk (``--face-model`` paths, the
    ``CAMFILTERS_MODEL_DIR`` folder or the cache): a benchmark never downloads. Returns
    ``{"skipped": reason}`` otherwise. ``faces`` says how many faces the frame gave: with
    the demo source there are none, so pass ``--source`` a video of a face for real figures.
    """
    from ..face import available_lenses, build_face_stage
    from ..face.models import resolve_model
    from ..pipeline import Pipeline, stage_from_spec

    try:
        models = {kind: str(resolve_model(kind, download=False)) for kind in ("face", "segmentation")}
        rows = []
        for lens in available_lenses():
            stage = build_face_stage([lens], Pipeline([stage_from_spec("identity")]), synchronous=True,
                                     face_model=models["face"], segmentation_model=models["segmentation"])
            with stage:
                times = []
                for k in range(repeat + 3):  # 3 untimed frames settle the tracker and the mask smoothing
                    start = time.perf_counter()
                    stage.process(frame, k / 30.0)
                    if k >= 3:
                        times.append((time.perf_counter() - start) * 1000.0)
                faces = len(stage.faces) if stage.lenses[0].needs_faces else None  # background lenses find none
                rows.append({"lens": lens, "ms": summary(times), "faces": faces})
    except CamfiltersError as exc:  # no mediapipe, or no model on disk
        return {"skipped": str(exc)}
    return {"size": [frame.shape[1], frame.shape[0]], "lenses": rows}
