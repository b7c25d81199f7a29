"""Batch render stopped and killed: a killed or stopped worker's file is rendered again, completely; a stopped
or killed batch keeps no partial output and a re-run finishes the rest."""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from camfilters.batch import plan, run_jobs, with_render_options
from camfilters.errors import ExitCode
from camfilters.options import RenderOptions

from cli_helpers import cli_main, start, stop
from helpers import hidden, sha256, wait_for
from media import probe

pytestmark = pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av), signals


def test_a_killed_worker_has_its_file_tried_again(tmp_path, videos):
    """SIGKILL of a local worker mid-file: the file is rendered again, completely, and no temporary file stays."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        videos(folder / f"{name}.mp4", 150, size=(320, 240), fps=30)
    out = tmp_path / "out"
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault(
        "outcomes", run_jobs(with_render_options(plan([folder], out), RenderOptions(filters=["cartoon"])), workers=2)))
    runner.start()

    def writer() -> multiprocessing.Process | None:
        """The worker process that has a temporary file of ``out`` open."""
        for child in multiprocessing.active_children():
            try:
                files = [Path(f.path) for f in psutil.Process(child.pid).open_files()]
            except psutil.Error:
                continue
            if any(f.parent == out and f.name.startswith(".") for f in files):
                return child
        return None

    wait_for(writer, 300, "a worker writing its temporary file").kill()
    runner.join(timeout=600)
    assert [o.status for o in result["outcomes"]] == ["done", "done"], result["outcomes"]
    assert [probe(out / f"{n}.mp4").frames for n in ("a", "b")] == [150, 150]
    assert hidden(out) == []


def test_a_worker_sent_sigterm_again_and_again_removes_its_file_once_and_the_file_is_rendered_again(tmp_path,
                                                                                                      videos):
    """A killed parent's death signal comes once per thread of it: a worker sent SIGTERM every millisecond stops
    its render, removes the unfinished file (no partial, no temporary file), and the batch renders it again."""
    folder = tmp_path / "in"
    folder.mkdir()
    videos(folder / "a.mp4", 150, size=(320, 240), fps=30)
    out = tmp_path / "out"
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault(
        "outcomes", run_jobs(with_render_options(plan([folder], out), RenderOptions(filters=["cartoon"])), workers=1)))
    runner.start()
    wait_for(lambda: hidden(out) if out.exists() else [], 300, "the worker writing its temporary file")
    worker = psutil.Process(multiprocessing.active_children()[0].pid)
    worker.send_signal(signal.SIGTERM)  # the first two at once, as a killed parent's exiting threads send them
    while worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE:
        try:
            worker.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.001)
    runner.join(timeout=600)
    assert [o.status for o in result["outcomes"]] == ["done"], result["outcomes"]
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4"] and probe(out / "a.mp4").frames == 150


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_batch_killed_mid_file_keeps_no_partial_output_and_a_rerun_finishes_the_rest(tmp_path, videos, sig):
    """The parent stopped (SIGTERM) or killed (SIGKILL): workers remove their unfinished files; the re-run
    renders only the rest, leaving the finished files' bytes alone, and removes a killed render's leftovers.
    The stop needs a process of its own; the re-run does not (`cli_main`: no second start-up)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        videos(folder / f"{name}.mp4", 120, size=(320, 240), fps=30, audio=True)
    out = tmp_path / "out"
    command = ("render", str(folder), "-o", str(out), "--filter", "cartoon", "--jobs", "2", "--no-progress")
    proc = start(*command)
    try:
        parent = psutil.Process(proc.pid)
        wait_for(lambda: len([p for p in (out.iterdir() if out.exists() else ()) if p.name.startswith(".")]) >= 2,
                 300, "two workers writing their temporary files")
        workers = parent.children(recursive=True)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == (ExitCode.INTERRUPTED if sig == signal.SIGTERM else -signal.SIGKILL)
        psutil.wait_procs(workers, timeout=120)  # the workers stop with their parent
        assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    finally:
        stop(proc)  # the whole process group, workers too, when the test failed before they stopped
    assert hidden(out) == [] and not [p for p in out.iterdir() if "partial" in p.name], err
    finished = {p.name: sha256(p) for p in out.iterdir()}
    assert len(finished) < 4
    for name in finished:
        assert probe(out / name).frames == 120
    (out / ".d.0123abcd.tmp.mp4").write_bytes(b"left by a killed render")
    rerun = cli_main(*command)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.splitlines()[-1] == f"{4 - len(finished)} done, {len(finished)} skipped, 0 failed, " \
                                            f"{120 * (4 - len(finished))} frames"
    assert {p.name: sha256(p) for p in out.iterdir() if p.name in finished} == finished
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert [probe(out / f"{n}.mp4").frames for n in "abcd"] == [120] * 4
