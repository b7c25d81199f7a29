"""Rendering many files at once, on local worker processes or a Dask cluster.

`plan` and `with_render_options` (`camfilters.batch_plan`) turn the command line into
`Job`s; an `Executor` runs them: `LocalExecutor` on worker processes
(`camfilters.batch_local`), `ClusterExecutor` as one Dask task per file
(`camfilters.batch_cluster`). Each job is `run_job` wherever it runs (one file through
`camfilters.render.render_file`), sending its progress back on the executor's channel.
`run_batch` and `summary` are the reporting: the overall progress bar, a line per
finished file, and the final table. What a batch does to files (skips, locks, no partial
output, a retry for a dead worker's file) is told in the README's "Batch render and clusters".
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .batch_plan import VIDEO_EXTENSIONS, Job, check_scheduler, one_file, plan, with_render_options
from .errors import CamfiltersError, ExitCode, OutputExistsError, exit_code
from .media.atomic import OutputBusyError

__all__ = ["VIDEO_EXTENSIONS", "Executor", "Job", "Outcome", "check_scheduler", "one_file", "plan", "run_batch",
           "run_job", "run_jobs", "summary", "with_render_options"]

log = logging.getLogger(__name__)

PROGRESS_PERIOD_S = 0.25  # how often a worker reports its frame count


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``status`` is "done", "skipped" or "failed"; ``message`` says why for the last two."""

    job: Job
    status: str
    frames: int = 0
    seconds: float = 0.0  # wall-clock time of the job
    message: str = ""
    code: int = ExitCode.OK

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


# -- one job, in whichever process runs it ------------------------------------------------------
Send = Callable[[tuple[str, int]], None]  # a job's (key, frames done since the last report) to the batch


def _reporter(key: str, send: Send, stopped: Callable[[], bool]) -> Callable[[int], None]:
    """A per-frame callback sending this job's frame count with ``send``, at most every PROGRESS_PERIOD_S.

    It sends ``(key, 0)`` at once: "this job (re)starts", so the parent can take back
    the frames a dead worker had reported for it. It asks ``stopped()`` on every frame
    and stops the render (KeyboardInterrupt) if so; ``stopped`` must be cheap.
    """
    state = {"frames": 0, "sent": 0, "at": time.monotonic()}
    send((key, 0))

    def frame_done(count: int = 1) -> None:
        if stopped():
            raise KeyboardInterrupt("stopped by the batch")
        state["frames"] += count
        now = time.monotonic()
        if now - state["at"] >= PROGRESS_PERIOD_S:
            send((key, state["frames"] - state["sent"]))
            state["sent"], state["at"] = state["frames"], now

    def flush() -> None:
        if state["frames"] > state["sent"]:
            send((key, state["frames"] - state["sent"]))
            state["sent"] = state["frames"]

    frame_done.flush = flush  # type: ignore[attr-defined]
    return frame_done


def _remove_leftovers(job: Job) -> None:
    """Remove the temporary files of ``job.output`` and of its faces CSV (this process holds their locks)."""
    from .media.atomic import temporary_files

    csv = job.options.faces_csv_for(job.output)
    for path in temporary_files(job.output) + (temporary_files(csv) if csv is not None else []):
        log.info("removing %s, left by an unfinished render", path)
        path.unlink(missing_ok=True)


def _skipped(job: Job) -> Outcome | None:
    """The outcome of a job whose output is there already (and not to be overwritten), else None."""
    if os.path.exists(job.output) and not job.options.overwrite:
        return Outcome(job, "skipped", message=f"{job.output} exists (use -y to render it again)")
    return None


def run_job(job: Job, send: Send | None = None, stopped: Callable[[], bool] = lambda: False) -> Outcome:
    """Render one file where an executor runs it; never raises for a failed file.

    ``send`` takes the job's progress back to the batch (none: not reported); ``stopped()``
    says the batch wants it to stop. Raises `Stopped` (or KeyboardInterrupt) when
    interrupted, having removed the file's unfinished output.
    """
    from .render import Stopped, render_file

    started = time.perf_counter()
    if (skipped := _skipped(job)) is not None:
        return skipped
    report = _reporter(job.key, send, stopped) if send is not None else None
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        result, _ = render_file(job.input, job.output, job.options, keep_partial=False, progress=report or False)
    except (OutputBusyError, OutputExistsError) as exc:  # another batch renders it now, or has just done so
        return Outcome(job, "skipped", seconds=time.perf_counter() - started, message=str(exc))
    except CamfiltersError as exc:
        return Outcome(job, "failed", seconds=time.perf_counter() - started, message=str(exc), code=exit_code(exc))
    except OSError as exc:  # e.g. the output's folder cannot be made
        return Outcome(job, "failed", seconds=time.perf_counter() - started, message=f"{exc.strerror or exc}: "
                       f"{exc.filename or job.output}", code=ExitCode.ERROR)
    except Exception as exc:  # a bug or a plugin's error must not end the other files
        if isinstance(exc, Stopped):
            raise
        return Outcome(job, "failed", seconds=time.perf_counter() - started,
                       message=f"{type(exc).__name__}: {exc}", code=ExitCode.ERROR)
    finally:
        if report is not None:
            report.flush()
    return Outcome(job, "done", frames=result.frames, seconds=time.perf_counter() - started)


