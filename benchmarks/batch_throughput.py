"""Batch render throughput: frames per second for 1 and 2 local jobs and a local Dask cluster, and the
overhead per file. Prints one line per measurement with the load average at the time.

    PYTHONPATH=. python benchmarks/batch_throughput.py [--seconds 10] [--files 2] [--tiny 24]

Makes a 1280x720 clip with faces (tests/face/clips.py) and renders copies of it with `edge`
and with `face-blur`. The Dask clusters are a scheduler with two single-threaded workers, and
one with a single two-threaded worker, on 127.0.0.1, started here and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "app"), str(ROOT / "tests" / "face")]

from camfilters.batch import plan, run_jobs, with_render_options  # noqa: E402
from camfilters.options import RenderOptions  # noqa: E402


def measure(label: str, folder: Path, out: Path, specs: dict, **where) -> None:
    shutil.rmtree(out, ignore_errors=True)
    jobs = with_render_options(plan([folder], out), RenderOptions(**specs))
    load = os.getloadavg()[0]
    started = time.perf_counter()
    outcomes = run_jobs(jobs, **where)
    seconds = time.perf_counter() - started
    assert all(o.status == "done" for o in outcomes), [o.message for o in outcomes if o.status != "done"]
    frames = sum(o.frames for o in outcomes)
    print(f"{label:<34} {len(jobs):3d} files {frames:5d} frames {seconds:7.1f} s {frames / seconds:7.2f} fps "
          f"{seconds / len(jobs):6.2f} s/file  load {load:.1f}->{os.getloadavg()[0]:.1f}", flush=True)


def cluster(tmp: Path, workers: int, threads: int) -> tuple[str, list[subprocess.Popen]]:
    info = tmp / f"scheduler-{workers}x{threads}.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(info)], cwd=tmp,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    while not (info.exists() and info.stat().st_size):
        time.sleep(0.1)
    address = json.loads(info.read_text())["address"]
    procs += [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
                                "--nthreads", str(threads), "--no-dashboard", "--name", f"w{i}"], cwd=tmp,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(workers)]
    from distributed import Client

    with Client(address) as client:
        client.wait_for_workers(workers, timeout=300)
    return address, procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--tiny", type=int, default=24, help="tiny files for the overhead per file")
    parser.add_argument("--sections", default="edge,face-blur,tiny")
    args = parser.parse_args()
    from dataclasses import replace

    from clips import DEFAULT_TRACKS, MODELS, build_clip
    from media import make_video

    tmp = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    folder, tiny = tmp / "clips", tmp / "tiny"
    folder.mkdir()
    tiny.mkdir()
    frames = round(args.seconds * 30)  # the test clip's eight faces, on screen all along
    first = build_clip(folder / "c0.mp4", tuple(replace(t, start=0, end=frames) for t in DEFAULT_TRACKS),
                       frames=frames).path
    for i in range(1, args.files):
        shutil.copy(first, folder / f"c{i}.mp4")
    for i in range(args.tiny):
        make_video(tiny / f"t{i:03d}.mp4", 5, size=(160, 120))
    specs = {"edge": {"filters": ["edge"]},
             "face-blur": {"lenses": ["face-blur"], "face_model": str(MODELS / "face_landmarker.task")}}
    sections = args.sections.split(",")
    print(f"{os.cpu_count()} cores; {args.files} x 1280x720 {args.seconds:g} s clips; load {os.getloadavg()}")
    address, procs = cluster(tmp, 2, 1)
    single, more = cluster(tmp, 1, 2)
    procs += more
    try:
        for name in [s for s in sections if s in specs]:
            for jobs in (1, 2):
                measure(f"{name} local --jobs {jobs}", folder, tmp / "out", specs[name], workers=jobs)
            measure(f"{name} dask 2 workers x 1 thread", folder, tmp / "out", specs[name], scheduler=address)
            measure(f"{name} dask 1 worker x 2 threads", folder, tmp / "out", specs[name], scheduler=single)
        if "tiny" in sections:
            measure("tiny 160x120x5 edge local --jobs 2", tiny, tmp / "out", specs["edge"], workers=2)
            measure("tiny 160x120x5 edge dask", tiny, tmp / "out", specs["edge"], scheduler=address)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
