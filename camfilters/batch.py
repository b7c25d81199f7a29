"""Rendering files: one in this process, or many at once on local worker processes or a Dask cluster.

`render_file` is the processing of one file (filters, then lenses through `OfflineLenses`)
for ``camfilters render`` with one input and for every file of a batch. `plan`
(`camfilters.batch_plan`) turns the command line's inputs into (input, output) pairs;
`with_render_options` makes them `Job`s with the command's `RenderOptions`. `run_jobs` runs them on local worker processes
(`camfilters.batch_local`) or as one Dask task per file (`camfilters.batch_cluster`);
`run_batch` adds the overall progress bar and a line per finished file.

What a batch does to files:

- A file that fails is reported with its reason (`Outcome`) and the others go on.
- An output that exists is skipped unless ``overwrite``: outputs are written to a
  temporary file and renamed (`camfilters.media.atomic`), so a finished output is
  complete and a re-run of an interrupted batch does only the files left. An input
  that is corrupt or truncated fails, and nothing of it is kept.
- Each output is locked while it is rendered: one that another batch renders now is
  skipped, and the temporary files a killed render of it left are removed first.
- Interrupted (Ctrl-C, SIGTERM, or the parent process killed), workers stop and
  remove their unfinished files: a batch keeps no partial output. A local worker
  process that dies while rendering a file (a crash, the OOM killer) has the file
  tried once more; on a cluster, the scheduler moves a dead worker's file to another.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import batch_local as _local
from .batch_local import limit_threads
from .batch_plan import VIDEO_EXTENSIONS, check_scheduler, one_file, plan
from .errors import CamfiltersError, ExitCode, OutputExistsError, ParameterError, SourceError, exit_code
from .media.atomic import OutputBusyError
from .options import RenderOptions

if TYPE_CHECKING:
    from .render import RenderResult

__all__ = ["VIDEO_EXTENSIONS", "Job", "Outcome", "Stopped", "check_scheduler", "one_file", "plan", "render_file",
           "run_batch", "run_job", "run_jobs", "summary", "with_render_options"]

log = logging.getLogger(__name__)

PROGRESS_PERIOD_S = 0.25  # how often a worker reports its frame count


@dataclass(frozen=True)
class Job:
    """One file to render: ``input`` to ``output`` with ``options``; ``key`` names the job in progress reports."""

    input: Path
    output: Path
    options: RenderOptions = RenderOptions()
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    stop: str = ""  # on a cluster: the name of the Dask Event that stops it (`camfilters.batch_cluster`)


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


class Stopped(Exception):
    """A batch's render was interrupted and its unfinished files removed (an Exception, so that
    `OfflineLenses` drops its CSV too)."""


# -- one file ------------------------------------------------------------------------------------
def render_file(input_path: Path, output: Path, options: RenderOptions, *, keep_partial: bool = True,
                progress: bool | Callable[[int], None] = True) -> tuple[RenderResult, int | None]:
    """Render ``input_path`` to ``output`` through ``options``' filters, then its lenses (every frame analysed).

    ``progress`` is `camfilters.render.render`'s. Returns the `RenderResult` and the number
    of faces written to the faces CSV (None without one). Raises as `render` does;
    interrupted, `RenderInterrupted` names the partial file, or with ``keep_partial=False``
    the partial file and the CSV are removed and `Stopped` is raised, and for a truncated
    input nothing is kept.
    """
    from .processor import build_processor
    from .render import InputTruncated, RenderInterrupted, render

    def run(process) -> RenderResult:
        try:
            return render(input_path, output, process, options, progress=progress)
        except RenderInterrupted as exc:
            if keep_partial or exc.partial is None or exc.partial == output:  # at the end: output is complete
                raise
            exc.partial.unlink(missing_ok=True)
            raise Stopped(f"interrupted: {input_path} was not finished and nothing of it was kept") from None
        except InputTruncated as exc:
            if keep_partial:
                raise
            exc.partial.unlink(missing_ok=True)
            raise SourceError(f"{input_path} is corrupt or truncated after frame {exc.frames}: nothing of it was "
                              f"kept (render it alone to keep the frames that decode)") from None

    if not options.lenses:
        options.check()
    faces_csv = options.faces_csv_for(output) if options.lenses else None
    if faces_csv is not None and faces_csv.resolve() in (input_path.resolve(), output.resolve()):
        raise ParameterError(f"--faces-csv {faces_csv} must be another file than the input and the output")
    processor = build_processor(options.filters, options.lenses, "render", face_model=options.face_model,
                                detector_model=options.detector_model, segmentation_model=options.segmentation_model,
                                faces_csv=faces_csv, overwrite=options.overwrite)
    if not options.lenses:
        return run(processor.process), None
    with processor as found:
        result = run(found)
    return result, found.csv.rows if found.csv is not None else None


# -- planning (`camfilters.batch_plan`) -----------------------------------------------------------
def with_render_options(pairs: list[tuple[Path, Path]], options: RenderOptions) -> list[Job]:
    """One `Job` per (input, output) pair, each rendered with ``options``."""
    return [Job(i, o, options) for i, o in pairs]


# -- one job, in whichever process runs it ------------------------------------------------------
def _dask_worker():
    """The Dask worker running this task, or None (a local worker, or no Dask)."""
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _share_dask_worker_cores() -> None:
    """On a Dask worker, size this task thread's Numba and OpenCV threads to its share of the machine's
    cores: cores // the worker's task threads (``dask worker`` runs one task per core by default)."""
    if (worker := _dask_worker()) is not None:
        limit_threads(max(1, (os.cpu_count() or 1) // worker.state.nthreads))


def _reporter(key: str, stopped: Callable[[], bool] = lambda: False) -> Callable[[int], None] | None:
    """A per-frame callback sending this job's frame count to the parent, at most every PROGRESS_PERIOD_S.

    It sends ``(key, 0)`` at once: "this job (re)starts", so the parent can take back
    the frames a dead worker had reported for it. When it reports, it asks ``stopped()``
    and stops the render (KeyboardInterrupt) if so.
    """
    if _local._progress_queue is not None:
        send = _local._progress_queue.put
    elif (worker := _dask_worker()) is not None:
        from .batch_cluster import TOPIC

        send = lambda item: worker.log_event(TOPIC, item)  # noqa: E731
    else:
        return None
    state = {"frames": 0, "sent": 0, "at": time.monotonic()}
    send((key, 0))

    def frame_done(count: int = 1) -> None:
        if _local._signals.stopping:
            raise KeyboardInterrupt("SIGTERM")
        state["frames"] += count
        now = time.monotonic()
        if now - state["at"] >= PROGRESS_PERIOD_S:
            send((key, state["frames"] - state["sent"]))
            state["sent"], state["at"] = state["frames"], now
            if stopped():
                raise KeyboardInterrupt("stopped by the batch")

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


def run_job(job: Job) -> Outcome:
    """Render one file (in a worker process or on a Dask worker); never raises for a failed file.

    Raises `Stopped` (or KeyboardInterrupt) when interrupted, having removed the file's unfinished output.
    """
    started = time.perf_counter()
    stopped = lambda: False  # noqa: E731
    if job.stop and _dask_worker() is not None:
        from .batch_cluster import stop_check

        if (stopped := stop_check(job.stop))():
            raise Stopped(f"stopped: {job.input} was not started")
    if (skipped := _skipped(job)) is not None:
        return skipped
    _share_dask_worker_cores()
    report = _reporter(job.key, stopped)
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
        frames = _Frames(on_frames)
        from .batch_cluster import run_on_cluster
        from .batch_local import run_locally

        run = run_on_cluster if scheduler else run_locally
        done = run(todo, scheduler or workers or os.cpu_count() or 1, frames, on_outcome)
        outcomes.update((o.job.key, o) for o in done)
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
