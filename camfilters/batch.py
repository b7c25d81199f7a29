"""Rendering files: one in this process, or many at once on local worker processes or a Dask cluster.

`render_file` is the processing of one file (filters, then lenses through `OfflineLenses`)
for ``camfilters render`` with one input and for every file of a batch. `plan` turns the
command line's inputs (files, folders, globs) into (input, output) pairs, each output
keeping its input's name relative to what was given; `with_render_options` makes them
`Job`s. `run_jobs` runs them ``workers`` at a time in worker processes (each with
``cores // workers`` Numba and OpenCV threads, so the jobs do not oversubscribe the
cores), or as one Dask task per file when a scheduler address is given; `run_batch`
adds the overall progress bar and a line per finished file.

What a batch does to files:

- A file that fails is reported with its reason (`Outcome`) and the others go on.
- An output that exists is skipped unless ``overwrite``: outputs are written to a
  temporary file and renamed (`camfilters.render`), so a finished output is complete
  and a re-run of an interrupted batch does only the files left.
- Before a file is rendered, the temporary files that a killed render of the same
  output left (`camfilters.render.temporary_files`, and those of its faces CSV) are
  removed. So two batches must not write the same output at the same time.
- Interrupted (Ctrl-C, SIGTERM, or the parent process killed), local workers stop and
  remove their unfinished files: a batch keeps no partial output. A local worker
  process that dies while rendering a file (a crash, the OOM killer) has the file
  tried once more; on a cluster, the scheduler moves a dead worker's file to another.
"""

from __future__ import annotations

import concurrent.futures
import glob
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CamfiltersError, ExitCode, ParameterError, exit_code

if TYPE_CHECKING:
    from .render import RenderResult

__all__ = ["VIDEO_EXTENSIONS", "Job", "Outcome", "Stopped", "check_options", "faces_csv_beside", "one_file", "plan",
           "render_file", "run_batch", "run_job", "run_jobs", "summary", "with_render_options"]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".3gp", ".avi", ".flv", ".m2ts", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg",
                              ".mts", ".ts", ".webm", ".wmv"})
PROGRESS_PERIOD_S = 0.25  # how often a worker reports its frame count
STOP_TIMEOUT_S = 30.0  # how long interrupted local workers get to remove their files before they are killed
_TOPIC = "camfilters-progress"


