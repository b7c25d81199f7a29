"""One analysed frame: the faces (tracked, frame pixels) and the person mask the lenses draw from, and the
`Analyzer` that makes it from the detector, the landmarker and the segmenter (`stage` runs it beside or
before the drawing)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from camfilters.capture import native_name

from .detect import BUNDLED_DETECTOR, Detection
from .errors import AnalysisError, ModelError
from .landmarks import FaceFinder, attach_landmarks
from .search import FaceDetector
from .segmentation import Segmenter
from .tracking import Face, FaceTracks


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
