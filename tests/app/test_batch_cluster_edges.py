"""A Dask batch stopped or losing its scheduler (issue 21): one line, the exit code, and files in progress
removed, not finished behind the user's back. The cluster runs here on 127.0.0.1 and is always stopped."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a scheduler and a worker, each its own process

from camfilters.errors import ExitCode  # noqa: E402

from cli_helpers import interrupt, start  # noqa: E402
from helpers import wait_for  # noqa: E402


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def start_batch(tmp_path: Path, address: str, videos) -> tuple[subprocess.Popen, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in "ab":
        videos(folder / f"{name}.mp4", 300, size=(320, 240), fps=30)
    out = tmp_path / "out"
    proc = start("render", str(folder), "-o", str(out), "--filter", "cartoon", "--scheduler", address, "--no-progress")
    wait_for(lambda: any(n.startswith(".") for n in visible(out)), 300, "the worker writing its temporary file")
    return proc, out


def test_a_stopped_dask_batch_removes_the_files_in_progress(dask_cluster, tmp_path, videos):
    """Item 10: after Ctrl-C nothing of the file in progress appears later (it is stopped, not left running):
    once the worker holds no task, running or to run (a cancelled task stays until its thread returns), nothing
    can write there any more."""
    from distributed import Client

    address = dask_cluster(1).address
    proc, out = start_batch(tmp_path, address, videos)
    code, err = interrupt(proc, signal.SIGINT, timeout=120)
    assert code == ExitCode.INTERRUPTED and "Traceback" not in err, err
    assert "the files in progress were removed" in err.splitlines()[-1]
    with Client(address, timeout=60) as client:
        wait_for(lambda: not any(client.run(lambda dask_worker: len(dask_worker.state.tasks)).values()), 120,
                 "the worker to hold no task")
    assert visible(out) == [], err


def test_a_lost_scheduler_is_one_line_and_exit_1(dask_cluster, tmp_path, videos):
    """Item 9: killing the scheduler mid-batch gives one error line, no FutureCancelledError or traceback."""
    address, scheduler, _ = dask_cluster(1)
    proc, _ = start_batch(tmp_path, address, videos)
    scheduler.kill()
    _, err = proc.communicate(timeout=300)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == ExitCode.ERROR, err
    assert len(lines) == 1 and lines[0].startswith("camfilters: error: lost the Dask scheduler at"), err
