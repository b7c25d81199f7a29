"""A Dask batch stopped or losing its scheduler (issue 21): one line, the exit code, and files in progress
removed, not finished behind the user's back. The cluster runs here on 127.0.0.1 and is always stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from camfilters.errors import ExitCode  # noqa: E402

from cli_helpers import interrupt, start  # noqa: E402
from helpers import wait_for  # noqa: E402
from media import make_video  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and one single-threaded worker without a nanny: (address, scheduler process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(info)], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_for(lambda: info.exists() and info.stat().st_size > 0, 120, "the scheduler to start")
        address = json.loads(info.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1", "--nthreads", "1",
             "--no-nanny", "--no-dashboard"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=120)
        yield address, procs[0]
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def start_batch(tmp_path: Path, address: str) -> tuple[subprocess.Popen, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in "ab":
        make_video(folder / f"{name}.mp4", 300, size=(320, 240), fps=30)
    out = tmp_path / "out"
    proc = start("render", str(folder), "-o", str(out), "--filter", "cartoon", "--scheduler", address, "--no-progress")
    wait_for(lambda: any(n.startswith(".") for n in visible(out)), 300, "the worker writing its temporary file")
    return proc, out


def test_a_stopped_dask_batch_removes_the_files_in_progress(cluster, tmp_path):
    """Item 10: after Ctrl-C nothing of the file in progress appears later (it is stopped, not left running)."""
    address, _ = cluster
    proc, out = start_batch(tmp_path, address)
    code, err = interrupt(proc, signal.SIGINT, timeout=120)
    assert code == ExitCode.INTERRUPTED and "Traceback" not in err, err
    assert "the files in progress were removed" in err.splitlines()[-1]
    time.sleep(8)  # the worker would have finished its 300 frames by now
    assert visible(out) == [], err


def test_a_lost_scheduler_is_one_line_and_exit_1(cluster, tmp_path):
    """Item 9: killing the scheduler mid-batch gives one error line, no FutureCancelledError or traceback."""
    address, scheduler = cluster
    proc, _ = start_batch(tmp_path, address)
    scheduler.kill()
    _, err = proc.communicate(timeout=300)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == ExitCode.ERROR, err
    assert len(lines) == 1 and lines[0].startswith("camfilters: error: lost the Dask scheduler at"), err
