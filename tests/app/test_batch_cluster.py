"""Batch render on a real Dask cluster started here on 127.0.0.1: the same outputs as local workers."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a scheduler and two workers, each its own process

from camfilters.batch import plan, run_jobs, with_render_options  # noqa: E402
from camfilters.options import RenderOptions  # noqa: E402

from helpers import decode_frames, wait_for  # noqa: E402
from media import make_video, probe  # noqa: E402


@pytest.fixture
def archive(tmp_path) -> Path:
    folder = tmp_path / "archive"
    folder.mkdir()
    make_video(folder / "a.mp4", 40, size=(160, 120), fps=30, audio=True)
    make_video(folder / "b.mkv", 30, size=(128, 96), fps=25)
    make_video(folder / "c.mov", 36, size=(96, 64), fps=24, audio=True)
    return folder


def test_cluster_outputs_equal_local_outputs_frame_for_frame(dask_cluster, archive, tmp_path):
    address = dask_cluster(2).address
    local = run_jobs(with_render_options(plan([archive], tmp_path / "local"), RenderOptions(filters=["edge"])), workers=2)
    frames = []
    remote = run_jobs(with_render_options(plan([archive], tmp_path / "remote"), RenderOptions(filters=["edge"])), scheduler=address,
                      on_frames=frames.append)
    assert [o.status for o in local] == [o.status for o in remote] == ["done"] * 3
    assert sum(frames) == sum(o.frames for o in remote) == 106
    for a, b in zip(local, remote):
        ours, theirs = decode_frames(a.job.output), decode_frames(b.job.output)
        assert len(ours) == len(theirs) == a.frames
        assert all(np.array_equal(x, y) for x, y in zip(ours, theirs))
        assert probe(a.job.output).audio_codec == probe(b.job.output).audio_codec


def test_a_worker_killed_mid_batch_loses_no_file(dask_cluster, tmp_path):
    """SIGKILL of one of two workers while both write: its file is rendered again on the other, completely,
    and nothing of the killed render (its temporary file) remains."""
    address, _, workers = dask_cluster(2)
    folder = tmp_path / "long"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        make_video(folder / f"{name}.mp4", 120, size=(320, 240), fps=30)
    out = tmp_path / "out"
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault(
        "outcomes", run_jobs(with_render_options(plan([folder], out), RenderOptions(filters=["cartoon"])), scheduler=address)))
    runner.start()
    # both workers mid-file: each has its temporary file (renamed onto the output only when complete)
    wait_for(lambda: out.exists() and len([p for p in out.iterdir() if p.name.startswith(".")]) >= 2, 300,
             "both workers writing their temporary files")
    workers[0].kill()
    runner.join(timeout=600)
    outcomes = result["outcomes"]
    assert [o.status for o in outcomes] == ["done"] * 4, outcomes
    for o in outcomes:
        assert probe(o.job.output).frames == 120
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]  # no temporary files


def _task_threads() -> tuple[int, int]:
    """In a task: what a file's render would filter with after `run_job` sized its threads."""
    import cv2
    import numba

    from camfilters.batch_cluster import share_cores

    share_cores()
    return numba.get_num_threads(), cv2.getNumThreads()


def test_a_dask_worker_task_uses_its_share_of_the_cores():
    """A worker running 2 tasks at once gives each half the cores (`dask worker` runs one per core by default),
    not every core to each: cores x threads would fight over the CPU."""
    import cv2
    import numba
    from distributed import Client, LocalCluster

    opencv_threads = cv2.getNumThreads()
    share = max(1, min(numba.config.NUMBA_NUM_THREADS, (os.cpu_count() or 1) // 2))
    try:
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,  # in-process: no port opened
                          dashboard_address=None) as local, Client(local) as client:
            assert client.submit(_task_threads, pure=False).result(timeout=60) == (share, share)
    finally:
        cv2.setNumThreads(opencv_threads)
