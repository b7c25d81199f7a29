"""The face stage: analysis (faces, person mask) on a downscaled copy and crops, lenses drawn on every frame.

In live mode the analysis runs in a worker thread and each frame is drawn with the latest
result, so inference does not hold the picture back. In synchronous mode (tests, offline
render: VIDEO-mode analysis of every frame at its own timestamp) every frame is analysed
before it is drawn.

The per-frame result (what lenses, ``render --faces-csv`` and tests read): after
``out = stage.process(frame, t)``, ``stage.result`` is the `Analysis` drawn on that frame:

- ``result.timestamp``: capture time (s) of the analysed frame the faces come from; in
  live mode that frame is at most ``max_lag`` (2) frames older than the drawn one.
- ``result.faces`` (also ``stage.faces``): EVERY tracked face, no count cap, as
  `tracking.Face` with ``track_id`` (int), ``box`` (x, y, w, h float, frame pixels),
  ``score`` (float in [0, 1]), ``landmarks`` (``(478, 3) float32`` frame px, or None when
  no landmark lens is on or the landmarker did not reach that face), ``detected`` (bool:
  found in this analysis, or False: held after its last detection, following its motion)
  and ``timestamp`` (= ``result.timestamp``).

Lenses draw privacy masks from ``box`` (they add their own margin) and landmark effects
only on faces whose ``landmarks`` is not None.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from camfilters.errors import CamfiltersError
from camfilters.pipeline import EMA
from filters.base import check_frame

from .errors import AnalysisError, ModelError
from .lenses import Lens, Scene
from .segmentation import Segmenter
from .tracking import Face, FaceFinder, FaceTracks

log = logging.getLogger(__name__)


@dataclass
class Analysis:
    """One analysed frame: capture time (s), tracked faces (full-frame pixels), person mask.

    ``mask`` is the smoothed ``(h, w) float32`` model output at analysis size; ``person``
    the soft-edged ``(H, W) uint8`` blending weight at frame size, made in the worker thread.
    """

    timestamp: float
    faces: list[Face] = field(default_factory=list)
    mask: np.ndarray | None = None
    person: np.ndarray | None = None
    seq: int = 0
    cost_ms: float = 0.0  # downscaling and inference time, without creating the MediaPipe tasks


class Analyzer:
    """Runs the face finder and/or segmenter on a frame downscaled to at most ``analysis_size`` px.

    The face finder also looks at square crops of the full-size frame, for small faces.
    The MediaPipe tasks are created on first use, in the thread that uses them.
    """

    def __init__(self, face_model: str | None, segmentation_model: str | None, *, analysis_size: int = 640,
                 num_faces: int = 4, smoothing: bool = True) -> None:
        self.face_model = face_model
        self.segmentation_model = segmentation_model
        self.analysis_size = analysis_size
        self.num_faces = num_faces
        self.tracks = FaceTracks(smoothing=smoothing)
        self._finder: FaceFinder | None = None
        self._segmenter: Segmenter | None = None
        self._seq = 0

    def downscale(self, image: np.ndarray) -> np.ndarray:
        """An RGB copy of ``image`` (BGR) whose longer side is at most ``analysis_size``."""
        h, w = image.shape[:2]
        s = self.analysis_size / max(h, w)
        if s < 1.0:
            image = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def open(self, *, faces: bool, mask: bool) -> None:
        """Create the MediaPipe tasks needed (landmarker if ``faces``, segmenter if ``mask``) now.

        Raises ModelError when a model file cannot be loaded.
        """
        try:
            if faces and self.face_model is not None and self._finder is None:
                self._finder = FaceFinder(self.face_model, num_faces=self.num_faces, analysis_size=self.analysis_size)
            if mask and self.segmentation_model is not None and self._segmenter is None:
                self._segmenter = Segmenter(self.segmentation_model)
        except (RuntimeError, ValueError, OSError) as exc:
            path = self.face_model if faces and self._finder is None else self.segmentation_model
            raise ModelError(f"cannot load the model {path}: {_first_line(exc)}") from None

    def analyse(self, image: np.ndarray, timestamp: float, *, faces: bool, mask: bool) -> Analysis:
        """Landmarks (if ``faces``) and person mask (if ``mask``) of ``image`` ((H, W, 3) uint8 BGR)
        taken at ``timestamp`` s. The cost includes the downscaling."""
        self.open(faces=faces, mask=mask)
        ms = round(timestamp * 1000.0)
        frame_size = image.shape[1::-1]
        result = Analysis(timestamp)
        start = time.perf_counter()
        rgb = self.downscale(image)
        try:
            if faces and self._finder is not None:
                tracked = self.tracks.update(self._finder.find(image, rgb, ms), timestamp)
                result.faces = [dataclasses.replace(face) for face in tracked]  # a snapshot for the drawing thread
            if mask and self._segmenter is not None:
                result.mask = self._segmenter.segment(rgb, ms)
        except (RuntimeError, ValueError) as exc:
            raise AnalysisError(f"face analysis failed: {_first_line(exc)}") from exc
        result.cost_ms = (time.perf_counter() - start) * 1000.0
        if result.mask is not None:
            result.person = person_alpha(result.mask, frame_size)
        self._seq += 1
        result.seq = self._seq
        return result

    def close(self) -> None:
        for task in (self._finder, self._segmenter):
            if task is not None:
                task.close()
        self._finder = self._segmenter = None


def person_alpha(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The person's ``(H, W) uint8`` blending weight (255 = person) at frame ``size`` (W, H).

    From the small model mask: its soft ramp steepened a little, then blurred, so the
    edges are clean but soft.
    """
    small = np.clip((mask - 0.25) * 2.0, 0.0, 1.0)
    small = cv2.GaussianBlur(small, (0, 0), max(0.8, small.shape[1] / 320.0))
    return cv2.resize(cv2.convertScaleAbs(small, alpha=255.0), size, interpolation=cv2.INTER_LINEAR)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Worker:
    """A thread analysing the most recently submitted frame; older unprocessed frames are dropped."""

    def __init__(self, analyzer: Analyzer, on_cost: EMA) -> None:
        self._analyzer = analyzer
        self._cost = on_cost
        self._cond = threading.Condition()
        self._job: tuple[Any, ...] | None = None
        self._busy = False
        self._stop = False
        self.latest: Analysis | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="camfilters-face", daemon=True)
        self._thread.start()

    @property
    def idle(self) -> bool:
        return not self._busy and self._job is None

    def submit(self, *job: Any) -> None:
        with self._cond:
            self._job = job
            self._cond.notify()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._job is None and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    job, self._job = self._job, None
                    self._busy = True
                image, timestamp, faces, mask = job
                self.latest = self._analyzer.analyse(image, timestamp, faces=faces, mask=mask)
                self._cost.add(self.latest.cost_ms)
                self._busy = False
        except CamfiltersError as exc:  # re-raised in the caller's thread by FaceStage.process
            self.error = exc
        except Exception as exc:
            self.error = exc
            log.exception("face analysis failed")
        finally:
            self._analyzer.close()

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5.0)


