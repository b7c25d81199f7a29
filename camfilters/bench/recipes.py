"""The OpenCV reference recipes: how OpenCV computes what each filter computes.

One module for the tests (``tests/filters``: the references our filters are checked
against) and for ``camfilters bench`` (what each filter is timed against). Each recipe
takes an ``(H, W, 3) uint8 BGR`` frame and the filter's options as keywords (same names
and defaults as the filter), fills ``out`` (a new array if None) and returns it;
``scratch`` keeps intermediate arrays between calls. `OPENCV_EQUIVALENTS` maps filter
names to recipes; ``Equivalent.build(filter)`` reads that filter's options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

Frame = np.ndarray  # (H, W, 3) uint8 BGR
B101 = cv2.BORDER_REFLECT_101
CV_BORDERS = {"constant": cv2.BORDER_CONSTANT, "zero": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT,
              "reflect101": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE, "wrap": cv2.BORDER_WRAP}


class Scratch:
    """Named scratch arrays for a recipe, reallocated only when the shape or dtype changes."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def __call__(self, key: str, shape: tuple[int, ...], dtype: Any = np.uint8) -> np.ndarray:
        buf = self._arrays.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._arrays[key] = np.empty(shape, dtype)
        return buf


def _out(src: Frame, out: Frame | None) -> Frame:
    return np.empty_like(src) if out is None else out


def edge(src: Frame, out: Frame | None = None, *, method: str = "sobel", ksize: int = 3,
         threshold: float | None = None, color: bool = False, scale: float = 1.0,
         scratch: Scratch | None = None) -> Frame:
    """cvtColor BGR2GRAY (or every channel with ``color``) + Sobel/Scharr/Laplacian to CV_32F,
    magnitude (or |Laplacian|), convertScaleAbs(``scale``), binary threshold (``> threshold``)."""
    s, out = scratch or Scratch(), _out(src, out)
    h, w = src.shape[:2]
    if color:
        img, mag_u8 = src, out
    else:
        img = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
        mag_u8 = s("edge", (h, w))
    shape = img.shape
    if method == "laplacian":
        mag = cv2.Laplacian(img, cv2.CV_32F, dst=s("mag", shape, np.float32), ksize=ksize, borderType=B101)
    else:
        gx, gy = s("gx", shape, np.float32), s("gy", shape, np.float32)
        if method == "scharr":
            cv2.Scharr(img, cv2.CV_32F, 1, 0, dst=gx, borderType=B101)
            cv2.Scharr(img, cv2.CV_32F, 0, 1, dst=gy, borderType=B101)
        else:
            cv2.Sobel(img, cv2.CV_32F, 1, 0, dst=gx, ksize=ksize, borderType=B101)
            cv2.Sobel(img, cv2.CV_32F, 0, 1, dst=gy, ksize=ksize, borderType=B101)
        flat = (h, -1)  # magnitude wants matching single-channel-like 2-D arrays
        mag = cv2.magnitude(gx.reshape(flat), gy.reshape(flat), s("mag", (h, gx.size // h), np.float32))
    cv2.convertScaleAbs(mag.reshape(h, -1), dst=mag_u8.reshape(h, -1), alpha=scale)
    if threshold is not None:
        cv2.threshold(mag_u8, threshold, 255, cv2.THRESH_BINARY, dst=mag_u8)
    if not color:
        cv2.cvtColor(mag_u8, cv2.COLOR_GRAY2BGR, dst=out)
    return out


def gaussian_blur(src: Frame, out: Frame | None = None, *, ksize: int = 5, sigma: float = 0.0,
                  scratch: Scratch | None = None) -> Frame:  # noqa: ARG001 - no scratch needed
    """GaussianBlur ksize x ksize, ``sigma`` (0: from ksize), reflect-101."""
    return cv2.GaussianBlur(src, (ksize, ksize), sigma, dst=_out(src, out), borderType=B101)


def box(src: Frame, out: Frame | None = None, *, ksize: int = 9, scratch: Scratch | None = None) -> Frame:  # noqa: ARG001
    """cv2.blur ksize x ksize (the mean), reflect-101."""
    return cv2.blur(src, (ksize, ksize), dst=_out(src, out), borderType=B101)


def sharpen(src: Frame, out: Frame | None = None, *, amount: float = 1.0, ksize: int = 5, sigma: float = 0.0,
            scratch: Scratch | None = None) -> Frame:
    """Unsharp mask: addWeighted(src, 1 + amount, GaussianBlur(src), -amount, 0)."""
    s = scratch or Scratch()
    blurred = cv2.GaussianBlur(src, (ksize, ksize), sigma, dst=s("blur", src.shape), borderType=B101)
    return cv2.addWeighted(src, 1.0 + amount, blurred, -amount, 0.0, dst=_out(src, out))


def emboss(src: Frame, out: Frame | None = None, *, strength: float = 1.0, gray: bool = False,
           scratch: Scratch | None = None) -> Frame:
    """filter2D with the 3x3 emboss kernel (gray: cvtColor + filter2D delta 128 + cvtColor)."""
    kernel = np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], np.float32) * np.float32(strength)
    kernel[1, 1] = 0.0 if gray else 1.0
    out = _out(src, out)
    if not gray:
        return cv2.filter2D(src, -1, kernel, dst=out, borderType=B101)
    s, (h, w) = scratch or Scratch(), src.shape[:2]
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
    relief = cv2.filter2D(grey, -1, kernel, dst=s("relief", (h, w)), delta=128.0, borderType=B101)
    return cv2.cvtColor(relief, cv2.COLOR_GRAY2BGR, dst=out)


def sketch(src: Frame, out: Frame | None = None, *, ksize: int = 21, sigma: float = 0.0,
           scratch: Scratch | None = None) -> Frame:
    """Pencil sketch: divide(grey, 255 - GaussianBlur(255 - grey), scale 256), grey in all three channels."""
    s, (h, w) = scratch or Scratch(), src.shape[:2]
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
    inv = cv2.bitwise_not(grey, dst=s("inv", (h, w)))
    blurred = cv2.GaussianBlur(inv, (ksize, ksize), sigma, dst=s("blur", (h, w)), borderType=B101)
    cv2.bitwise_not(blurred, dst=blurred)
    drawn = cv2.divide(grey, blurred, dst=s("sketch", (h, w)), scale=256.0)
    return cv2.cvtColor(drawn, cv2.COLOR_GRAY2BGR, dst=_out(src, out))


def kernel(src: Frame, out: Frame | None = None, *, k: Any, normalize: bool = False, border: str = "reflect101",
           scratch: Scratch | None = None) -> Frame:  # noqa: ARG001
    """filter2D with the same kernel (a 2-D array or a `filters.custom.Kernel`), divided by its sum if ``normalize``."""
    weights = np.array(getattr(k, "array", k), np.float64)
    if normalize:
        weights = weights / weights.sum()
    return cv2.filter2D(src, -1, weights.astype(np.float32), dst=_out(src, out), borderType=CV_BORDERS[border])


def identity(src: Frame, out: Frame | None = None, *, scratch: Scratch | None = None) -> Frame:  # noqa: ARG001
    """A copy."""
    out = _out(src, out)
    np.copyto(out, src)
    return out


def cartoon(src: Frame, out: Frame | None = None, *, scratch: Scratch | None = None) -> Frame:
    """The classic recipe (a different algorithm from ours): bilateralFilter(9, 75, 75) masked by
    adaptiveThreshold(mean, 9, 2) of the medianBlur(7) grey."""
    s, (h, w), out = scratch or Scratch(), src.shape[:2], _out(src, out)
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY, dst=s("grey", (h, w)))
    smooth = cv2.medianBlur(grey, 7, dst=s("median", (h, w)))
    edges = cv2.adaptiveThreshold(smooth, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2,
                                  dst=s("edges", (h, w)))
    colour = cv2.bilateralFilter(src, 9, 75, 75, dst=s("colour", src.shape))
    out[...] = 0
    return cv2.bitwise_and(colour, colour, dst=out, mask=edges)


