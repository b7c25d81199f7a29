"""The app's threads: a `Worker` base and two hand-offs, a latest-wins slot and a cancellable queue.

A `Worker` never dies silently: whatever its body raises is stored and wakes its waiters,
who raise it. `LatestSlot` carries frames where only the newest matters (capture to the loop, the
loop to the virtual camera or the face analysis): a put never blocks, and an unread
item is replaced and handed back for reuse. `CancellableQueue` carries items where
every one matters, in order (decode to filter to encode): a put waits while the queue
is full, and both ends give up with `Cancelled` once the shared stop event is set.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Cancelled", "CancellableQueue", "LatestSlot", "Worker"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Cancelled(Exception):
    """The stop event was set while waiting on a `CancellableQueue`."""


class LatestSlot(Generic[T]):
    """Holds at most one unread item; a newer item replaces it (latest wins). Thread-safe.

    ``put`` returns the unread item it replaced (``replaced`` counts them) so its
    buffer can be reused; after `close` it refuses the item and returns it. ``take``
    waits for an item and returns it, or None once closed and empty, or on timeout
    (``timed_out`` then says which).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.puts = 0  # items accepted
        self.replaced = 0  # items replaced before they were taken
        self.timed_out = False  # the last take() returned None because its timeout ran out

    def put(self, item: T) -> T | None:
        """Offer ``item``; returns the unread item it replaced (or ``item`` itself if closed), else None."""
        with self._cond:
            if self._closed:
                return item
            old, self._item = self._item, item
            self.puts += 1
            self.replaced += old is not None
            self._cond.notify_all()
        return old

    def take(self, timeout: float | None = None) -> T | None:
        """The newest unread item, waiting up to ``timeout`` seconds (None: forever) for one."""
        with self._cond:
            ready = self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            self.timed_out = not ready
            item, self._item = self._item, None
            return item

    def peek(self, timeout: float | None = None) -> T | None:
        """The unread item without taking it, waiting up to ``timeout`` seconds for one (None if none came)."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            return self._item

    def close(self) -> None:
        """Refuse further items and wake the waiters; an unread item can still be taken. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class CancellableQueue(Generic[T]):
    """A bounded FIFO between two threads whose waits end with `Cancelled` once ``stop`` is set.

    ``maxsize`` items at most; `put` waits for room, `get` for an item. Setting
    ``stop`` (a `threading.Event` shared by every stage of a job) and calling
    `cancel` wakes both ends at once; without `cancel` they notice within ``poll`` s.
    """

    def __init__(self, maxsize: int, stop: threading.Event, *, poll: float = 0.1) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize!r}")
        self._items: collections.deque[T] = collections.deque()
        self._maxsize = maxsize
        self._stop = stop
        self._poll = poll
        self._cond = threading.Condition()

    def put(self, item: T, timeout: float | None = None) -> None:
        """Append ``item``, waiting for room; `Cancelled` if stopped, `TimeoutError` after ``timeout`` s."""
        with self._cond:
            self._wait(lambda: len(self._items) < self._maxsize, timeout)
            self._items.append(item)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T:
        """The oldest item, waiting for one; `Cancelled` if stopped, `TimeoutError` after ``timeout`` s."""
        with self._cond:
            self._wait(lambda: bool(self._items), timeout)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def cancel(self) -> None:
        """Set the stop event and wake every waiter now."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)

    def _wait(self, ready, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            if self._stop.is_set():
                raise Cancelled
            left = self._poll if deadline is None else min(self._poll, deadline - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"no {'room' if self._items else 'item'} within {timeout:g} s")
            self._cond.wait(left)
        if self._stop.is_set():
            raise Cancelled


class Worker:
    """A daemon thread running `run` (or ``target``) once, that never dies silently.

    Whatever the body raises is stored in ``error`` (the first error published wins;
    a body that handles an error itself may `publish` it), then ``finished`` is set and
    every waiter on ``cond`` is woken. Waiters hold ``cond``, wait with `wait_for` (which
    also ends on an error or the end of the thread) and call `raise_error`. Pass the
    ``cond`` that guards the owner's own state, so that one wait sees both.
    """

    def __init__(self, name: str, target: Callable[[], object] | None = None, *,
                 cond: threading.Condition | None = None) -> None:
        self.cond = cond if cond is not None else threading.Condition()
        self.error: BaseException | None = None
        self.finished = False
        self._target = target
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def run(self) -> None:
        """The thread's body; calls ``target`` unless overridden."""
        if self._target is not None:
            self._target()

    def publish(self, error: BaseException) -> None:
        """Store ``error`` for the waiters (unless one is stored already) and wake them."""
        with self.cond:
            if self.error is None:
                self.error = error
            self.cond.notify_all()

    def raise_error(self) -> None:
        """Raise the stored error, if any (call from the waiting thread)."""
        if self.error is not None:
            raise self.error

    def wait_for(self, ready: Callable[[], object], timeout: float | None = None) -> bool:
        """Wait under ``cond`` until ``ready()``, an error, or the end of the thread; return ``bool(ready())``."""
        with self.cond:
            self.cond.wait_for(lambda: ready() or self.error is not None or self.finished, timeout)
            return bool(ready())

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def is_current(self) -> bool:
        """Whether the caller runs on this worker's thread (which must not join itself)."""
        return threading.current_thread() is self._thread

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - published: the waiters raise it
            log.debug("%s failed: %r", self._thread.name, exc)
            self.publish(exc)
        finally:
            self._target = None  # drop what it holds (a first frame, say)
            with self.cond:
                self.finished = True
                self.cond.notify_all()
