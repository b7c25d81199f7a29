"""The filter protocol: a class with validated keyword options around a Numba kernel.

Frames are ``(H, W, 3) uint8 BGR`` arrays. A filter never modifies ``src``; given
``out`` it fills that array and returns the same object, otherwise it returns a new
array. Filters keep scratch buffers between calls while the frame shape stays the same.
A filter instance is not meant to be called from two threads at once (its buffers are
its own); different instances may run in different threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from ._parallel import launch_lock
from ._scratch import scratch
from .errors import ParameterError, shorten

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One keyword option of a filter.

    ``kind`` converts a value given as text (``filters.parse``) or as a Python object;
    ``check`` returns an error message for a bad value, or ``None`` when it is fine.
    """

    name: str
    kind: type
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False  # the value may also be None ("none" in a spec)

    def convert(self, filter_name: str, value: Any) -> Any:
        """Return ``value`` converted to this option's kind; raise ParameterError if it is bad."""
        try:
            value = self._coerce(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{filter_name}: option {self.name} must be {self.kind.__name__}, got {shorten(repr(value))}"
            ) from None
        if value is None:
            return None
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise ParameterError(f"{filter_name}: option {self.name} must be one of {allowed}, got {shorten(repr(value))}")
        problem = self.check(value) if self.check else None
        if problem:
            raise ParameterError(f"{filter_name}: option {self.name} {problem}, got {shorten(repr(value))}")
        return value

    def _coerce(self, value: Any) -> Any:
        if value is None or (self.optional and isinstance(value, str) and value.lower() == "none"):
            if not self.optional:
                raise TypeError
            return None
        if self.kind is bool:
            if isinstance(value, str):
                if value.lower() in _TRUE | _FALSE:
                    return value.lower() in _TRUE
                raise ValueError
            if isinstance(value, (bool, np.bool_, int)) and value in (0, 1):
                return bool(value)
            raise TypeError
        if self.kind is int:
            if isinstance(value, (bool, np.bool_)):
                raise TypeError
            if isinstance(value, str):
                return int(value, 10)
            if float(value) != int(value):
                raise ValueError
            return int(value)
        if self.kind is float:
            if isinstance(value, (bool, np.bool_)):
                raise TypeError
            result = float(value)
            if not np.isfinite(result):
                raise ValueError
            return result
        return self.kind(value)


def odd_at_least(minimum: int) -> Callable[[int], str | None]:
    """Check for an odd integer >= ``minimum`` (kernel sizes)."""
    return lambda v: None if v >= minimum and v % 2 == 1 else f"must be an odd integer >= {minimum}"


def in_range(low: float, high: float) -> Callable[[float], str | None]:
    """Check for ``low <= value <= high``."""
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def check_frame(src: np.ndarray, what: str = "src") -> None:
    """Raise ParameterError unless ``src`` is a non-empty ``(H, W, 3) uint8`` array."""
    if not isinstance(src, np.ndarray):
        raise ParameterError(f"{what} must be a numpy array, got {type(src).__name__}")
    if src.dtype != np.uint8 or src.ndim != 3 or src.shape[2] != 3:
        raise ParameterError(f"{what} must be an (H, W, 3) uint8 BGR frame, got shape {src.shape} {src.dtype}")
    if src.shape[0] == 0 or src.shape[1] == 0:
        raise ParameterError(f"{what} must not be empty, got shape {src.shape}")


class Configurable:
    """Keyword options declared in ``options``: validated in the constructor, set as attributes, shown by repr."""

    name: ClassVar[str] = ""
    #: what it does in plain words, for ``camfilters list`` (default: the docstring's first sentence)
    summary: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    @property
    def label(self) -> str:
        """How error messages name this object."""
        return self.name

    def __init__(self, **options: Any) -> None:
        known = {o.name: o for o in self.options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            valid = ", ".join(known) or "none"
            raise ParameterError(f"{self.label}: unknown option {shorten(unknown[0])!r}; valid options: {valid}")
        for opt in self.options:
            setattr(self, opt.name, opt.convert(self.label, options[opt.name]) if opt.name in options else opt.default)

    @property
    def spec(self) -> str:
        """The ``NAME:key=value,...`` text that rebuilds this object (non-default options only)."""
        changed = [f"{o.name}={getattr(self, o.name)}" for o in self.options if getattr(self, o.name) != o.default]
        return self.name + (":" + ",".join(changed) if changed else "")

    def __repr__(self) -> str:
        args = ", ".join(f"{o.name}={getattr(self, o.name)!r}" for o in self.options)
        return f"{type(self).__name__}({args})"


class Filter(Configurable):
    """Base class of every filter: validated options, ``out=`` handling, buffer reuse.

    Subclasses declare ``options`` and implement ``_apply(src, out)``, which reads the
    C-contiguous ``(H, W, 3) uint8`` frame ``src`` and writes every pixel of ``out``
    (same shape, distinct memory). A ``temporal`` filter's output also depends on how
    many frames it has filtered (film grain moves); the others are pure functions of ``src``.
    """

    temporal: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._buffers: dict[str, np.ndarray] = {}

    def __call__(self, src: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """Filter the ``(H, W, 3) uint8 BGR`` frame ``src`` into ``out`` (new array if None)."""
        check_frame(src)
        if out is None:
            out = np.empty_like(src, order="C")
        else:
            check_frame(out, "out")
            if out.shape != src.shape:
                raise ParameterError(f"out must have the shape of src {src.shape}, got {out.shape}")
        target = out
        if not out.flags.c_contiguous or np.shares_memory(out, src):
            target = np.empty(src.shape, np.uint8)
        with launch_lock():
            self._apply(np.ascontiguousarray(src), target)
        if target is not out:
            out[...] = target
        return out

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def _buffer(self, key: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """A scratch array kept between calls; reallocated only when shape or dtype change."""
        return scratch(self._buffers, key, shape, dtype)

    def _chunk_counter(self) -> np.ndarray:
        """A zeroed ``(1,)`` int64 counter for a kernel that claims its chunks (`filters._parallel.claim`)."""
        counter = self._buffer("chunk_counter", (1,), np.int64)
        counter[0] = 0
        return counter
