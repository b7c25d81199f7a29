"""A batch's files as Dask tasks, one per file, on the cluster behind a scheduler address.

`ClusterExecutor` is the `camfilters.batch.Executor`; `_run_task` is what runs on a worker.
Progress comes back as worker events; each finished file as its task's `Outcome`. Stopped
(Ctrl-C, SIGTERM), the client sets a Dask `Event` that every task checks as it starts and
with each progress report: a task in progress then stops and removes its unfinished
files, as local workers do, and one not started ends at once. A scheduler lost mid-batch
is one `CamfiltersError`; what its workers were rendering may still finish there.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .batch import PROGRESS_PERIOD_S, Outcome, run_job
from .batch_local import STOP_TIMEOUT_S, limit_threads
from .errors import CamfiltersError, ExitCode, ParameterError

if TYPE_CHECKING:
    from .batch import Job, _Frames

__all__ = ["ClusterExecutor", "share_cores", "stop_check"]

log = logging.getLogger(__name__)

TOPIC = "camfilters-progress"  # the worker events that carry progress


def stop_check(name: str) -> Callable[[], bool]:
    """In a task: whether the client has set the Dask Event ``name`` (stop); False once the scheduler is gone.

    The scheduler is asked at most every PROGRESS_PERIOD_S: the answer is asked for on every frame.
    """
    from distributed import Event

    event = Event(name)
    state = {"set": False, "at": -math.inf}

    def stopped() -> bool:
        if not state["set"] and time.monotonic() - state["at"] >= PROGRESS_PERIOD_S:
            state["at"] = time.monotonic()
            try:
                state["set"] = event.is_set()
            except Exception:  # noqa: BLE001 - no scheduler: nobody can ask to stop
                pass
        return state["set"]

    return stopped


def share_cores() -> None:
    """In a task: size this task thread's Numba and OpenCV threads to its share of the Dask worker's cores,
    cores // the worker's task threads (``dask worker`` runs one task per core by default)."""
    from distributed import get_worker

    limit_threads(max(1, (os.cpu_count() or 1) // get_worker().state.nthreads))


def _run_task(job: Job) -> Outcome:
    """`run_job` as a Dask task: its progress sent as worker events, stopped by the client's Event."""
    from distributed import get_worker

    from .render import Stopped

    worker = get_worker()
    if (stopped := stop_check(job.stop))():
        raise Stopped(f"stopped: {job.input} was not started")
    share_cores()
    return run_job(job, lambda item: worker.log_event(TOPIC, item), stopped)


class ClusterExecutor:
    """Jobs as Dask tasks on the cluster of the scheduler at ``address`` (a `camfilters.batch.Executor`)."""

    def __init__(self, address: str) -> None:
        self.address = address

    def run(self, jobs: list[Job], frames: _Frames, on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
        """See `camfilters.batch.Executor.run`; a lost scheduler is a `CamfiltersError`."""
        try:
            from distributed import Client, Event, as_completed, wait
        except ImportError:
            raise ParameterError('--scheduler needs Dask distributed: pip install "camfilters[cluster]"') from None
        messages: list[tuple[str, int]] = []
        lock = threading.Lock()

        def on_event(event) -> None:  # runs on the client's event loop thread
            with lock:
                messages.append(event[1])

        def deliver() -> None:
            with lock:
                batch, messages[:] = list(messages), []
            for message in batch:
                frames(message)

        address = self.address
        try:
            client = Client(address, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise CamfiltersError(f"cannot reach the Dask scheduler at {address}: {exc}; "
                                  f"start one with `dask scheduler` or check the address") from None
        stop_name = f"camfilters-stop-{uuid.uuid4().hex}"
        jobs = [replace(job, stop=stop_name) for job in jobs]
        outcomes: dict[str, Outcome] = {}
        quiet = _Quiet()  # a lost scheduler is said here, in one line, not in Dask's own tracebacks
        handlers = logging.getLogger().handlers + logging.getLogger("distributed").handlers
        for handler in handlers:
            handler.addFilter(quiet)
        try:
            with client:
                stop = Event(stop_name, client=client)
                client.subscribe_topic(TOPIC, on_event)
                futures = {client.submit(_run_task, job, key=f"camfilters-{job.key}", pure=False, retries=2): job
                           for job in jobs}
                try:
                    finished = as_completed(futures)
                    while not finished.is_empty():
                        ready = finished.next_batch(block=False) if finished.has_ready() else []
                        deliver()
                        for future in ready:
                            outcome = _outcome(future, futures[future], client, address, len(outcomes), len(jobs))
                            outcomes[outcome.job.key] = outcome
                            frames.finish(outcome)
                            on_outcome(outcome)
                        if not ready:
                            time.sleep(PROGRESS_PERIOD_S)
                except KeyboardInterrupt:
                    _stop(stop, [f for f, job in futures.items() if job.key not in outcomes], wait)
                    raise
                finally:
                    _quietly(client.unsubscribe_topic, TOPIC)
                    _quietly(client.cancel, list(futures))
        finally:
            for handler in handlers:
                handler.removeFilter(quiet)
        return [outcomes.get(job.key) or Outcome(job, "failed", message="not run") for job in jobs]


class _Quiet(logging.Filter):
    """Lets through no record of Dask's loggers below CRITICAL."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("distributed") or record.levelno >= logging.CRITICAL


def _outcome(future, job: Job, client, address: str, ended: int, total: int) -> Outcome:
    """The outcome of ``job``'s finished ``future``; `CamfiltersError` if the scheduler was lost."""
    from distributed.client import FutureCancelledError

    try:
        return future.result()
    except FutureCancelledError as exc:  # not by this client, which cancels only after the loop
        if getattr(exc, "reason", None) == "scheduler-connection-lost" or client.status != "running":
            raise CamfiltersError(
                f"lost the Dask scheduler at {address} after {ended} of {total} files: files in progress may "
                "still finish on its workers; run the same command again once it is back (finished files are "
                "skipped)") from None
        return Outcome(job, "failed", message="cancelled on the cluster", code=ExitCode.ERROR)
    except Exception as exc:  # noqa: BLE001 - the task failed on every try (e.g. workers died)
        return Outcome(job, "failed", message=f"{type(exc).__name__}: {exc}", code=ExitCode.ERROR)


def _stop(stop, running: list, wait) -> None:
    """Ask every task to stop (they remove their files) and wait for them, at most STOP_TIMEOUT_S."""
    try:
        stop.set()
        _, left = wait(running, timeout=STOP_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - the scheduler is gone: the tasks cannot be reached
        return
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        return
    if left:
        log.warning("%d files on the cluster did not stop within %g s; they may still finish", len(left),
                    STOP_TIMEOUT_S)


def _quietly(call: Callable, *args) -> None:
    try:
        call(*args)
    except Exception:  # noqa: BLE001 - clean-up with a lost scheduler
        pass
