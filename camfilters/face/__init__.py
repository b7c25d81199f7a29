"""Face lenses and background effects (optional ``face`` extra: MediaPipe Tasks).

>>> from camfilters.face import build_face_stage
>>> with build_face_stage(["glasses", "bg-blur:strength=25"]) as stage:  # doctest: +SKIP
...     out = stage.process(frame, timestamp)      # (H, W, 3) uint8 BGR, time in seconds

(Skipped as a doctest: it needs mediapipe and the models, see tests/face.)

This module imports without mediapipe; `build_face_stage` raises `FaceUnavailableError`
with the install hint when it is missing. Models are found or downloaded by `models`.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from camfilters.errors import ParameterError

from .errors import AnalysisError, FaceUnavailableError, ModelError

if TYPE_CHECKING:
    from filters import Option

    from .stage import FaceStage

__all__ = ["AnalysisError", "FaceUnavailableError", "ModelError", "available_lenses", "build_face_stage", "lens_help"]

INSTALL_HINT = '--lens needs the face extra: pip install "camfilters[face]"'


def _require_face_extra() -> None:
    """FaceUnavailableError unless mediapipe (landmarks, segmentation) and ai-edge-litert (BlazeFace) are
    installed; neither is imported here (mediapipe's import alone takes about a second)."""
    for name in ("mediapipe", "ai_edge_litert"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise FaceUnavailableError(INSTALL_HINT)


def available_lenses() -> list[str]:
    """Every lens name, plugins (entry-point group ``camfilters.lenses``) included, in the hotkey cycle's order."""
    from .lenses import cycle_order

    return cycle_order()


def lens_help() -> list[tuple[str, str, tuple[Option, ...]]]:
    """(name, one-line description, options) of every lens in the hotkey cycle's order, for ``camfilters list``."""
    from .lenses import LENSES, cycle_order

    return [(name, LENSES.get_class(name).help, LENSES.get_class(name).options) for name in cycle_order()]


def _is_landmarker(path: Path) -> bool:
    """Whether ``path`` is a MediaPipe face landmarker bundle (a zip holding the landmarks model)."""
    try:
        with zipfile.ZipFile(path) as bundle:
            return "face_landmarks_detector.tflite" in bundle.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def build_face_stage(lenses: list[str], inner: Any = None, *, face_model: str | None = None,
                     segmentation_model: str | None = None, synchronous: bool = False,
                     analysis_size: int = 640, num_faces: int = 4, smoothing: bool = True,
                     detector_model: str | None = None, detect_size: int = 960, hold: float = 0.5,
                     privacy_delay: float = 0.0) -> FaceStage:
    """A `FaceStage` drawing ``lenses`` (specs like ``"bg-blur:strength=25"``), all together at first.

    ``inner`` is the filter chain (a Stage, e.g. a Pipeline): the stage runs it on the whole
    frame before drawing, or, when "face-only" / "bg-only" is active, only inside the faces /
    on the background; faces are always found in the unfiltered frame. So pass the chain
    here and do not also run it before this stage. The hotkey cycle (`FaceStage.next_lens`) goes from all the
    lenses to each one alone, then "none"; with no lenses it starts at "none" and cycles
    through every lens (those needing ``inner`` only when it is given). ``synchronous``
    analyses every frame before drawing it (tests, offline render) instead of in a worker
    thread. Models come from the paths given, else `models.resolve_model` (may download); the
    face detector of the privacy lenses is bundled (``detector_model`` overrides it, and so does a
    ``face_model`` that is not a landmarker bundle when no lens needs landmarks). Those
    lenses get every face (no cap), found on a copy ``detect_size`` px wide and held ``hold`` s
    after its last detection; ``num_faces`` caps only the landmark lenses (mesh, glasses, ...).
    ``privacy_delay`` (s, live only): how long frames wait while a privacy lens is on (`delay`).

    Raises FaceUnavailableError without mediapipe, ParameterError for a bad lens spec,
    ModelError for a missing model.
    """
    if analysis_size < 64:
        raise ParameterError(f"analysis_size must be >= 64 pixels, got {analysis_size}")
    if not 1 <= num_faces <= 16:
        raise ParameterError(f"num_faces must be between 1 and 16, got {num_faces}")
    if detect_size < 64:
        raise ParameterError(f"detect_size must be >= 64 pixels, got {detect_size}")
    if not 0.0 <= privacy_delay <= 2.0:
        raise ParameterError(f"privacy_delay must be between 0 and 2 seconds, got {privacy_delay}")
    if not 0.0 <= hold <= 5.0:
        raise ParameterError(f"hold must be between 0 and 5 seconds, got {hold}")
    _require_face_extra()
    from .analysis import Analyzer
    from .lenses import LENSES, cycle_order, drawing_order, parse_lens
    from .models import resolve_model
    from .stage import FaceStage

    if lenses:
        chosen = [parse_lens(spec) for spec in lenses]
        for lens in chosen:
            if lens.needs_inner and inner is None:
                raise ParameterError(f"lens {lens.name} needs a filter chain to apply (give --filter), got none")
        chosen = drawing_order(chosen)
        modes = [tuple(chosen)] + ([(lens,) for lens in chosen] if len(chosen) > 1 else []) + [()]
    else:
        classes = [LENSES.get_class(name) for name in cycle_order()]
        chosen = [cls() for cls in classes if inner is not None or not cls.needs_inner]
        modes = [()] + [(lens,) for lens in chosen]
    need_landmarks = any(lens.needs_faces and lens.needs_landmarks for lens in chosen)
    if face_model is not None and not need_landmarks:
        # Only box lenses: a landmarker bundle is not needed; any other file is taken
        # as the detector to use instead of the bundled one (and fails to load if it is not one).
        path = Path(face_model).expanduser()
        if not path.is_file():
            raise ModelError(f"face model not found: --face-model {face_model} is not a file")
        if not _is_landmarker(path):
            detector_model = str(path)
    # The detector keeps every face scored at least as high as the lowest lens threshold; each lens filters.
    min_score = min((lens.threshold for lens in chosen if not lens.needs_landmarks and hasattr(lens, "threshold")),
                    default=0.6)
    need_mask = any(lens.needs_mask for lens in chosen)
    analyzer = Analyzer(
        str(resolve_model("face", face_model)) if need_landmarks else None,
        str(resolve_model("segmentation", segmentation_model)) if need_mask else None,
        detector_model=detector_model, analysis_size=analysis_size, detect_size=detect_size, hold=hold,
        min_score=min_score, num_faces=num_faces, smoothing=smoothing,
        # Offline, the cores this process may use (OpenCV's thread count: all, or a batch worker's share)
        # search the tiles of each frame; live, the analysis thread keeps to one so capture and drawing keep theirs.
        detect_threads=min(4, cv2.getNumThreads()) if synchronous else 1,
        eager=not synchronous,  # offline, the look-back hides what a search finds a frame or two late
    )
    first = modes[0]
    analyzer.open(faces=any(lens.needs_faces and not lens.needs_landmarks for lens in first),
                  landmarks=any(lens.needs_faces and lens.needs_landmarks for lens in first),
                  mask=any(lens.needs_mask for lens in first))
    return FaceStage(modes, analyzer, inner=inner, synchronous=synchronous, privacy_delay=privacy_delay)