class FaceStage:
    """A pipeline stage drawing face lenses and background effects on ``(H, W, 3) uint8 BGR`` frames.

    ``modes`` are the lens combinations `next_lens` cycles through ("none" is the empty
    one). ``inner``, the filter chain, runs on the whole frame before the lenses draw,
    except in a mode with "face-only" / "bg-only", which apply it to their region only;
    so the caller runs the chain through this stage, not before it. ``cost_ms`` is the moving average of the analysis time per analysed frame (ms).
    A result older than ``max_age`` seconds is not drawn (no stale overlay).
    """

    def __init__(self, modes: list[tuple[Lens, ...]], analyzer: Analyzer, *, inner: Any = None,
                 synchronous: bool = False, max_age: float = 0.5) -> None:
        self.modes = modes
        self.inner = inner
        self.synchronous = synchronous
        self.max_age = max_age
        self._mode = 0
        self._analyzer = analyzer
        self._cost = EMA()
        self._worker = None if synchronous else _Worker(analyzer, self._cost)
        self._latest: Analysis | None = None
        self._outs: list[np.ndarray] = []
        self._turn = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"FaceStage({self.name!r}, synchronous={self.synchronous})"

    @property
    def name(self) -> str:
        return "+".join(lens.name for lens in self.lenses) or "none"

    @property
    def lenses(self) -> tuple[Lens, ...]:
        """The lenses drawn now, in drawing order."""
        return self.modes[self._mode]

    @property
    def cost_ms(self) -> float:
        return self._cost.value or 0.0

    @property
    def result(self) -> Analysis | None:
        """The analysis drawn on the last frame (see the module docstring), None before the first."""
        return self._latest

    @property
    def faces(self) -> list[Face]:
        """Every face drawn on the last frame (`tracking.Face`, see the module docstring)."""
        return list(self._latest.faces) if self._latest is not None else []

    def next_lens(self) -> str:
        """Switch to the next lens combination (wrapping, via "none"); return its name."""
        self._mode = (self._mode + 1) % len(self.modes)
        return self.name

    def process(self, image: np.ndarray, timestamp: float) -> np.ndarray:
        """``image`` filtered by the chain and with the current lenses drawn, in a reused buffer.

        With no lens and no chain it returns ``image`` itself.
        """
        check_frame(image, "image")
        lenses = self.lenses
        # The chain runs on the whole frame first unless a modifier lens places it itself;
        # faces are always found in the unfiltered frame.
        source = image
        if self.inner is not None and not any(lens.needs_inner for lens in lenses):
            source = self.inner.process(image, timestamp)
        if not lenses:
            return source
        want_faces = any(lens.needs_faces for lens in lenses)
        want_mask = any(lens.needs_mask for lens in lenses)
        h, w = image.shape[:2]
        analysis = self._analysis(image, timestamp, want_faces, want_mask)
        if analysis is None or timestamp - analysis.timestamp > self.max_age:
            analysis = Analysis(timestamp)
        self._latest = analysis
        if not self._outs or self._outs[0].shape != image.shape:
            self._outs = [np.empty_like(image), np.empty_like(image)]
        self._turn ^= 1
        out = self._outs[self._turn]
        out[...] = source
        person = analysis.person if analysis.person is not None and analysis.person.shape == (h, w) else None
        scene = Scene(analysis.faces if want_faces else [], person, timestamp, self.inner)
        for lens in lenses:
            lens.apply(out, scene)
        return out

    def _analysis(self, image: np.ndarray, timestamp: float, faces: bool, mask: bool) -> Analysis | None:
        if self._worker is None:
            result = self._analyzer.analyse(image, timestamp, faces=faces, mask=mask)
            self._cost.add(result.cost_ms)
            return result
        if self._worker.error is not None:
            raise self._worker.error
        if self._worker.idle:
            self._worker.submit(image.copy(), timestamp, faces, mask)  # the caller may reuse its buffer
        return self._worker.latest

    def close(self) -> None:
        """Stop the worker and release the MediaPipe tasks; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._worker.close()
        else:
            self._analyzer.close()

    def __enter__(self) -> FaceStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