@dataclass(frozen=True)
class Job:
    """One file to render: ``input`` to ``output`` through ``filters`` and ``lenses`` (spec strings).

    ``render`` holds the keyword arguments passed on to `render_file` (overwrite, crf,
    preset, start, end, models, faces_csv); ``key`` names the job in progress reports.
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


class Stopped(Exception):
    """A batch's render was interrupted and its unfinished files removed (an Exception, so that
    `OfflineLenses` drops its CSV too)."""


# -- one file ------------------------------------------------------------------------------------
def faces_csv_beside(output: Path) -> Path:
    """Where ``--faces-csv`` without a path writes the faces of ``output``: ``OUT.faces.csv`` beside it."""
    return output.with_name(output.name + ".faces.csv")


def check_options(filters: Iterable[str], lenses: Iterable[str], *, faces_csv: object = None,
                  face_model: str | None = None, detector_model: str | None = None,
                  segmentation_model: str | None = None) -> None:
    """`ParameterError` for a bad filter or lens spec, or a lens option without a lens; loads no model.

    Checked once before a batch starts, so that a typo does not fail every file.
    """
    from .pipeline import stage_from_spec

    for spec in filters:
        stage_from_spec(spec)
    lenses = list(lenses)
    if not lenses:
        for option, value in (("--faces-csv", faces_csv), ("--face-model", face_model),
                              ("--detector-model", detector_model), ("--segmentation-model", segmentation_model)):
            if value is not None:
                raise ParameterError(f"{option} needs a --lens, e.g. --lens face-blur")
        return
    from .face import _require_mediapipe
    from .face.lenses import parse_lens

    _require_mediapipe()
    chosen = [parse_lens(spec) for spec in lenses]
    if faces_csv is not None and not any(lens.needs_faces for lens in chosen):
        raise ParameterError(f"--faces-csv needs a lens that finds faces (e.g. face-blur), got {', '.join(lenses)}")


def render_file(input_path: Path, output: Path, filters: Iterable[str] = (), lenses: Iterable[str] = (), *,
                face_model: str | None = None, detector_model: str | None = None,
                segmentation_model: str | None = None, faces_csv: Path | None = None, keep_partial: bool = True, overwrite: bool = False,
                **options) -> tuple[RenderResult, int | None]:
    """Render ``input_path`` to ``output`` through ``filters``, then ``lenses`` (every frame analysed).

    ``options`` go to `camfilters.render.render` (progress, crf, preset, start, end).
    Returns the `RenderResult` and the number of faces written to ``faces_csv`` (None
    without one). Raises as `render` does; interrupted, `RenderInterrupted` names the
    partial file, or with ``keep_partial=False`` the partial file and the CSV are
    removed and `Stopped` is raised.
    """
    from .pipeline import Pipeline, stage_from_spec
    from .render import RenderInterrupted, render

    filters, lenses = list(filters), list(lenses)
    pipeline = Pipeline([stage_from_spec(s) for s in filters])

    def run(process) -> RenderResult:
        try:
            return render(input_path, output, process, overwrite=overwrite, **options)
        except RenderInterrupted as exc:
            if keep_partial or exc.partial is None or exc.partial == output:  # at the end: output is complete
                raise
            exc.partial.unlink(missing_ok=True)
            raise Stopped(f"interrupted: {input_path} was not finished and nothing of it was kept") from None

    if not lenses:
        check_options(filters, lenses, faces_csv=faces_csv, face_model=face_model, detector_model=detector_model,
                      segmentation_model=segmentation_model)
        return run(pipeline.process), None
    from .face.offline import OfflineLenses

    if faces_csv is not None and faces_csv.resolve() in (input_path.resolve(), output.resolve()):
        raise ParameterError(f"--faces-csv {faces_csv} must be another file than the input and the output")
    with OfflineLenses(lenses, pipeline if filters else None, face_model=face_model, detector_model=detector_model,
                       segmentation_model=segmentation_model, faces_csv=faces_csv, overwrite=overwrite) as found:
        result = run(found)
    return result, found.csv.rows if found.csv is not None else None


# -- planning ------------------------------------------------------------------------------------
def plan(inputs: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str], *, suffix: str = "",
         ext: str | None = None) -> list[tuple[Path, Path]]:
    """(input, output) pairs for the command line's inputs; `ParameterError` for ones that match nothing.

    A file stands for itself; a folder for its video files (`VIDEO_EXTENSIONS`, any depth,
    sorted); anything else is a glob (``**`` recurses). With one plain file, ``output`` is
    the output file (unless it is a folder); otherwise it is a folder and each output keeps the input's path
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
        if os.path.isfile(path):  # os.path: a name too long is no file, not an error
            found.append((path, Path(path.name)))
        elif os.path.isdir(path):
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
    if len(inputs) == 1 and len(found) == 1 and os.path.isfile(Path(inputs[0]).expanduser()) and not os.path.isdir(output):
        return [(found[0][0], output)]
    if os.path.exists(output) and not os.path.isdir(output):
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


def one_file(inputs: list[str | os.PathLike[str]]) -> bool:
    """Whether the command line's inputs are one file (to render in this process): one input that is
    not a folder, and exists or is no glob. A missing or unreadable one is left to `render` to name."""
    if len(inputs) != 1:
        return False
    text = os.fspath(inputs[0])
    path = Path(text).expanduser()
    try:
        if path.is_dir():
            return False
        return os.path.lexists(path) or _fixed_prefix(text) == text
    except (OSError, ValueError):  # a name too long, a NUL byte: render says so in one line
        return True


def _fixed_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((i for i in (pattern.find(c) for c in "*?[") if i >= 0), default=len(pattern))
    return pattern[:cut]



def with_render_options(pairs: list[tuple[Path, Path]], filters: Iterable[str], lenses: Iterable[str],
                        **render_options) -> list[Job]:
    """One `Job` per (input, output) pair with the same filters, lenses and `render_file` options.

    ``faces_csv=True`` writes each output's faces to `faces_csv_beside` it.
    """
    per_output_csv = render_options.pop("faces_csv", None) is True
    template = Job(Path(), Path(), tuple(filters), tuple(lenses), dict(render_options))
    return [replace(template, input=i, output=o, key=uuid.uuid4().hex,
                    render={**template.render, **({"faces_csv": faces_csv_beside(o)} if per_output_csv else {})})
            for i, o in pairs]


