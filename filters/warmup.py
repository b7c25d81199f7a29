"""Compile (or load from the on-disk cache) filters' kernels before the first real frame."""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterable

import numpy as np

from ._parallel import threading_layer
from .base import Filter
from .blend import composite
from .registry import available, get

log = logging.getLogger(__name__)


def warm_up(targets: Iterable[str | Filter] | None = None, shape: tuple[int, int] = (32, 48)) -> dict[str, float]:
    """Run each target once on a small random frame; return {name or spec: seconds}.

    ``targets``: filter names (default options) or Filter instances, whose exact options
    are warmed (``box:ksize=31`` and a 5x5 float ``kernel`` use other machine code than
    the defaults); default: every registered filter. An instance is not called itself:
    a new one with the same options is, so its state and buffers stay as they are. The
    shared ``composite`` kernel is compiled too (not listed). A temporal filter gets two frames.

    Numba specialises on dtype and layout, not on size, so a small frame compiles the
    same machine code a 1080p frame uses; later calls (and later processes, through the
    ``cache=True`` files) start at full speed.
    """
    frame = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    alpha = frame[:, :, 0].copy()
    composite(frame, frame, alpha, out=np.empty_like(frame))
    seconds = {}
    for target in available() if targets is None else targets:
        start = time.perf_counter()
        flt = get(target) if isinstance(target, str) else _same_options(target)
        flt(frame)
        if flt.temporal:  # a second frame may take other paths (denoise's motion search)
            flt(frame[::-1].copy())
        seconds[target if isinstance(target, str) else target.spec] = time.perf_counter() - start
    return seconds


def warm_up_in_background(targets: Iterable[str | Filter] | None = None) -> threading.Thread | None:
    """``warm_up(targets)`` in a daemon thread, or now in this one on Numba's ``workqueue`` layer.

    On ``workqueue`` kernel launches are serialised (see ``threading_layer``), so a
    background compile would stall every other thread's kernels; there the work is done
    before returning (None). A target that fails is logged and skipped: the thread never
    raises. Returns the started thread.
    """
    targets = list(available() if targets is None else targets)
    if threading_layer() == "workqueue":
        _warm_each(targets)
        return None
    thread = threading.Thread(target=_warm_each, args=(targets,), name="filters-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_each(targets: list[str | Filter]) -> None:
    for target in targets:
        try:
            warm_up([target])
        except Exception as exc:  # a plugin's bug shows on its first real frame, with a proper error
            log.warning("warming up %s failed: %s: %s", target if isinstance(target, str) else target.spec,
                        type(exc).__name__, exc)


def _same_options(flt: Filter) -> Filter:
    """A new filter of ``flt``'s class with its option values."""
    return type(flt)(**{o.name: getattr(flt, o.name) for o in flt.options})