# -- running many ----------------------------------------------------------------------------
class Executor(Protocol):
    """Where a batch's jobs run: `batch_local.LocalExecutor` (worker processes) or
    `batch_cluster.ClusterExecutor` (Dask tasks)."""

    def run(self, jobs: list[Job], frames: _Frames, on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
        """Run each job through `run_job` with this executor's way back (``send``, ``stopped``); return the
        outcomes in job order. On the calling thread, each progress message goes to ``frames`` and each
        outcome to ``frames.finish`` and ``on_outcome`` as its job ends. Interrupted (KeyboardInterrupt):
        the jobs in progress stop and remove their files, no other starts, and the interrupt is raised again."""
        ...


class _Frames:
    """Frame counts reported per job, passed on as increments; a job that starts again takes its count back,
    and a finished one counts the frames of its outcome."""

    def __init__(self, on_frames: Callable[[int], None]) -> None:
        self.on_frames = on_frames
        self.by_key: dict[str, int] = {}
        self.started: set[str] = set()  # the jobs seen starting (cleared by the caller as it likes)
        self.finished: set[str] = set()

    def finish(self, outcome: Outcome) -> None:
        """``outcome``'s job ended: a done file counts its frames (its last reports can come after its result,
        from another process or over the network), and reports still to come for it are ignored."""
        key = outcome.job.key
        missing = outcome.frames - self.by_key.get(key, 0)
        if outcome.status == "done" and missing:
            self.on_frames(missing)
            self.by_key[key] = outcome.frames
        self.finished.add(key)

    def __call__(self, message: tuple[str, int]) -> None:
        key, frames = message
        if key in self.finished:
            return
        if frames == 0:  # (re)started
            frames = -self.by_key.get(key, 0)
            self.by_key[key] = 0
            self.started.add(key)
        else:
            self.by_key[key] = self.by_key.get(key, 0) + frames
        if frames:
            self.on_frames(frames)


def run_jobs(jobs: list[Job], *, workers: int | None = None, scheduler: str | None = None,
             on_frames: Callable[[int], None] = lambda n: None,
             on_outcome: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """Run ``jobs`` and return their outcomes in job order.

    Locally, ``workers`` processes at a time (default: the number of cores); with
    ``scheduler`` (e.g. ``tcp://host:8786``), as Dask tasks on that cluster. ``on_frames(n)``
    is called as frames are done (n < 0 takes back the frames of a file started again),
    ``on_outcome`` as each file ends, both on the calling thread. Interrupted
    (KeyboardInterrupt), local workers are stopped and remove their unfinished files,
    files not started on a cluster are cancelled; then the interrupt is raised again.
    """
    outcomes = {}
    for job in jobs:  # no worker to start for these (a worker checks again: the storage may differ)
        if (skipped := _skipped(job)) is not None:
            outcomes[job.key] = skipped
            on_outcome(skipped)
    todo = [job for job in jobs if job.key not in outcomes]
    if todo:
        if scheduler:
            from .batch_cluster import ClusterExecutor

            executor: Executor = ClusterExecutor(scheduler)
        else:
            from .batch_local import LocalExecutor

            executor = LocalExecutor(workers or os.cpu_count() or 1)
        outcomes.update((o.job.key, o) for o in executor.run(todo, _Frames(on_frames), on_outcome))
    return [outcomes[job.key] for job in jobs]


# -- the command's view --------------------------------------------------------------------------
def run_batch(jobs: list[Job], *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True) -> list[Outcome]:
    """`run_jobs` with one overall progress bar (files and frames, fps, ETA) and a line per finished file
    on stderr. The frames to do are read from each input's header first."""
    from tqdm import tqdm

    from .render import frame_total

    expected = {job.key: frame_total(job.input, job.options.start, job.options.end) or 0 for job in jobs}
    ended = 0
    with tqdm(total=sum(expected.values()) or None, unit="frame", desc=f"0/{len(jobs)} files", file=sys.stderr,
              disable=not progress, dynamic_ncols=True) as bar:

        def on_outcome(outcome: Outcome) -> None:
            nonlocal ended
            ended += 1
            bar.set_description(f"{ended}/{len(jobs)} files")
            if bar.total is not None:  # the frames of this file are all counted now
                bar.total = max(bar.n, bar.total - expected[outcome.job.key] + outcome.frames)
            bar.write(_line(outcome), file=sys.stderr)

        return run_jobs(jobs, workers=workers, scheduler=scheduler, on_frames=bar.update, on_outcome=on_outcome)


def _line(o: Outcome) -> str:
    if o.status == "done":
        return f"done    {o.job.input} -> {o.job.output} ({o.frames} frames, {o.fps:.1f} fps)"
    return f"{o.status:<7} {o.job.input}: {o.message}"


def summary(outcomes: list[Outcome]) -> str:
    """The end-of-batch table: one row per file, then the totals."""
    rows = [("status", "frames", "fps", "seconds", "file", "note")]
    for o in outcomes:
        rows.append((o.status, str(o.frames), f"{o.fps:.1f}", f"{o.seconds:.1f}", str(o.job.input), o.message))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:5], widths)) + ("  " + r[5] if r[5] else "")
             for r in rows]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    lines.append(f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed, "
                 f"{sum(o.frames for o in outcomes)} frames")
    return "\n".join(line.rstrip() for line in lines)