# -- one job, in whichever process runs it ------------------------------------------------------
_progress_queue = None  # set in local worker processes by _init_worker
_busy = False  # whether this local worker is rendering (SIGTERM then stops the render)
_stopping = False  # whether SIGTERM came while rendering: the worker ends when its render has stopped
_current: Job | None = None  # the job this local worker renders


def _init_worker(queue, threads: int, parent: int) -> None:
    """Local worker start-up: thread pools sized, Ctrl-C left to the parent, SIGTERM (also sent when
    the parent dies) stopping the render so that its files are removed."""
    global _progress_queue
    import faulthandler

    faulthandler.enable()  # a crash in native code (FFmpeg, OpenCV, Numba) leaves its stack on stderr
    _progress_queue = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent's to handle
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent(parent)
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()
    _limit_threads(threads)


def _on_sigterm(signum: int, frame: object) -> None:
    global _stopping
    if not _busy:
        os._exit(ExitCode.INTERRUPTED)
    # Raised once: PR_SET_PDEATHSIG fires as each thread of a killed parent exits, and a second
    # interrupt would cut short the removal of the unfinished files. In case this one is lost
    # (raised inside a native callback, which drops it), the next frame raises it again.
    if not _stopping:
        _stopping = True
        raise KeyboardInterrupt("SIGTERM")


def _watch_parent(parent: int) -> None:
    """Backstop for the death signal: once the parent is gone, stop as SIGTERM does; if the render has
    not stopped within STOP_TIMEOUT_S (an interrupt lost or stuck), remove its files here and end."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)  # ignored if the death signal came already
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _busy and time.monotonic() < deadline:
        time.sleep(0.1)
    if _current is not None:
        _remove_leftovers(_current)
    os._exit(ExitCode.INTERRUPTED)


def _die_with_parent(parent: int) -> None:
    """Have Linux send this process SIGTERM when its parent (pid ``parent``) dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl
        os._exit(ExitCode.INTERRUPTED)


