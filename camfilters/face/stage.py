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

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from camfilters.capture import native_name
from camfilters.errors import CamfiltersError
from camfilters.pipeline import EMA
from camfilters.threads import Worker
from filters import check_frame

from .delay import Delay
from .detect import BUNDLED_DETECTOR, Detection
from .errors import AnalysisError, ModelError
from .landmarks import FaceFinder, attach_landmarks
from .lenses import Lens, Scene, drawing_order
from .search import FaceDetector
from .segmentation import Segmenter
from .tracking import Face, FaceTracks

log = logging.getLogger(__name__)


@dataclass
class Analysis:
    """One analysed frame: capture time (s), tracked faces (full-frame pixels), person mask.

    ``mask`` is the smoothed ``(h, w) float32`` model output at analysis size; ``person``
    the soft-edged ``(H, W) uint8`` blending weight at frame size, made in the worker thread.
    ``frame`` is the stage's count of the drawn frame that was analysed (live lag check).
    """

    timestamp: float
    faces: list[Face] = field(default_factory=list)
    mask: np.ndarray | None = None
    person: np.ndarray | None = None
    seq: int = 0
    frame: int = 0
    cost_ms: float = 0.0  # downscaling and inference time, without creating the MediaPipe tasks


class Analyzer:
    """Finds the faces and/or the person mask of a frame; every call is one analysed frame.

    Faces come from `search.FaceDetector` (``detector_model``, default the bundled full-range
    BlazeFace; every face, small ones too) when ``faces``; landmarks from the FaceLandmarker
    (``face_model``, at most ``num_faces``) when ``landmarks``; both go through one
    `FaceTracks` (hold, smoothing). The person mask is computed on a copy at most
    ``analysis_size`` px on its longer side. ``detect_threads`` model pairs share a frame's searches and
    ``eager`` searches a changed tile at once (`search.FaceDetector`). The MediaPipe tasks are created on first use,
    in the thread that uses them.
    """

    def __init__(self, face_model: str | None, segmentation_model: str | None, *, detector_model: str | None = None,
                 analysis_size: int = 640, detect_size: int = 960, tile: int = 192, min_score: float = 0.6,
                 hold: float = 0.5, num_faces: int = 4, smoothing: bool = True, detect_threads: int = 1,
                 eager: bool = False) -> None:
        self.face_model = face_model
        self.segmentation_model = segmentation_model
        self.detector_model = detector_model or str(BUNDLED_DETECTOR)
        self.analysis_size = analysis_size
        self.detect_size = detect_size
        self.tile = tile
        self.min_score = min_score
        self.detect_threads = detect_threads
        self.eager = eager
        self.num_faces = num_faces
        self.tracks = FaceTracks(smoothing=smoothing, hold=hold)
        self._detector: FaceDetector | None = None
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

    def open(self, *, faces: bool, mask: bool, landmarks: bool = False) -> None:
        """Create the MediaPipe tasks needed (detector if ``faces``, landmarker if ``landmarks``, segmenter
        if ``mask``) now. Raises ModelError when a model file cannot be loaded."""
        path = None
        try:
            if faces and self._detector is None:
                path = self.detector_model
                with native_name(path) as name:
                    self._detector = FaceDetector(name, analysis_size=self.detect_size, tile=self.tile,
                                                  min_score=self.min_score, threads=self.detect_threads,
                                                  eager=self.eager)
            if landmarks and self.face_model is not None and self._finder is None:
                path = self.face_model
                with native_name(path) as name:
                    self._finder = FaceFinder(name, num_faces=self.num_faces, analysis_size=self.analysis_size)
            if mask and self.segmentation_model is not None and self._segmenter is None:
                path = self.segmentation_model
                with native_name(path) as name:
                    self._segmenter = Segmenter(name)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"cannot load the model {path}: {_model_problem(path) or _first_line(exc)}") from None

    def analyse(self, image: np.ndarray, timestamp: float, *, faces: bool, mask: bool,
                landmarks: bool = False) -> Analysis:
        """Faces (detected if ``faces``, with landmarks if ``landmarks``) and person mask (if ``mask``) of
        ``image`` ((H, W, 3) uint8 BGR) taken at ``timestamp`` s. The cost includes the downscaling."""
        self.open(faces=faces, mask=mask, landmarks=landmarks)
        ms = round(timestamp * 1000.0)
        frame_size = image.shape[1::-1]
        result = Analysis(timestamp)
        start = time.perf_counter()
        rgb = self.downscale(image) if (mask or landmarks) else None
        try:
            if faces or landmarks:
                found = []
                if faces and self._detector is not None:
                    found = self._detector.detect(image, self.tracks.looks(timestamp), self.tracks.known(timestamp))
                if landmarks and self._finder is not None:
                    found = attach_landmarks(found, self._finder.find(image, rgb, ms))
                result.faces = self.tracks.update(found, timestamp, frame_size)
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

    def find(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[Detection | None]:
        """The face found looking from the centre of each box (frame px) of ``image`` (BGR), or None."""
        return self._detector.find(image, boxes) if self._detector is not None and boxes else [None] * len(boxes)

    def close(self) -> None:
        for task in (self._detector, self._finder, self._segmenter):
            if task is not None:
                task.close()
        self._detector = self._finder = self._segmenter = None


def person_alpha(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The person's ``(H, W) uint8`` blending weight (255 = person) at frame ``size`` (W, H).

    From the small model mask: its soft ramp steepened a little, then blurred, so the
    edges are clean but soft.
    """
    small = np.clip((mask - 0.25) * 2.0, 0.0, 1.0)
    small = cv2.GaussianBlur(small, (0, 0), max(0.8, small.shape[1] / 320.0))
    return cv2.resize(cv2.convertScaleAbs(small, alpha=255.0), size, interpolation=cv2.INTER_LINEAR)


def _model_problem(path: str | None) -> str | None:
    """What is plainly wrong with the model file at ``path`` (MediaPipe's own words are obscure), if anything."""
    try:
        empty = path is not None and os.path.getsize(path) == 0
    except OSError:
        return None
    return "the file is empty (0 bytes); pass a MediaPipe model file" if empty else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Worker(Worker):
    """A thread analysing the most recently submitted frame; older unprocessed frames are dropped.

    An error ends it and is raised in the caller's thread by `FaceStage.process`.
    """

    def __init__(self, analyzer: Analyzer, on_cost: EMA) -> None:
        super().__init__("camfilters-face")
        self._analyzer = analyzer
        self._cost = on_cost
        self._job: tuple[Any, ...] | None = None
        self._busy = False
        self._stop = False
        self.latest: Analysis | None = None
        self.start()

    @property
    def idle(self) -> bool:
        """No job queued and none running (read under the lock the worker thread writes them under)."""
        with self.cond:  # re-entrant: wait() reads it while holding the lock
            return not self._busy and self._job is None

    def submit(self, *job: Any) -> None:
        with self.cond:
            self._job = job
            self.cond.notify_all()

    def wait(self, ready: Any, timeout: float) -> bool:
        """Wait until ``ready()`` holds, the worker is idle or failed, or ``timeout`` s pass; return ``ready()``."""
        self.wait_for(lambda: ready() or self.idle, timeout)
        return bool(ready())

    def run(self) -> None:
        try:
            while True:
                with self.cond:
                    while self._job is None and not self._stop:
                        self.cond.wait()
                    if self._stop:
                        return
                    job, self._job = self._job, None
                    self._busy = True
                image, timestamp, frame, flags = job
                result = self._analyzer.analyse(image, timestamp, **flags)
                result.frame = frame
                self._cost.add(result.cost_ms)
                with self.cond:
                    self.latest = result
                    self._busy = False
                    self.cond.notify_all()
        except CamfiltersError:  # one line, said by the caller
            raise
        except Exception:
            log.exception("face analysis failed")
            raise
        finally:
            with self.cond:
                self._busy = False
            self._analyzer.close()

    def close(self) -> None:
        with self.cond:
            self._stop = True
            self.cond.notify_all()
        self.join(timeout=5.0)


def _flags(lenses: Any) -> dict[str, bool]:
    """What the analysis must find for ``lenses``: face boxes, landmarks, the person mask."""
    return {"faces": any(lens.needs_faces and not lens.needs_landmarks for lens in lenses),
            "landmarks": any(lens.needs_faces and lens.needs_landmarks for lens in lenses),
            "mask": any(lens.needs_mask for lens in lenses)}


class FaceStage:
    """A pipeline stage drawing face lenses and background effects on ``(H, W, 3) uint8 BGR`` frames.

    ``modes`` are the lens combinations `next_lens` cycles through ("none" is the empty
    one). ``inner``, the filter chain, runs on the whole frame before the lenses draw,
    except in a mode with "face-only" / "bg-only", which apply it to their region only;
    so the caller runs the chain through this stage, not before it. ``cost_ms`` is the
    moving average of the analysis time per analysed frame (ms).

    Live mode never draws a frame with an analysis more than ``max_lag`` frames older than
    it: when the worker falls that far behind, `process` waits for it (up to ``timeout`` s,
    then AnalysisError), so a slow machine loses frame rate, never coverage. With
    ``privacy_delay`` (s) and a privacy lens on, live frames leave that much later (`delay`);
    ``shown`` is then (capture time of the frame returned, whether it is a new one).
    """

    def __init__(self, modes: list[tuple[Lens, ...]], analyzer: Analyzer, *, inner: Any = None,
                 synchronous: bool = False, max_lag: int = 2, timeout: float = 30.0,
                 privacy_delay: float = 0.0) -> None:
        self.modes = modes
        self.inner = inner
        self.synchronous = synchronous
        self.max_lag = max_lag
        self.timeout = timeout
        self._mode = 0
        self._analyzer = analyzer
        self._cost = EMA()
        self._worker = None if synchronous else _Worker(analyzer, self._cost)
        self._latest: Analysis | None = None
        self._outs: list[np.ndarray] = []
        self._turn = 0
        self._frame = 0
        self._closed = False
        self._delay = Delay(privacy_delay) if privacy_delay > 0 and not synchronous else None
        self.shown: tuple[float, bool] = (0.0, True)

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
    def delay_ms(self) -> float:
        """The privacy delay in force now (ms): 0 without one, or while no privacy lens is on."""
        return 1000.0 * self._delay.seconds if self._delays() else 0.0

    def _delays(self) -> bool:
        return self._delay is not None and any(getattr(lens, "private", False) for lens in self.lenses)

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

    def set_lenses(self, lenses: tuple[Lens, ...]) -> str:
        """Draw ``lenses`` (in `drawing_order`) from now on, as a mode `next_lens` cycles through too
        (replacing a mode of the same names); return the name."""
        chosen = tuple(drawing_order(lenses))
        names = [tuple(lens.name for lens in mode) for mode in self.modes]
        key = tuple(lens.name for lens in chosen)
        if key in names:
            self._mode = names.index(key)
            self.modes[self._mode] = chosen
        else:
            self.modes.append(chosen)
            self._mode = len(self.modes) - 1
        return self.name

    def analyse_for(self, image: np.ndarray, timestamp: float, lenses: list[Lens]) -> Analysis:
        """The analysis of ``image`` that ``lenses`` (and the current ones) draw from, as `process` gets it
        (in live mode the worker's, at most ``max_lag`` frames old): one analysis for many draws."""
        check_frame(image, "image")
        self._frame += 1
        return self._analysis(image, timestamp, _flags([*lenses, *self.lenses]))

    def process(self, image: np.ndarray, timestamp: float) -> np.ndarray:
        """``image`` filtered by the chain and with the current lenses drawn, in a reused buffer.

        With no lens and no chain it returns ``image`` itself.
        """
        source, flags = self.prepare(image, timestamp)
        self.shown = (timestamp, True)
        if not self.lenses:
            return source
        self._frame += 1
        self._latest = self._analysis(image, timestamp, flags)
        if not self._delays():
            if self._delay is not None:
                self._delay.clear()
            return self.draw(source, self._latest, timestamp)
        self._delay.add(source, timestamp, self._frame, self._latest)
        source, shown, analysis, fresh = self._delay.take(self.max_lag)
        self.shown = (shown, fresh)
        return self.draw(source, analysis, shown)

    def drain(self) -> list[tuple[np.ndarray, float]]:
        """The frames the privacy delay still holds, drawn: [(frame, capture time s)], for the end of a run."""
        if self._delay is None:
            return []
        return [(self.draw(source, analysis, shown).copy(), shown) for source, shown, analysis in self._delay.rest()]

    def prepare(self, image: np.ndarray, timestamp: float) -> tuple[np.ndarray, dict[str, bool]]:
        """The frame the lenses draw on (``image`` through the chain, unless a modifier lens places the chain
        itself; faces are always found in the unfiltered frame), and what the lenses need analysed."""
        check_frame(image, "image")
        lenses = self.lenses
        source = image
        if self.inner is not None and not any(lens.needs_inner for lens in lenses):
            source = self.inner.process(image, timestamp)
        return source, _flags(lenses)

    def draw(self, source: np.ndarray, analysis: Analysis, timestamp: float) -> np.ndarray:
        """``source`` with the current lenses drawn from ``analysis``, in a reused buffer."""
        h, w = source.shape[:2]
        if not self._outs or self._outs[0].shape != source.shape:
            self._outs = [np.empty_like(source), np.empty_like(source)]
        self._turn ^= 1
        out = self._outs[self._turn]
        out[...] = source
        person = analysis.person if analysis.person is not None and analysis.person.shape == (h, w) else None
        needs_faces = any(lens.needs_faces for lens in self.lenses)
        scene = Scene(analysis.faces if needs_faces else [], person, timestamp, self.inner)
        for lens in self.lenses:
            lens.apply(out, scene)
        return out

    def analyse(self, image: np.ndarray, timestamp: float, flags: dict[str, bool]) -> Analysis:
        """The analysis of ``image`` (as `prepare` asks), made now, for callers that draw it later (`lookback`)."""
        self._frame += 1
        return self._analysis(image, timestamp, flags)

    @property
    def confirmed(self) -> list[tuple[int, list[tuple[float, tuple[float, float, float, float]]]]]:
        """The faces confirmed by the last analysis (`tracking.FaceTracks.confirmed`)."""
        return self._analyzer.tracks.confirmed

    def find(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[Detection | None]:
        """The face found looking from the centre of each box (frame px) of ``image`` (BGR), or None."""
        return self._analyzer.find(image, boxes)

    def publish(self, analysis: Analysis) -> None:
        """Make ``analysis`` the one drawn last (`result`, `faces`)."""
        self._latest = analysis

    def _analysis(self, image: np.ndarray, timestamp: float, flags: dict[str, bool]) -> Analysis:
        """The analysis to draw on frame ``self._frame``: its own (synchronous), or the worker's latest
        of a frame at most ``max_lag`` frames older, waiting for the worker when needed."""
        frame = self._frame
        if self._worker is None:
            result = self._analyzer.analyse(image, timestamp, **flags)
            result.frame = frame
            self._cost.add(result.cost_ms)
            return result
        worker = self._worker
        fresh = lambda: worker.latest is not None and worker.latest.frame >= frame - self.max_lag  # noqa: E731
        if worker.idle:
            worker.submit(image.copy(), timestamp, frame, flags)  # the caller may reuse its buffer
        if not fresh():
            # Behind: let the running analysis finish; if that is still too old, analyse this frame.
            if not worker.wait(fresh, self.timeout) and worker.error is None and worker.idle:
                worker.submit(image.copy(), timestamp, frame, flags)
                worker.wait(fresh, self.timeout)
        worker.raise_error()
        if not fresh():
            raise AnalysisError(f"face analysis gave no result within {self.timeout:g} s")
        return worker.latest

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
