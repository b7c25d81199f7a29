"""The start of a live session: the filters warmed before the first frame, with progress in the window."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

import filters

from . import overlay, signals
from .errors import StageFailed
from .pipeline import FilterStage

if TYPE_CHECKING:
    from .live import LiveSession

log = logging.getLogger(__name__)

#: CPU seconds that warming the chain's filters may take before it counts as compiling (a cold Numba
#: cache); loading from the cache takes a fraction of that, even on a busy machine.
COLD_START_CPU_S = 3.0


def warm_up(session: LiveSession, size: tuple[int, int]) -> None:
    """Compile (or load from cache) the chain's own filters now, the other hotkey filters in the background.

    The chain's instances are warmed with their exact options (``box:ksize=31`` or a 5x5
    ``kernel`` compile other code than the defaults), so frame one runs at full speed.
    When that took long (a cold Numba cache: the first start, about a minute), every
    other filter is compiled now too, with progress in the window and on the terminal;
    otherwise they load in the background, so a filter picked later by hotkey does not
    stall the picture either. The library makes the background thread safe on every
    Numba threading layer. Closing the window or Ctrl-C stops the compiling after the
    filter in hand (the cache keeps what was compiled).
    """
    # Held: a Ctrl-C while Numba loads compiled code lands in a ctypes callback, where Python drops it.
    with signals.deferred_interrupts() as interrupted:
        _warm_up_filters(session, size,
                         lambda: bool(interrupted) or (session.window is not None and session.window.closed))


def _warm_up_filters(session: LiveSession, size: tuple[int, int], stop: Callable[[], bool]) -> None:
    stages = [s for s in session.chain.stages if isinstance(s, FilterStage)]
    others = [n for n in filters.available() if n not in {s.filter.spec for s in stages}]
    _message(session, size, "loading filters…")
    started, cpu = time.monotonic(), time.process_time()
    for stage in stages:
        try:
            filters.warm_up([stage.filter])
        except Exception as exc:  # it would fail on the first frame: the same one line, before anything starts
            raise StageFailed(stage.name, exc) from exc
    if time.process_time() - cpu < COLD_START_CPU_S:
        filters.warm_up_in_background(others)
        return
    log.info("compiling filters (first start only)…")
    compiled = 0
    for name in others:
        progress = f"compiling filters (first start only)… {compiled + 1}/{len(others)}"
        _message(session, size, progress, (compiled + 1) / len(others))  # polls the window: a close shows now
        if stop():
            break
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\033[K{progress} {name}")
            sys.stderr.flush()
        filters.warm_up([name])
        compiled += 1
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if compiled < len(others):
        log.info("stopped compiling filters at %d of %d; the next start compiles the rest", compiled, len(others))
    else:
        log.info("filters compiled in %.0f s; later starts load them from the cache", time.monotonic() - started)


def _message(session: LiveSession, size: tuple[int, int], text: str, progress: float | None = None) -> None:
    """Show ``text`` (and a progress bar at ``progress``, 0..1) on black in the window, if there is one."""
    if session.window is None or session.window.closed:
        return
    canvas = session.window.canvas(np.zeros((size[1], size[0], 3), np.uint8))
    overlay.draw_message(canvas, text, progress)
    session.window.show(canvas)
    key = session.window.poll_key()
    if key is not None:  # pressed while starting: acted on with the first frame, not lost
        session._early_keys.append(key)
