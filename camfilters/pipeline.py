"""The chain of stages every frame goes through, with per-stage timing.

A stage is anything with a ``name`` and ``process(image, timestamp) -> image`` that
takes an ``(H, W, 3) uint8 BGR`` frame and the capture time in seconds (monotonic,
strictly increasing) and returns a frame of the same shape. It must not modify
``image``; it may return a buffer it reuses on the next call. Filters from the
``filters`` registry become stages through `FilterStage`; face lenses are stages too;
a `Pipeline` is itself a stage, so a chain can be nested (e.g. applied inside a mask).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Protocol, runtime_checkable

import numpy as np

import filters

from .errors import StageFailed


@runtime_checkable
class Stage(Protocol):
    name: str

    def process(self, image: np.ndarray, timestamp: float) -> np.ndarray: ...


class FilterStage:
    """A registry filter as a stage, writing into two alternating output buffers.

    Two buffers let the caller keep the previous result (e.g. queued for display)
    while the next frame is filtered, without allocating per frame.
    """

    def __init__(self, flt: filters.Filter) -> None:
        self.filter = flt
        self.name = flt.spec
        self._outs: list[np.ndarray] = []
        self._turn = 0

    def __repr__(self) -> str:
        return f"FilterStage({self.filter!r})"

    def process(self, image: np.ndarray, timestamp: float) -> np.ndarray:
        if not self._outs or self._outs[0].shape != image.shape:
            self._outs = [np.empty_like(image), np.empty_like(image)]
        self._turn ^= 1
        return self.filter(image, out=self._outs[self._turn])


def stage_from_spec(spec: str) -> FilterStage:
    """A stage from a ``NAME:key=value,...`` filter spec (raises ParameterError)."""
    return FilterStage(filters.parse(spec))


class EMA:
    """Exponential moving average of a series of samples (e.g. milliseconds)."""

    def __init__(self, alpha: float = 0.1) -> None:
        self.alpha = alpha
        self.value: float | None = None

    def add(self, sample: float) -> float:
        self.value = sample if self.value is None else self.value + self.alpha * (sample - self.value)
        return self.value


class Pipeline:
    """An ordered, changeable list of stages; ``timings_ms`` holds each stage's moving average."""

    def __init__(self, stages: Iterable[Stage] = (), *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.stages: list[Stage] = list(stages)
        self._clock = clock
        self._timing: dict[int, EMA] = {}

    def __repr__(self) -> str:
        return "Pipeline([" + ", ".join(map(repr, self.stages)) + "])"

    @property
    def name(self) -> str:
        return " > ".join(s.name for s in self.stages) or "none"

    def process(self, image: np.ndarray, timestamp: float) -> np.ndarray:
        """Run ``image`` through every stage in order; an empty pipeline returns ``image``.

        A stage that raises becomes `StageFailed` naming that stage (the innermost one, in nested pipelines).
        """
        for stage in self.stages:
            start = self._clock()
            try:
                image = stage.process(image, timestamp)
            except StageFailed:
                raise
            except Exception as exc:
                raise StageFailed(stage.name, exc) from exc
            self._timing.setdefault(id(stage), EMA()).add((self._clock() - start) * 1000.0)
        return image

    def timings_ms(self) -> list[tuple[str, float]]:
        """(stage name, moving-average milliseconds per frame) for the current stages that ran."""
        return [(s.name, self._timing[id(s)].value) for s in self.stages if id(s) in self._timing]