Recipe = Callable[..., Frame]


@dataclass(frozen=True)
class Equivalent:
    """The OpenCV way to compute a filter: ``recipe`` called with the filter options named in ``reads``."""

    description: str
    recipe: Recipe
    reads: tuple[str, ...] = ()

    def build(self, flt: Any) -> Callable[[Frame, Frame], Frame]:
        """``run(src, out) -> out`` computing what ``flt`` computes, with scratch arrays kept between calls."""
        options = {name: getattr(flt, name) for name in self.reads}
        scratch = Scratch()
        return lambda src, out: self.recipe(src, out, scratch=scratch, **options)


#: Filter name -> its OpenCV equivalent, reading the filter's options where it has them.
OPENCV_EQUIVALENTS: dict[str, Equivalent] = {
    "blur": Equivalent("GaussianBlur ksize x ksize (21x21), sigma from ksize", gaussian_blur, ("ksize", "sigma")),
    "box": Equivalent("cv2.blur ksize x ksize (9x9)", box, ("ksize",)),
    "cartoon": Equivalent("bilateralFilter(9, 75, 75) + cvtColor + medianBlur 7 + adaptiveThreshold(mean, 9, 2)"
                          " + bitwise_and (the classic recipe; ours is another algorithm, hence the diff)", cartoon),
    "edge": Equivalent("cvtColor BGR2GRAY + Sobel dx, dy CV_32F ksize 3 + magnitude + convertScaleAbs"
                       " + cvtColor GRAY2BGR", edge, ("method", "ksize", "threshold", "color", "scale")),
    "emboss": Equivalent("filter2D 3x3 emboss kernel (gray: cvtColor + filter2D delta 128 + cvtColor)", emboss,
                         ("strength", "gray")),
    "identity": Equivalent("np.copyto", identity),
    "kernel": Equivalent("filter2D with the same kernel and border", kernel, ("k", "normalize", "border")),
    "sharpen": Equivalent("GaussianBlur + addWeighted (unsharp mask)", sharpen, ("amount", "ksize", "sigma")),
    "sketch": Equivalent("cvtColor + bitwise_not + GaussianBlur 21x21 + divide(scale 256) + cvtColor", sketch,
                         ("ksize", "sigma")),
}
