"""The app's signal policy: every way to stop it becomes a `KeyboardInterrupt`, held where it must not land.

Ctrl-C, SIGTERM and SIGHUP all raise `KeyboardInterrupt` in the main thread
(`interrupt_on_sigterm` for the last two), so ``finally`` blocks and ``with`` exits
finalise files. `deferred_interrupts` holds them during a critical section and raises
once after it; `join_holding` waits for threads that finish a file through any number
of Ctrl-C; `allow_interrupt` undoes an ignored SIGINT inherited from a shell script.
Standard library only: the CLI uses it before the heavy imports.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

__all__ = ["allow_interrupt", "deferred_interrupts", "interrupt_on_sigterm", "join_holding"]

log = logging.getLogger(__name__)

#: The signals `interrupt_on_sigterm` turns into `KeyboardInterrupt`, with what they mean.
_MEANINGS = {"SIGTERM": "terminated (SIGTERM)", "SIGHUP": "the terminal hung up (SIGHUP)"}
#: What `deferred_interrupts` holds: each one only while Python code handles it (not ignored or default).
STOP_SIGNALS = tuple(s for name in ("SIGINT", *_MEANINGS) if (s := getattr(signal, name, None)) is not None)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def allow_interrupt() -> None:
    """Make Ctrl-C raise `KeyboardInterrupt` even if SIGINT came ignored (a background job of a script).

    A shell starts a script's ``&`` jobs with SIGINT ignored, and children inherit it:
    such a run could not be stopped with SIGINT at all. Call from the main thread at start.
    """
    if _main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupt(signum: int, frame: object) -> None:
    """The SIGTERM / SIGHUP handler of `interrupt_on_sigterm`: say so once, then stop as Ctrl-C does."""
    _announce(signum)
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _announce(signum: int) -> None:
    log.warning("%s: finishing the files and stopping", _MEANINGS[signal.Signals(signum).name])


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `KeyboardInterrupt` in the main thread, as Ctrl-C does.

    One warning names the signal as it arrives (finalising may take a while), and the
    exception's message names it too (``"signal SIGHUP"``). Call from the main thread;
    the old handlers are restored after.
    """
    sigs = [s for s in STOP_SIGNALS if s != signal.SIGINT]
    previous = {sig: signal.signal(sig, _interrupt) for sig in sigs}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def deferred_interrupts(*, note: Callable[[], None] | None = None) -> Iterator[list[int]]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then raise the first once, as it would have.

    For work an interrupt must not cut short (closing files), or where Python could drop
    it (Numba loading compiled code runs ctypes callbacks, which swallow exceptions).
    Yields the list of signals held so far, so long work can stop early; ``note`` is
    called as each arrives (SIGTERM and SIGHUP are named then anyway). Signals that
    are ignored or left to their default action stay so. A block that raises is not
    interrupted on top. Off the main thread (no signal arrives there) it does nothing.
    """
    caught: list[int] = []
    if not _main_thread():
        yield caught
        return
    previous: dict[int, object] = {}

    def hold(signum: int, frame: object) -> None:
        if previous.get(signum) is _interrupt:
            if signum not in caught:
                _announce(signum)  # as it arrives, as without the hold
        elif note is not None:
            note()
        caught.append(signum)

    for sig in STOP_SIGNALS:
        handler = signal.getsignal(sig)
        if callable(handler):
            previous[sig] = signal.signal(sig, hold)
    try:
        yield caught
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if caught:
        first = caught[0]
        handler = previous[first]
        if handler is signal.default_int_handler:
            raise KeyboardInterrupt
        if handler is _interrupt:
            raise KeyboardInterrupt(f"signal {signal.Signals(first).name}")  # already announced
        handler(first, None)  # someone else's handler: theirs to act on


class _Joinable(Protocol):
    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...


def join_holding(threads: Iterable[_Joinable], *, note: Callable[[], None] | None = None) -> None:
    """Join every thread, holding back `KeyboardInterrupt` until all have finished, then raise the first.

    For threads that finalise files: however often Ctrl-C comes, they finish. ``note``
    is called at each interrupt held (to say that the app is finishing).
    """
    interrupt: KeyboardInterrupt | None = None
    for thread in threads:
        while thread.is_alive():
            try:
                thread.join()
            except KeyboardInterrupt as exc:
                interrupt = interrupt or exc
                if note is not None:
                    note()
    if interrupt is not None:
        raise interrupt
