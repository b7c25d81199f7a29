"""2-D correlation (no kernel flip) of images with any kernel, as OpenCV's ``filter2D``."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np

from ._kernels import correlate as _k
from ._parallel import launch_lock
from ._scratch import scratch
from .errors import ParameterError

MODES = ("same", "valid")
BORDERS = ("constant", "reflect", "reflect101", "replicate", "wrap", "zero")  # zero = constant
_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))
# A kernel is taken as separable when col x row rebuilds it to this fraction of max|k|.
SEPARABLE_RTOL = 1e-6


class Taps(NamedTuple):
    """A validated kernel: ``full`` ``(kh, kw)`` float32 and, when it has rank 1, its factors.

    ``col`` ``(kh,)`` and ``row`` ``(kw,)`` float32 with ``outer(col, row) == full`` (to
    ``SEPARABLE_RTOL``), or ``None`` when the two-pass path does not apply or pay.
    ``integer``: ``full`` as the narrowest of int16 and int32 that holds ``255 * sum|k|``
    when every weight is an integer (exact integer sums on uint8), else ``None``.
    """

    full: np.ndarray
    col: np.ndarray | None
    row: np.ndarray | None
    integer: np.ndarray | None = None


def correlate(
    src: np.ndarray,
    kernel: np.ndarray | Taps,
    *,
    mode: str = "same",
    border: str = "reflect101",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Correlate ``src`` with ``kernel``: ``out[y, x] = sum k[i, j] * src[y + i - ay, x + j - ax]``.

    ``src``: ``(H, W)`` or ``(H, W, C)``, ``uint8`` or ``float32`` (channels are filtered
    independently). ``kernel``: any 2-D array of real numbers ``(kh, kw)``, odd or even,
    or the ``Taps`` that ``prepare_kernel`` made of one (no validation per call then).
    ``mode="same"`` gives ``(H, W[, C])`` with anchor ``(ay, ax) = (kh // 2, kw // 2)``
    and ``border`` one of ``constant`` (zeros; alias ``zero``), ``reflect`` (``cba|abc``),
    ``reflect101`` (``cb|abc``, OpenCV's default), ``replicate`` (``aa|abc``), ``wrap``
    (``bc|abc``) — the same as ``cv2.filter2D(src, -1, kernel, borderType=...)``.
    ``mode="valid"`` gives ``(H-kh+1, W-kw+1[, C])`` and reads no border.
    The result has the dtype of ``src`` (uint8: rounded half to even and saturated);
    sums are float32 (exact integers for integer 3x3 kernels on uint8). Rank-1 kernels
    take a two-pass (separable) path on their own, 3x3 kernels a fused one-pass path.
    Given ``out`` (right shape and dtype), fills it and returns that same object.
    """
    src = _check_src(src)
    taps = kernel if isinstance(kernel, Taps) else prepare_kernel(kernel)
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(border, str) or border not in BORDERS:
        raise ParameterError(f"border must be one of {', '.join(BORDERS)}, got {border!r}")

    height, width = src.shape[:2]
    channels = src.shape[2] if src.ndim == 3 else 1
    kh, kw = taps.full.shape
    if mode == "valid":
        if kh > height or kw > width:
            raise ParameterError(
                f"kernel {kh}x{kw} is larger than the image {height}x{width} in mode 'valid'"
            )
        shape = (height - kh + 1, width - kw + 1, *src.shape[2:])
    else:
        shape = src.shape
    out = _check_out(out, shape, src.dtype)

    target = out
    if not out.flags.c_contiguous or np.may_share_memory(out, src):
        target = np.empty(shape, src.dtype)
    store = _per_thread.__dict__.setdefault("arrays", {})
    with launch_lock():
        correlate_into(src.reshape(height, width * channels), taps, mode, border, channels,
                       target.reshape(shape[0], shape[1] * channels), store)
    if target is not out:
        out[...] = target
    return out


def prepare_kernel(kernel: np.ndarray) -> Taps:
    """Validate ``kernel`` (2-D, non-empty, finite real numbers) and find its rank-1 factors.

    The rank-1 test factors through the largest entry ``k[r, c]``: ``col = k[:, c]``,
    ``row = k[r, :] / k[r, c]``, and keeps them if ``outer(col, row)`` rebuilds ``k`` to
    ``SEPARABLE_RTOL * max|k|``. This is exact for integer kernels such as ``[1 2 1]^T
    [1 2 1]`` (unlike SVD factors, which round), so results match the full 2-D sum.
    """
    try:
        k = np.asarray(kernel)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"kernel must be a 2-D array of numbers, got {type(kernel).__name__} ({exc})") from None
    if k.dtype.kind not in "iuf":
        raise ParameterError(f"kernel must hold real numbers, got dtype {k.dtype}")
    if k.ndim != 2:
        raise ParameterError(f"kernel must be 2-D (kh, kw), got shape {k.shape}")
    if k.size == 0:
        raise ParameterError(f"kernel must not be empty, got shape {k.shape}")
    k = k.astype(np.float64)
    with np.errstate(over="ignore"):  # too large for float32: inf, reported below
        full = k.astype(np.float32)
    bad = np.argwhere(~np.isfinite(full))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        raise ParameterError(f"kernel must hold finite float32 numbers, got {k[at]} at {at}")
    integer = None
    if (k == np.rint(k)).all():
        bound = 255 * np.abs(k).sum()  # the largest |sum| over uint8 pixels
        if bound < 2**15:
            integer = k.astype(np.int16)
        elif bound < 2**31:
            integer = k.astype(np.int32)
    kh, kw = k.shape
    if kh < 2 or kw < 2 or kh * kw < 2 * (kh + kw):
        return Taps(full, None, None, integer)
    r, c = np.unravel_index(np.argmax(np.abs(k)), k.shape)
    if k[r, c] == 0:
        return Taps(full, None, None, integer)
    col, row = k[:, c], k[r, :] / k[r, c]
    if np.abs(np.outer(col, row) - k).max() > SEPARABLE_RTOL * abs(k[r, c]):
        return Taps(full, None, None, integer)
    return Taps(full, col.astype(np.float32), row.astype(np.float32), integer)


