"""User kernels (``kernel``) and the pass-through ``identity`` filter."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Filter, Option
from .correlation import BORDERS, correlate_into, prepare_kernel
from .errors import ParameterError
from .registry import register_filter
from .spec import parse_matrix


class Kernel:
    """A 2-D kernel of finite real numbers, written as text ``"0 -1 0; -1 5 -1; 0 -1 0"``.

    Rows are separated by ``;`` and numbers by spaces or commas (`filters.spec.parse_matrix`).
    Built from that text, another ``Kernel`` or any 2-D array;
    ``str()`` gives the text back (shortest round-tripping numbers), so specs round-trip.
    """

    def __init__(self, value: Any) -> None:
        if isinstance(value, Kernel):
            array = value.array
        elif isinstance(value, str):
            array = parse_matrix(value, "kernel")
        else:
            array = value
        prepare_kernel(array)  # validates: 2-D, non-empty, finite real numbers
        self.array = np.array(array, dtype=np.float64)
        self.array.setflags(write=False)

    def __str__(self) -> str:
        return "; ".join(" ".join(_number(v) for v in row) for row in self.array)

    def __repr__(self) -> str:
        return f"Kernel({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Kernel):
            return NotImplemented
        return self.array.shape == other.array.shape and bool((self.array == other.array).all())

    def __hash__(self) -> int:
        return hash((self.array.shape, self.array.tobytes()))


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(float(value))


SHARPEN = Kernel("0 -1 0; -1 5 -1; 0 -1 0")


@register_filter("kernel")
class KernelFilter(Filter):
    """Correlate each channel with a user kernel (no flip), as ``cv2.filter2D``.

    The default is the 3x3 sharpen kernel: a kernel you can see working at once, whose
    sum of 1 keeps the brightness (an identity default would just copy, as ``identity``).
    """

    summary = "your own 3x3, 5x5, ... kernel applied to every pixel (for experiments)"

    options = (
        Option("k", Kernel, SHARPEN, "kernel rows separated by ';', numbers by spaces"),
        Option("normalize", bool, False, "divide the kernel by its sum (the sum must not be zero)"),
        Option("border", str, "reflect101", "how pixels outside the frame are read", choices=BORDERS),
    )

    def __init__(self, **options: Any) -> None:
        if "k" in options:
            try:
                options["k"] = Kernel(options["k"])
            except ParameterError as exc:
                raise ParameterError(f"kernel: option k: {exc}") from None
        super().__init__(**options)
        weights = self.k.array
        if self.normalize:
            total = weights.sum()
            if total == 0:
                raise ParameterError(f"kernel: normalize=true needs a kernel whose sum is not 0, got k={self.k}")
            weights = weights / total
        self._taps = prepare_kernel(weights.astype(np.float32))

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height = src.shape[0]
        correlate_into(src.reshape(height, -1), self._taps, "same", self.border, 3, out.reshape(height, -1),
                       self._buffers)


@register_filter("identity")
class Identity(Filter):
    """Copy the frame unchanged (a baseline for timing and a no-op pipeline stage)."""

    summary = "the picture unchanged"

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        np.copyto(out, src)
