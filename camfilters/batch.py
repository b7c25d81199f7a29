"""Rendering many files at once: on local worker processes or on a Dask distributed cluster.

`plan` turns the command line's inputs (files, folders, globs) into `Job`s, one per file,
each output keeping its input's name relative to what was given. `run_jobs` runs them,
``jobs`` at a time in worker processes (each with ``cores // jobs`` Numba and OpenCV
threads, so N jobs do not oversubscribe the cores), or as one Dask task per file when a
scheduler address is given. A file that fails is reported with its reason and the others
go on; an output that exists is skipped unless ``overwrite`` (outputs are written to a
temporary file and renamed, so an interrupted batch re-run resumes where it stopped).
Progress comes back from the workers as frame counts.
"""

from __future__ import annotations

import concurrent.futures
import glob
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import CamfiltersError, ExitCode, ParameterError, exit_code

__all__ = ["VIDEO_EXTENSIONS", "Job", "Outcome", "plan", "run_job", "run_jobs"]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".3gp", ".avi", ".flv", ".m2ts", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg",
                              ".mts", ".ts", ".webm", ".wmv"})
PROGRESS_PERIOD_S = 0.25  # how often a worker reports its frame count
_TOPIC = "camfilters-progress"


@dataclass(frozen=True)
class Job:
    """One file to render: ``input`` to ``output`` through ``filters`` and ``lenses`` (spec strings).

    ``render`` holds the keyword arguments passed on to `camfilters.render.render`
    (overwrite, preset, time range, models ...); ``key`` names the job in progress reports.
    """

    input: Path
    output: Path
    filters: tuple[str, ...] = ()
    lenses: tuple[str, ...] = ()
    render: dict = field(default_factory=dict)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


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