@lru_cache(maxsize=64)
def border_index(n: int, before: int, after: int, border: str) -> np.ndarray:
    """Source index of each of ``before + n + after`` padded positions (``-1``: zero).

    Follows OpenCV's ``borderInterpolate``, also when a pad is longer than ``n``.
    """
    p = np.arange(-before, n + after, dtype=np.int64)
    if border == "replicate":
        idx = np.clip(p, 0, n - 1)
    elif border == "wrap":
        idx = p % n
    elif border == "reflect":
        q = p % (2 * n)
        idx = np.where(q < n, q, 2 * n - 1 - q)
    elif border == "reflect101":
        if n == 1:
            idx = np.zeros_like(p)
        else:
            q = p % (2 * n - 2)
            idx = np.where(q < n, q, 2 * n - 2 - q)
    else:  # constant, zero
        idx = np.where((p >= 0) & (p < n), p, -1)
    idx.setflags(write=False)
    return idx


def _check_src(src: np.ndarray) -> np.ndarray:
    if not isinstance(src, np.ndarray):
        raise ParameterError(f"src must be a numpy array, got {type(src).__name__}")
    if src.ndim not in (2, 3):
        raise ParameterError(f"src must be (H, W) or (H, W, C), got shape {src.shape}")
    if src.dtype not in _DTYPES:
        raise ParameterError(f"src must be uint8 or float32, got {src.dtype}")
    if src.size == 0:
        raise ParameterError(f"src must not be empty, got shape {src.shape}")
    return np.ascontiguousarray(src)


def _check_out(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray):
        raise ParameterError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ParameterError(f"out must be {shape} {dtype}, got {out.shape} {out.dtype}")
    return out


_per_thread = threading.local()  # correlate()'s scratch arrays, one set per calling thread


@lru_cache(maxsize=8)
def _zeros(length: int, dtype: np.dtype) -> np.ndarray:
    """A zero row: what the constant border reads above and below the image (never written;
    not flagged read-only, as Numba types read-only arrays apart from the source rows)."""
    return np.zeros(length, dtype)


def correlate_into(src2: np.ndarray, taps: Taps, mode: str, border: str, channels: int,
                   out2: np.ndarray, store: dict) -> None:
    """Correlate C-contiguous ``(H, W*C)`` rows ``src2`` into C-contiguous ``out2`` (checked arguments).

    Scratch arrays are kept in ``store`` (see ``_scratch.scratch``); the caller holds ``launch_lock``.
    """
    height, width = src2.shape[0], src2.shape[1] // channels
    kh, kw = taps.full.shape
    hout, length = out2.shape
    if mode == "valid":
        left = 0
        rowmap = border_index(height, 0, 0, "constant")
        colmap = border_index(width, 0, 0, "constant")
    else:
        top, left = kh // 2, kw // 2
        rowmap = border_index(height, top, kh - 1 - top, border)
        colmap = border_index(width, left, kw - 1 - left, border)
    if (kh, kw) == (3, 3):
        weights = taps.integer if taps.integer is not None and src2.dtype == np.uint8 else taps.full
        zeros = _zeros(src2.shape[1], src2.dtype)
        _k.correlate3x3(src2, rowmap, colmap, left, weights, channels, zeros, out2)
        return
    # Chunks of output rows run in parallel; each re-reads kh - 1 rows, so keep them tall.
    nchunks = max(1, min(4 * numba.get_num_threads(), hout // (2 * kh)))
    padded_length = colmap.shape[0] * channels
    acc = scratch(store, "acc", (nchunks, length))
    if taps.col is None:
        ring = scratch(store, "ring", (nchunks, kh, padded_length))
        _k.correlate_general(src2, rowmap, colmap, left, taps.full, channels, out2, ring, acc)
    else:
        line = scratch(store, "line", (nchunks, padded_length))
        ring = scratch(store, "ring", (nchunks, kh, length))
        _k.correlate_separable(src2, rowmap, colmap, left, taps.col, taps.row, channels, out2, line, ring, acc)
