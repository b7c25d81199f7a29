"""The face stage: lenses drawn on every frame from an `analysis.Analysis` of it (faces, person mask).

In live mode the analysis runs in a worker thread and each frame is drawn with the latest result, at most
``max_lag`` (2) frames older, so inference does not hold the picture back; with a privacy lens, the
`delay.Delay` holds frames until the search covering them is back. In synchronous mode (tests, render)
every frame is analysed before it is drawn. After ``out = stage.process(frame, t)``, ``stage.result`` is
the analysis drawn on that frame and ``stage.faces`` its faces (`tracking.Face`: every tracked face, no
count cap; ``landmarks`` only when a landmark lens asked for them). Privacy lenses draw from ``box``
(adding their own margin), landmark lenses only on faces whose ``landmarks`` is not None.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from camfilters.errors import CamfiltersError
from camfilters.pipeline import EMA
from camfilters.threads import Worker
from filters import check_frame

from .analysis import Analysis, Analyzer
from .delay import Delay
from .detect import Detection
from .errors import AnalysisError
from .lenses import Lens, Scene, drawing_order
from .tracking import Face

log = logging.getLogger(__name__)


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
