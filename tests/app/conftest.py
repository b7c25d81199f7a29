"""The helper modules beside the app tests (media, cli_helpers, ...) made importable, the shared clip and a
local Dask cluster."""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import wait_for  # noqa: E402
from media import faststart, make_video  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """48 frames, 160x120, 24 fps, H.264 and AAC in an MP4 with its index first (faststart, as phones write);
    each frame carries its index (`media.frame_index`). Shared: copy it before changing it."""
    folder = tmp_path_factory.mktemp("clip")
    return faststart(make_video(folder / "plain.mp4", 48, size=(160, 120), fps=24, audio=True), folder / "clip.mp4")


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> Callable[..., Path]:
    """`media.make_video` made once per session for each set of arguments, then copied: ``videos(path, 300,
    size=(320, 240))`` writes that clip at ``path`` and returns ``path``. The batch tests stop renders of many
    such long clips (1-2 s each to encode) and only read them."""
    made: dict[tuple, Path] = {}

    def make(path: Path, *args, **kwargs) -> Path:
        key = (Path(path).suffix, args, tuple(sorted(kwargs.items())))
        if key not in made:
            made[key] = make_video(tmp_path_factory.mktemp("video") / f"clip{key[0]}", *args, **kwargs)
        shutil.copyfile(made[key], path)
        return Path(path)

    return make


@pytest.fixture
def clip_folder(tmp_path) -> Path:
    """A batch's input folder: three short clips of different sizes, rates and audio (a.mp4 12 frames 160x120
    30 fps AAC, b.mkv 10 frames 96x64 25 fps, day2/c.mov 8 frames 128x96 24 fps AAC) and a text file."""
    folder = tmp_path / "in"
    (folder / "day2").mkdir(parents=True)
    make_video(folder / "a.mp4", 12, size=(160, 120), fps=30, audio=True)
    make_video(folder / "b.mkv", 10, size=(96, 64), fps=25)
    make_video(folder / "day2" / "c.mov", 8, size=(128, 96), fps=24, audio=True)
    (folder / "notes.txt").write_text("not a video")
    return folder


class Cluster(NamedTuple):
    """A Dask cluster of `dask_cluster`: the scheduler's address, its process and the workers' processes."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]


@pytest.fixture
def dask_cluster(tmp_path) -> Iterator[Callable[[int], Cluster]]:
    """A factory: ``dask_cluster(n)`` starts a scheduler and ``n`` single-threaded workers named w0, w1, ...
    on 127.0.0.1, without nannies (a killed worker stays dead), and waits until all have joined. Whatever it
    started is killed at the end of the test (SIGKILL: a worker whose scheduler is gone spends 30 s trying to
    say goodbye to it on SIGTERM)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs: list[subprocess.Popen] = []

    def start(n: int) -> Cluster:
        info = tmp_path / "scheduler.json"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(info)], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: info.exists() and info.stat().st_size > 0, 120, "the scheduler to start")
        address = json.loads(info.read_text())["address"]
        workers = [subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1", "--nthreads", "1",
             "--no-nanny", "--no-dashboard", "--name", f"w{i}"], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(n)]
        procs.extend(workers)
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(n, timeout=120)
        return Cluster(address, procs[0], workers)

    try:
        yield start
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