def _limit_threads(threads: int) -> None:
    """Numba's and OpenCV's threads for this process's calling thread (the one that filters).

    Numba has started its pool by now (importing camfilters imports filters); setting
    NUMBA_NUM_THREADS afterwards would not change it, set_num_threads does.
    """
    import cv2
    import numba

    cv2.setNumThreads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


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
        _limit_threads(max(1, (os.cpu_count() or 1) // worker.state.nthreads))


def _reporter(key: str) -> Callable[[int], None] | None:
    """A per-frame callback sending this job's frame count to the parent, at most every PROGRESS_PERIOD_S.

    It sends ``(key, 0)`` at once: "this job (re)starts", so the parent can take back
    the frames a dead worker had reported for it.
    """
    if _progress_queue is not None:
        send = _progress_queue.put
    elif (worker := _dask_worker()) is not None:
        send = lambda item: worker.log_event(_TOPIC, item)  # noqa: E731
    else:
        return None
    state = {"frames": 0, "sent": 0, "at": time.monotonic()}
    send((key, 0))

    def frame_done(count: int = 1) -> None:
        if _stopping:
            raise KeyboardInterrupt("SIGTERM")
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
    """Remove what a killed render of ``job.output`` (and of its faces CSV) left: hidden temporary files."""
    from .render import temporary_files

    leftovers = temporary_files(job.output)
    csv = job.render.get("faces_csv")
    if csv is not None:
        csv = Path(csv)
        leftovers += sorted(csv.parent.glob(glob.escape(f".{csv.name}.") + "*.part"))
    for path in leftovers:
        log.info("removing %s, left by an unfinished render", path)
        path.unlink(missing_ok=True)


def _skipped(job: Job) -> Outcome | None:
    """The outcome of a job whose output is there already (and not to be overwritten), else None."""
    if os.path.exists(job.output) and not job.render.get("overwrite"):
        return Outcome(job, "skipped", message=f"{job.output} exists (use -y to render it again)")
    return None


def run_job(job: Job) -> Outcome:
    """Render one file (in a worker process or on a Dask worker); never raises for a failed file.

    Raises `Stopped` (or KeyboardInterrupt) when interrupted, having removed the file's unfinished output.
    """
    started = time.perf_counter()
    if (skipped := _skipped(job)) is not None:
        return skipped
    _share_dask_worker_cores()
    report = _reporter(job.key)
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(job)
        result, _ = render_file(job.input, job.output, job.filters, job.lenses, keep_partial=False,
                                progress=report or False, **job.render)
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


def _warm_up(specs: Iterable[str]) -> None:
    """Compile or load the kernels of ``specs`` holding a machine-wide lock: workers starting together
    would otherwise compile the same kernels and write Numba's cache files at once, which can crash
    one that reads them meanwhile (numba#4807). Cached, this takes milliseconds."""
    import tempfile

    import filters

    with open(os.path.join(tempfile.gettempdir(), "camfilters-numba-cache.lock"), "a") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        except ImportError:  # Windows: no lock
            pass
        try:
            filters.warm_up([filters.parse(spec) for spec in specs])
        except CamfiltersError:
            pass  # a bad spec fails the job itself, with its message


def _run_local_job(job: Job) -> Outcome:
    """`run_job` in a local worker process: SIGTERM stops it, its files removed, and ends the process."""
    global _busy, _current
    _busy, _current = True, job
    try:
        _warm_up(job.filters)
        outcome = run_job(job)
    except (Stopped, KeyboardInterrupt):
        os._exit(ExitCode.INTERRUPTED)
    finally:
        _busy, _current = False, None
    if _stopping:  # the interrupt was lost and the file finished (complete, in place): stop now
        os._exit(ExitCode.INTERRUPTED)
    return outcome


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
        run = _run_on_cluster if scheduler else _run_locally
        done = run(todo, scheduler or workers or os.cpu_count() or 1, frames, on_outcome)
        outcomes.update((o.job.key, o) for o in done)
    return [outcomes[job.key] for job in jobs]


def _run_locally(jobs: list[Job], workers: int, frames: _Frames, on_outcome) -> list[Outcome]:
    """Run ``jobs`` on ``workers`` local processes, a file whose worker died mid-file tried once more."""
    workers = max(1, min(workers, len(jobs)))
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
                _stop(pool, futures)
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


def _stop(pool: concurrent.futures.ProcessPoolExecutor, futures) -> None:
    """After an interrupt: cancel what has not started, have the workers remove their unfinished files, end them."""
    for future in futures:
        future.cancel()
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
    pool.shutdown(wait=False, cancel_futures=True)


def _drain(queue, frames: _Frames) -> None:
    import queue as queue_module

    while True:
        try:
            message = queue.get_nowait()
        except (queue_module.Empty, OSError, ValueError):
            return
        frames(message)


def _run_on_cluster(jobs: list[Job], address: str, frames: _Frames, on_outcome) -> list[Outcome]:
    try:
        from distributed import Client, as_completed
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
            finished = as_completed(futures)
            while not finished.is_empty():
                ready = finished.next_batch(block=False) if finished.has_ready() else []
                deliver()
                for future in ready:
                    job = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as exc:  # noqa: BLE001 - the task failed on every try (e.g. workers died)
                        outcome = Outcome(job, "failed", message=f"{type(exc).__name__}: {exc}", code=ExitCode.ERROR)
                    outcomes[job.key] = outcome
                    frames.finish(outcome)
                    on_outcome(outcome)
                if not ready:
                    time.sleep(PROGRESS_PERIOD_S)
        finally:
            client.unsubscribe_topic(_TOPIC)
            client.cancel(list(futures))
    return [outcomes.get(job.key) or Outcome(job, "failed", message="not run") for job in jobs]


# -- the command's view --------------------------------------------------------------------------
def run_batch(jobs: list[Job], *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True) -> list[Outcome]:
    """`run_jobs` with one overall progress bar (files and frames, fps, ETA) and a line per finished file
    on stderr. The frames to do are read from each input's header first."""
    from tqdm import tqdm

    from .render import frame_total

    render = jobs[0].render if jobs else {}
    expected = {job.key: frame_total(job.input, render.get("start"), render.get("end")) or 0 for job in jobs}
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
