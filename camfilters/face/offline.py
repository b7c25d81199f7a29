"""Lenses on a video file (``camfilters render --lens``): every frame analysed, faces logged to CSV.

`OfflineLenses` wraps a synchronous `FaceStage`: each frame is analysed before it is drawn, in
VIDEO mode at the file's own timestamps, and the face lenses look back (`lookback.LookBack`): a
frame is drawn ``lookback`` frames later, once the searches that cover it are done. With a
``faces_csv`` path it also writes one row per face per frame (`FacesCsv`), for review.
"""

from __future__ import annotations

import csv
import errno
import os
from pathlib import Path
from typing import Any

import numpy as np

from camfilters.errors import OutputExistsError, ParameterError, RecordingError
from camfilters.media.atomic import AtomicOutput

from .lookback import LookBack
from .tracking import Face

LOOKBACK = 19  # frames: the detector's rotation (15), a weak face's confirmation (3 looks), and one spare

__all__ = ["FacesCsv", "OfflineLenses"]


class FacesCsv:
    """A CSV file of the faces found: ``frame, time, id, x, y, w, h, score, detected``.

    ``frame`` counts from 0, ``time`` is the frame's timestamp (s), the box is the face box
    in frame pixels (not the hidden region, which the lens grows), ``detected`` is 0 for a
    face held after its last detection. Rows go to a hidden temporary file in the same
    folder (`AtomicOutput`) that replaces ``path`` only on `close`, so an existing file
    (with ``overwrite``) is kept intact until the new one is complete; `discard` drops it.
    A write error (a full disk) is a `RecordingError`, the temporary file removed.
    """

    HEADER = ("frame", "time", "id", "x", "y", "w", "h", "score", "detected")

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise RecordingError(f"cannot write --faces-csv {self.path}: it is a folder; give a file name")
        if os.path.lexists(self.path) and not overwrite:  # checked again under the lock
            raise OutputExistsError(f"{self.path} already exists; add -y (--overwrite) to replace it, "
                                    "or choose another name")
        self._out = AtomicOutput(self.path, overwrite=overwrite, what=f"--faces-csv {self.path}")
        try:
            self._file = open(self._out.temp, "w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.HEADER)
        except OSError as exc:
            self.discard()
            raise self._error(exc) from None
        self.rows = 0

    def _error(self, exc: OSError) -> RecordingError:
        reason = "the disk is full; free some space or choose another folder" if exc.errno == errno.ENOSPC else (
            exc.strerror or str(exc))
        return RecordingError(f"cannot write --faces-csv {self.path}: {reason}")

    def write(self, frame: int, timestamp: float, faces: list[Face]) -> None:
        """One row per face of frame number ``frame`` shown at ``timestamp`` s."""
        try:
            for face in faces:
                x, y, w, h = face.box
                self._writer.writerow((frame, f"{timestamp:.6f}", face.track_id, f"{x:.1f}", f"{y:.1f}",
                                       f"{w:.1f}", f"{h:.1f}", f"{face.score:.3f}", int(face.detected)))
                self.rows += 1
        except OSError as exc:
            self.discard()
            raise self._error(exc) from None

    def close(self) -> None:
        """Finish the file and put it in place (atomically); safe to call twice."""
        if self._file.closed:
            return
        try:
            self._file.close()
            self._out.commit()
        except OSError as exc:
            self.discard()
            raise exc if isinstance(exc, RecordingError) else self._error(exc) from None
        finally:
            self._out.close()

    def discard(self) -> None:
        """Drop the rows written; ``path`` keeps what it held before. Safe to call twice."""
        file = getattr(self, "_file", None)
        if file is not None and not file.closed:
            try:
                file.close()
            except OSError:  # the rows still buffered cannot be written (a full disk): they are dropped anyway
                pass
        self._out.close()


class OfflineLenses:
    """``push(image, seconds, tag)`` and `drain` for `camfilters.render.render`: ``lenses`` drawn on every
    frame, ``lookback`` frames behind when a lens finds faces (`lookback.LookBack`).

    ``inner`` is the filter chain (or None), run by the face stage as in the live loop.
    A context manager: on leaving, the CSV (if any) is put in place, except after an error
    other than an interrupt (then it is discarded, as render removes its output).
    Raises ParameterError for a bad lens spec or a ``faces_csv`` without a face lens,
    ModelError for a model that cannot be loaded, OutputExistsError / RecordingError
    for a CSV that cannot be written.
    """

    def __init__(self, lenses: list[str], inner: Any = None, *, face_model: str | None = None,
                 detector_model: str | None = None, segmentation_model: str | None = None,
                 faces_csv: str | os.PathLike[str] | None = None, overwrite: bool = False,
                 lookback: int = LOOKBACK) -> None:
        from . import build_face_stage

        # The CSV first: an existing file is refused before the models load.
        self.csv = FacesCsv(faces_csv, overwrite=overwrite) if faces_csv is not None else None
        try:
            self.stage = build_face_stage(lenses, inner, face_model=face_model, detector_model=detector_model,
                                          segmentation_model=segmentation_model, synchronous=True)
            if self.csv is not None and not any(lens.needs_faces for lens in self.stage.lenses):
                self.stage.close()
                raise ParameterError(f"--faces-csv needs a lens that finds faces (e.g. face-blur), "
                                     f"got {', '.join(lenses)}")
        except BaseException:
            if self.csv is not None:
                self.csv.discard()
            raise
        self.frames = 0
        finds_faces = any(lens.needs_faces and not lens.needs_landmarks for mode in self.stage.modes for lens in mode)
        self.lookback = LookBack(self.stage, lookback if finds_faces else 0)

    def push(self, image: np.ndarray, timestamp: float, tag: object = None) -> list[tuple[np.ndarray, object]]:
        """Analyse ``image`` ((H, W, 3) uint8 BGR); the frames now drawn, ``[(out, tag)]``, their faces in the CSV."""
        ready = self.lookback.push(image, timestamp, (self.frames, timestamp, tag))
        self.frames += 1
        return [self._done(*item) for item in ready]

    def drain(self) -> list[tuple[np.ndarray, object]]:
        """The frames still held, drawn."""
        return [self._done(*item) for item in self.lookback.drain()]

    def _done(self, out: np.ndarray, faces: list[Face], inner: tuple[int, float, object]) -> tuple[np.ndarray, object]:
        frame, timestamp, tag = inner
        if self.csv is not None:
            self.csv.write(frame, timestamp, faces)
        return out, tag

    def __enter__(self) -> OfflineLenses:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.lookback.close()
        self.stage.close()
        if self.csv is not None:
            if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
                self.csv.close()
            else:
                self.csv.discard()
