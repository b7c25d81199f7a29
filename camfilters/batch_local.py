"""A batch's files on local worker processes, and what runs inside those processes.

`LocalExecutor` (a `camfilters.batch.Executor`) runs the jobs ``workers`` at a time in spawned processes (each with
``cores // workers`` Numba and OpenCV threads). A worker ignores Ctrl-C (the parent's to
handle); SIGTERM, which the parent sends when it is stopped and the kernel sends when it
dies, stops the render in progress, whose files are then removed, and ends the worker
(`camfilters.signals.ChildSignals`, the policy; this module says what "busy" and "abandon" mean).
A worker that dies mid-file (a crash, the OOM killer) has its file tried once more.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import CamfiltersError, ExitCode
from .signals import ChildSignals

if TYPE_CHECKING:
    from .batch import Job, Outcome, _Frames

__all__ = ["LocalExecutor", "limit_threads"]

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0  # how long interrupted workers get to remove their files before they are killed

_progress_queue = None  # set in local worker processes by _init_worker
_current: Job | None = None  # the job this local worker renders


def _abandon() -> None:
    """Remove the files of the render in progress (the parent is gone and the render did not stop)."""
    from .batch import _remove_leftovers

    if _current is not None:
        _remove_leftovers(_current)


#: SIGTERM and the parent's death in a local worker (`camfilters.signals.ChildSignals`).
_signals = ChildSignals(ExitCode.INTERRUPTED, STOP_TIMEOUT_S, _abandon)


def _init_worker(queue, threads: int, parent: int) -> None:
    """Local worker start-up: thread pools sized, Ctrl-C left to the parent, SIGTERM (also sent when
    the parent dies) stopping the render so that its files are removed."""
    global _progress_queue
    import faulthandler

    faulthandler.enable()  # a crash in native code (FFmpeg, OpenCV, Numba) leaves its stack on stderr
    _progress_queue = queue
    from tqdm import tqdm

    # tqdm's default lock holds a multiprocessing semaphore, which a worker ending with os._exit (interrupted)
    # would leave to the resource tracker ("leaked semaphore" warning); a worker's bars are never shown anyway.
    tqdm.set_lock(threading.RLock())
    _signals.install(parent)
    limit_threads(threads)


def limit_threads(threads: int) -> None:
    """Numba's and OpenCV's threads for this process's calling thread (the one that filters).

    Numba has started its pool by now (importing camfilters imports filters); setting
    NUMBA_NUM_THREADS afterwards would not change it, set_num_threads does.
    """
    import cv2
    import numba

    cv2.setNumThreads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))



def _warm_up(specs: Iterable[str]) -> None:
    """Compile or load the kernels of ``specs`` holding a machine-wide lock: workers starting together
    would otherwise compile the same kernels and write Numba's cache files at once, which can crash
    one that reads them meanwhile (numba#4807). Cached, this takes milliseconds."""
    import tempfile

    from filelock import FileLock

    import filters

    with FileLock(os.path.join(tempfile.gettempdir(), "camfilters-numba-cache.lock")):
        try:
            filters.warm_up([filters.parse(spec) for spec in specs])
        except CamfiltersError:
            pass  # a bad spec fails the job itself, with its message


def _run_local_job(job: Job) -> Outcome:
    """`run_job` in a local worker process, its progress on the pool's queue: SIGTERM stops it, its files
    removed, and ends the process."""
    from .batch import run_job
    from .render import Stopped

    global _current
    _signals.busy, _current = True, job
    try:
        _warm_up(job.options.filters)
        outcome = run_job(job, _progress_queue.put, lambda: _signals.stopping)
    except (Stopped, KeyboardInterrupt):
        # The interrupt may land anywhere, even between a writer creating its temporary file and taking note of
        # it (seen under load): remove the job's temporary files by their names before ending.
        _abandon()
        os._exit(ExitCode.INTERRUPTED)
    finally:
        _signals.busy, _current = False, None
    if _signals.stopping:  # the interrupt was lost and the file finished (complete, in place): stop now
        os._exit(ExitCode.INTERRUPTED)
    return outcome


class LocalExecutor:
    """Jobs on ``workers`` local processes (a `camfilters.batch.Executor`), a file whose worker died mid-file
    tried once more."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, jobs: list[Job], frames: _Frames, on_outcome) -> list[Outcome]:
        """See `camfilters.batch.Executor.run`."""
        from .batch import PROGRESS_PERIOD_S, Outcome

        workers = max(1, min(self.workers, len(jobs)))
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")  # no fork of a process with Numba/OpenMP threads
        queue = context.Queue()
        outcomes: dict[str, Outcome] = {}
        strikes: dict[str, int] = {}  # 2 per death while it was seen rendering, 1 while it was queued
        todo = list(jobs)
        while todo:
            broken: list[Job] = []
            frames.started.clear()
            processes: dict[int, multiprocessing.Process] = {}  # every worker of this pool, to say how one died
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                                        initargs=(queue, threads, os.getpid())) as pool:
                futures = {pool.submit(_run_local_job, job): job for job in todo}
                pending = set(futures)
                try:
                    while pending:
                        done, pending = concurrent.futures.wait(pending, timeout=PROGRESS_PERIOD_S,
                                                                return_when=concurrent.futures.FIRST_COMPLETED)
                        processes.update(getattr(pool, "_processes", None) or {})
                        _drain(queue, frames)
                        for future in done:
                            job = futures[future]
                            try:
                                outcome = future.result()
                            except concurrent.futures.process.BrokenProcessPool:
                                broken.append(job)
                                continue
                            except Exception as exc:  # noqa: BLE001 - a failure of the worker machinery itself
                                outcome = Outcome(job, "failed", message=f"{type(exc).__name__}: {exc}",
                                                  code=ExitCode.ERROR)
                            outcomes[job.key] = outcome
                            frames.finish(outcome)
                            on_outcome(outcome)
                except BaseException:
                    _stop(pool)
                    raise
                _drain(queue, frames)
            todo = []
            if broken:
                log.warning("a worker process died (%s)", _deaths(processes.values()))
            for job in broken:
                strikes[job.key] = strikes.get(job.key, 0) + (2 if job.key in frames.started else 1)
                if strikes[job.key] <= 2:
                    if job.key in frames.started:
                        log.warning("%s: its worker process died; trying it once more", job.input)
                    todo.append(job)
                else:
                    outcomes[job.key] = Outcome(job, "failed", message="its worker process died twice while rendering "
                                                "it (crashed or killed; see the messages above)", code=ExitCode.ERROR)
                    frames.finish(outcomes[job.key])
                    on_outcome(outcomes[job.key])
        return [outcomes[job.key] for job in jobs]


def _deaths(processes: Iterable[multiprocessing.Process]) -> str:
    """How the dead ones of ``processes`` ended: "killed by SIGKILL", "exit code 1", ..."""
    ends = []
    for process in processes:
        process.join(1.0)
        code = process.exitcode
        if code is not None and code < 0:
            ends.append(f"pid {process.pid} killed by {signal.Signals(-code).name}")
        elif code:
            ends.append(f"pid {process.pid} exit code {code}")
    return ", ".join(ends) or "no exit status"


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """After an interrupt: have the workers remove their unfinished files and end; what has not started never does.

    No future is cancelled: the pool, broken by its workers' ends, sets an error on each one it
    still holds, and on a cancelled one that raises in its thread (InvalidStateError, Python < 3.12).
    """
    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.warning("worker %d did not stop in %g s; killing it", process.pid, STOP_TIMEOUT_S)
            process.kill()
            process.join()
    pool.shutdown(wait=False)


def _drain(queue, frames: _Frames) -> None:
    import queue as queue_module

    while True:
        try:
            message = queue.get_nowait()
        except (queue_module.Empty, OSError, ValueError):
            return
        frames(message)
