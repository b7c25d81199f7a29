"""The app's signal policy: every way to stop it becomes a `KeyboardInterrupt`, held where it must not land.

Ctrl-C, SIGTERM and SIGHUP all raise `KeyboardInterrupt` in the main thread
(`interrupt_on_sigterm` for the last two), so ``finally`` blocks and ``with`` exits
finalise files. `deferred_interrupts` holds them during a critical section and raises
once after it; `join_holding` waits for threads that finish a file through any number
of Ctrl-C; `allow_interrupt` undoes an ignored SIGINT inherited from a shell script.
`ChildSignals` is the policy of a worker process (a batch's): it dies with its parent.
Standard library only: the CLI uses it before the heavy imports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

__all__ = ["ChildSignals", "allow_interrupt", "announced", "deferred_interrupts", "interrupt_on_sigterm", "join_holding"]

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


def announced(interrupt: KeyboardInterrupt) -> bool:
    """Whether ``interrupt`` came from a signal of `interrupt_on_sigterm`, whose arrival was logged already."""
    return bool(interrupt.args) and interrupt.args[0] in {f"signal {name}" for name in _MEANINGS}


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


class ChildSignals:
    """The signal policy of a worker process that runs one task at a time for its parent (a batch's file).

    `install` leaves Ctrl-C to the parent (it reaches the whole process group) and makes
    SIGTERM, which the parent sends when it stops and Linux sends when it dies
    (``PR_SET_PDEATHSIG``, even by SIGKILL), end an idle process at once with ``exit_code``
    and raise `KeyboardInterrupt` once in a `busy` one, so that the task removes its files.
    The death signal comes once per thread of the dead parent; a second interrupt would cut
    that removal short, so later ones are dropped, and `stopping` stays true for the task to
    raise again where a first one was lost (raised inside a native callback, which drops it).
    A thread watching the parent is the backstop: once it is gone, SIGTERM; if the task has
    not stopped within ``grace_s`` seconds, ``abandon()`` (remove its files) and exit.
    """

    def __init__(self, exit_code: int, grace_s: float, abandon: Callable[[], None]) -> None:
        self.exit_code, self.grace_s, self.abandon = exit_code, grace_s, abandon
        self.busy = False  # a task is running: SIGTERM interrupts it rather than ending the process
        self.stopping = False  # SIGTERM came while busy: the process ends when the task has stopped

    def install(self, parent: int) -> None:
        """Set the policy up in the worker's main thread; ``parent`` is the parent's pid."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._die_with_parent(parent)
        threading.Thread(target=self._watch_parent, args=(parent,), name="watch-parent", daemon=True).start()

    def _on_sigterm(self, signum: int, frame: object) -> None:
        if not self.busy:
            os._exit(self.exit_code)
        if not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt("SIGTERM")

    def _die_with_parent(self, parent: int) -> None:
        """Have Linux send this process SIGTERM when its parent (pid ``parent``) dies."""
        if not sys.platform.startswith("linux"):
            return
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # it died before prctl
            os._exit(self.exit_code)

    def _watch_parent(self, parent: int) -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)  # ignored if the death signal came already
        deadline = time.monotonic() + self.grace_s
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.busy:
            self.abandon()
        os._exit(self.exit_code)
