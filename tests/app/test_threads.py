"""LatestSlot and CancellableQueue: latest-wins hand-off, ordered bounded hand-off, cancellation."""

from __future__ import annotations

import threading
import time

import pytest

from camfilters.threads import CancellableQueue, Cancelled, LatestSlot


def test_slot_take_returns_the_newest_and_put_hands_back_the_replaced_item():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is None
    assert slot.put(2) == 1  # 1 was never taken: handed back for reuse
    assert (slot.puts, slot.replaced) == (2, 1)
    assert slot.take(timeout=0) == 2
    assert slot.take(timeout=0) is None and slot.timed_out


def test_slot_take_waits_for_a_put_from_another_thread():
    slot: LatestSlot[str] = LatestSlot()
    timer = threading.Timer(0.05, slot.put, args=("frame",))
    timer.start()
    assert slot.take(timeout=30) == "frame" and not slot.timed_out
    timer.join()


def test_slot_close_wakes_a_waiting_take_and_keeps_the_unread_item():
    slot: LatestSlot[str] = LatestSlot()
    slot.put("last")
    slot.close()
    assert slot.put("after close") == "after close"  # refused, handed back
    assert slot.take(timeout=0) == "last"
    waiter_result = []
    waiter = threading.Thread(target=lambda: waiter_result.append(slot.take()))
    waiter.start()
    waiter.join(timeout=30)
    assert waiter_result == [None] and not slot.timed_out


def test_slot_under_contention_never_loses_the_newest_item():
    """A producer putting 0..N-1 while a consumer takes: taken items increase, the last one is N-1."""
    slot: LatestSlot[int] = LatestSlot()
    n, taken = 20_000, []

    def consume():
        while (item := slot.take()) is not None:
            taken.append(item)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(n):
        slot.put(i)
    slot.close()
    consumer.join(timeout=60)
    assert taken == sorted(set(taken)) and taken[-1] == n - 1
    assert slot.replaced == n - len(taken)


def test_queue_keeps_order_and_bounds_its_size():
    stop = threading.Event()
    q: CancellableQueue[int] = CancellableQueue(2, stop)
    q.put(1)
    q.put(2)
    with pytest.raises(TimeoutError):
        q.put(3, timeout=0.01)
    assert [q.get(), q.get()] == [1, 2] and len(q) == 0


def test_queue_every_item_crosses_threads_in_order():
    stop = threading.Event()
    q: CancellableQueue[int] = CancellableQueue(3, stop)
    got = []
    consumer = threading.Thread(target=lambda: got.extend(q.get() for _ in range(1000)))
    consumer.start()
    for i in range(1000):
        q.put(i)
    consumer.join(timeout=60)
    assert got == list(range(1000))


@pytest.mark.parametrize("side", ["put", "get"])
def test_queue_cancel_wakes_a_blocked_end_with_cancelled(side):
    stop = threading.Event()
    q: CancellableQueue[int] = CancellableQueue(1, stop, poll=60.0)  # only cancel() can wake it in time
    if side == "put":
        q.put(0)
    errors = []

    def blocked():
        try:
            q.put(1) if side == "put" else q.get()
        except Cancelled as exc:
            errors.append(exc)

    thread = threading.Thread(target=blocked)
    thread.start()
    while thread.is_alive() and not q._cond._waiters:  # noqa: SLF001 - wait until it really blocks
        time.sleep(0.001)
    started = time.monotonic()
    q.cancel()
    thread.join(timeout=30)
    assert len(errors) == 1 and time.monotonic() - started < 30


def test_queue_stop_event_set_elsewhere_is_noticed_by_polling():
    stop = threading.Event()
    q: CancellableQueue[int] = CancellableQueue(1, stop, poll=0.01)
    threading.Timer(0.05, stop.set).start()
    with pytest.raises(Cancelled):
        q.get()


def test_queue_refuses_a_zero_size():
    with pytest.raises(ValueError, match="maxsize must be >= 1, got 0"):
        CancellableQueue(0, threading.Event())


def test_slot_peek_waits_for_an_item_and_leaves_it_unread():
    slot: LatestSlot[str] = LatestSlot()
    assert slot.peek(timeout=0) is None
    threading.Timer(0.05, slot.put, args=("first",)).start()
    assert slot.peek(timeout=30) == "first"
    assert slot.take(timeout=0) == "first"  # still there to take
    slot.close()
    assert slot.peek() is None  # closed and empty: no wait
