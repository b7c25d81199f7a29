"""Face lenses and background effects (optional ``face`` extra: MediaPipe Tasks).

>>> from camfilters.face import build_face_stage
>>> with build_face_stage(["glasses", "bg-blur:strength=25"]) as stage:
...     out = stage.process(frame, timestamp)      # (H, W, 3) uint8 BGR, time in seconds

This module imports without mediapipe; `build_face_stage` raises `FaceUnavailableError`
with the install hint when it is missing. Models are found or downloaded by `models`.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from camfilters.errors import ParameterError

from .errors import AnalysisError, FaceUnavailableError, ModelError

if TYPE_CHECKING:
    from .stage import FaceStage

__all__ = ["AnalysisError", "FaceUnavailableError", "ModelError", "available_lenses", "build_face_stage", "lens_help"]

INSTALL_HINT = '--lens needs the face extra: pip install "camfilters[face]"'


def _require_mediapipe() -> None:
    try:
        found = importlib.util.find_spec("mediapipe") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise FaceUnavailableError(INSTALL_HINT)
    try:
        import mediapipe.tasks.python.vision  # noqa: F401
    except ImportError:
        raise FaceUnavailableError(INSTALL_HINT) from None


def available_lenses() -> list[str]:
    """Every lens name, plugins (entry-point group ``camfilters.lenses``) included, in the hotkey cycle's order."""
    from .lenses import LENSES

    return LENSES.names()


def lens_help() -> list[tuple[str, str]]:
    """(name with its options' syntax, one-line description) of every lens, for ``camfilters list``."""
    from .lenses import LENSES

    rows = []
    for name in LENSES.names():
        cls = LENSES.get_class(name)
        opts = ",".join(f"{o.name}={'PATH' if o.name == 'image' else o.default}" for o in cls.options)
        helps = "; ".join(f"{o.name}: {o.help}" for o in cls.options)
        rows.append((name + (f"[:{opts}]" if opts else ""), cls.help + (f" ({helps})" if helps else "")))
    return rows


def build_face_stage(lenses: list[str], inner: Any = None, *, face_model: str | None = None,
                     segmentation_model: str | None = None, synchronous: bool = False,
                     analysis_size: int = 640, num_faces: int = 4, smoothing: bool = True) -> FaceStage:
    """A `FaceStage` drawing ``lenses`` (specs like ``"bg-blur:strength=25"``), all together at first.

    ``inner`` is the filter chain (a Stage, e.g. a Pipeline): the stage runs it on the whole
    frame before drawing, or, when "face-only" / "bg-only" is active, only inside the faces /
    on the background; faces are always found in the unfiltered frame. So pass the chain
    here and do not also run it before this stage. The hotkey cycle (`FaceStage.next_lens`) goes from all the
    lenses to each one alone, then "none"; with no lenses it starts at "none" and cycles
    through every lens (those needing ``inner`` only when it is given). ``synchronous``
    analyses every frame before drawing it (tests, offline render) instead of in a worker
    thread. Models come from the paths given, else `models.resolve_model` (may download).

    Raises FaceUnavailableError without mediapipe, ParameterError for a bad lens spec,
    ModelError for a missing model.
    """
    if analysis_size < 64:
        raise ParameterError(f"analysis_size must be >= 64 pixels, got {analysis_size}")
    if not 1 <= num_faces <= 16:
        raise ParameterError(f"num_faces must be between 1 and 16, got {num_faces}")
    _require_mediapipe()
    from .lenses import LENSES, parse_lens
    from .models import resolve_model
    from .stage import Analyzer, FaceStage

    if lenses:
        chosen = [parse_lens(spec) for spec in lenses]
        for lens in chosen:
            if lens.needs_inner and inner is None:
                raise ParameterError(f"lens {lens.name} needs a filter chain to apply (give --filter), got none")
        # Modifiers compose the filtered frame first; the other lenses draw on top.
        chosen.sort(key=lambda lens: not lens.needs_inner)
        modes = [tuple(chosen)] + ([(lens,) for lens in chosen] if len(chosen) > 1 else []) + [()]
    else:
        classes = [LENSES.get_class(name) for name in LENSES.names()]
        chosen = [cls() for cls in classes if inner is not None or not cls.needs_inner]
        modes = [()] + [(lens,) for lens in chosen]
    need_faces = any(lens.needs_faces for lens in chosen)
    need_mask = any(lens.needs_mask for lens in chosen)
    analyzer = Analyzer(
        str(resolve_model("face", face_model)) if need_faces else None,
        str(resolve_model("segmentation", segmentation_model)) if need_mask else None,
        analysis_size=analysis_size, num_faces=num_faces, smoothing=smoothing,
    )
    analyzer.open(faces=need_faces and any(lens.needs_faces for lens in modes[0]),
                  mask=need_mask and any(lens.needs_mask for lens in modes[0]))
    return FaceStage(modes, analyzer, inner=inner, synchronous=synchronous)