def plan(inputs: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str], *, suffix: str = "",
         ext: str | None = None) -> list[tuple[Path, Path]]:
    """(input, output) pairs for the command line's inputs; `ParameterError` for ones that match nothing.

    A file stands for itself; a folder for its video files (`VIDEO_EXTENSIONS`, any depth,
    sorted); anything else is a glob (``**`` recurses). With one plain file, ``output`` is
    the output file; otherwise it is a folder and each output keeps the input's path
    relative to the folder given (or to the glob's fixed part), with ``suffix`` added to
    the stem and the extension replaced by ``ext`` (default: the input's if it can be
    written, else ``.mp4``). Two inputs that would land on the same output are refused.
    """
    from .recording import FORMATS

    inputs, output = [str(i) for i in inputs], Path(output)
    if ext is not None and (ext if ext.startswith(".") else "." + ext).lower() not in FORMATS:
        raise ParameterError(f"--ext must be one of {', '.join(sorted(FORMATS))}, got {ext!r}")
    found: list[tuple[Path, Path]] = []  # (input, path relative to its root)
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_file():
            found.append((path, Path(path.name)))
        elif path.is_dir():
            videos = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
            if not videos:
                raise ParameterError(f"folder {path} holds no video files ({', '.join(sorted(VIDEO_EXTENSIONS))})")
            found += [(p, p.relative_to(path)) for p in videos]
        else:
            matches = sorted(Path(m) for m in glob.glob(os.path.expanduser(text), recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise ParameterError(f"no such file, folder or matching files: {text}")
            root = Path(os.path.dirname(_fixed_prefix(os.path.expanduser(text))))
            found += [(m, m.relative_to(root) if m.is_relative_to(root) else Path(m.name)) for m in files]
    if len(inputs) == 1 and len(found) == 1 and Path(inputs[0]).expanduser().is_file():
        return [(found[0][0], output)]
    if output.exists() and not output.is_dir():
        raise ParameterError(f"with several inputs the output must be a folder, and {output} is a file")
    pairs, seen = [], {}
    for source, relative in found:
        new_ext = (ext if ext.startswith(".") else "." + ext) if ext else relative.suffix.lower()
        new_ext = new_ext if new_ext in FORMATS else ".mp4"
        target = output / relative.with_name(relative.stem + suffix + new_ext)
        if target in seen:
            raise ParameterError(f"{source} and {seen[target]} would both be written to {target}; "
                                 f"use --suffix or separate runs")
        seen[target] = source
        pairs.append((source, target))
    return pairs


def _fixed_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((i for i in (pattern.find(c) for c in "*?[") if i >= 0), default=len(pattern))
    return pattern[:cut]


# -- one job, in whichever process runs it ------------------------------------------------------
_progress_queue = None  # set in local worker processes by _init_worker


def _init_worker(queue, threads: int) -> None:
    """Local worker start-up: size the thread pools before Numba and OpenCV start them; keep the queue."""
    global _progress_queue
    _progress_queue = queue
    _limit_threads(threads)
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _limit_threads(threads: int) -> None:
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    import cv2

    cv2.setNumThreads(threads)


def _reporter(key: str) -> Callable[[int], None] | None:
    """A per-frame callback sending this job's frame count to the parent, at most every PROGRESS_PERIOD_S."""
    send = None
    if _progress_queue is not None:
        send = _progress_queue.put
    else:
        try:
            from distributed import get_worker

            worker = get_worker()
        except (ImportError, ValueError):
            return None
        send = lambda item: worker.log_event(_TOPIC, item)  # noqa: E731
    state = {"frames": 0, "sent": 0, "at": 0.0}

    def frame_done(count: int = 1) -> None:
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


def run_job(job: Job) -> Outcome:
    """Render one file (in a worker process or on a Dask worker); never raises for a failed file."""
    from .pipeline import Pipeline, stage_from_spec
    from .render import render

    started = time.perf_counter()
    options = dict(job.render)
    if job.output.exists() and not options.get("overwrite"):
        return Outcome(job, "skipped", message="exists (use -y to render it again)")
    report = _reporter(job.key)
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        stages = [stage_from_spec(s) for s in job.filters]
        if job.lenses:
            from .face import build_face_stage

            stages = [build_face_stage(list(job.lenses), inner=Pipeline(stages), synchronous=True,
                                       face_model=options.pop("face_model", None),
                                       segmentation_model=options.pop("segmentation_model", None))]
        options.pop("face_model", None), options.pop("segmentation_model", None)
        result = render(job.input, job.output, Pipeline(stages).process, progress=False, **options)
        if report is not None:
            report(result.frames)
    except CamfiltersError as exc:
        return Outcome(job, "failed", seconds=time.perf_counter() - started, message=str(exc), code=exit_code(exc))
    except Exception as exc:  # a bug or a plugin's error must not end the other files
        return Outcome(job, "failed", seconds=time.perf_counter() - started,
                       message=f"{type(exc).__name__}: {exc}", code=ExitCode.ERROR)
    finally:
        if report is not None:
            report.flush()
    return Outcome(job, "done", frames=result.frames, seconds=time.perf_counter() - started)


# -- running many ----------------------------------------------------------------------------
def run_jobs(jobs: list[Job], *, workers: int | None = None, scheduler: str | None = None,
             on_frames: Callable[[int], None] = lambda n: None,
             on_outcome: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """Run ``jobs`` and return their outcomes in job order.

    Locally, ``workers`` processes at a time (default: the number of cores); with
    ``scheduler`` (e.g. ``tcp://host:8786``), as Dask tasks on that cluster, a task whose
    worker died being retried on another. ``on_frames(n)`` is called as frames are done,
    ``on_outcome`` as each file ends, both on the calling thread.
    """
    if not jobs:
        return []
    if scheduler:
        return _run_on_cluster(jobs, scheduler, on_frames, on_outcome)
    return _run_locally(jobs, workers or os.cpu_count() or 1, on_frames, on_outcome)


def _run_locally(jobs, workers, on_frames, on_outcome) -> list[Outcome]:
    workers = max(1, min(workers, len(jobs)))
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # no fork of a process with Numba/OpenMP threads
    queue = context.Queue()
    outcomes: dict[str, Outcome] = {}
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                                initargs=(queue, threads)) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        pending = set(futures)
        try:
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=PROGRESS_PERIOD_S,
                                                        return_when=concurrent.futures.FIRST_COMPLETED)
                _drain(queue, on_frames)
                for future in done:
                    outcome = _outcome_of(future, futures[future])
                    outcomes[outcome.job.key] = outcome
                    on_outcome(outcome)
        except BaseException:
            for future in pending:
                future.cancel()
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()  # renders in progress lose only their temporary files
            raise
        _drain(queue, on_frames)
    return [outcomes[job.key] for job in jobs]


def _drain(queue, on_frames) -> None:
    import queue as queue_module

    while True:
        try:
            _, frames = queue.get_nowait()
        except (queue_module.Empty, OSError, ValueError):
            return
        on_frames(frames)


def _outcome_of(future, job: Job) -> Outcome:
    try:
        return future.result()
    except concurrent.futures.process.BrokenProcessPool:
        return Outcome(job, "failed", message="its worker process died", code=ExitCode.ERROR)
    except Exception as exc:  # noqa: BLE001 - a failure of the worker machinery itself
        return Outcome(job, "failed", message=f"{type(exc).__name__}: {exc}", code=ExitCode.ERROR)


def _run_on_cluster(jobs, address: str, on_frames, on_outcome) -> list[Outcome]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ParameterError('--scheduler needs Dask distributed: pip install "camfilters[cluster]"') from None
    frames_in: list[int] = []
    lock = threading.Lock()

    def on_event(event) -> None:  # runs on the client's event loop thread
        with lock:
            frames_in.append(event[1][1])

    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise CamfiltersError(f"cannot reach the Dask scheduler at {address}: {exc}; "
                              f"start one with `dask scheduler` or check the address") from None
    outcomes: dict[str, Outcome] = {}
    with client:
        client.subscribe_topic(_TOPIC, on_event)
        futures = {client.submit(run_job, job, key=f"camfilters-{job.key}", pure=False, retries=2): job
                   for job in jobs}
        try:
            for future in as_completed(futures):
                with lock:
                    batch, frames_in[:] = sum(frames_in), []
                if batch:
                    on_frames(batch)
                job = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - the task failed on every try (e.g. workers died)
                    outcome = Outcome(job, "failed", message=f"{type(exc).__name__}: {exc}", code=ExitCode.ERROR)
                outcomes[job.key] = outcome
                on_outcome(outcome)
        finally:
            client.unsubscribe_topic(_TOPIC)
            for future in futures:
                future.cancel()
    return [outcomes.get(job.key) or Outcome(job, "failed", message="not run") for job in jobs]


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


def with_render_options(pairs: list[tuple[Path, Path]], filters: list[str], lenses: list[str],
                        **render_options) -> list[Job]:
    """One `Job` per (input, output) pair with the same filters, lenses and render options."""
    template = Job(Path(), Path(), tuple(filters), tuple(lenses), dict(render_options))
    return [replace(template, input=i, output=o, key=uuid.uuid4().hex) for i, o in pairs]
