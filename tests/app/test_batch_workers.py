"""Batch render in worker processes: every file rendered with its frames, rate and audio, as the filter does
in-process; a corrupt file fails alone; lenses as in the one-file render (the stops and kills:
test_batch_kills.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from camfilters.batch import Job, plan, run_jobs, summary, with_render_options
from camfilters.errors import ExitCode
from camfilters.options import RenderOptions

from cli_helpers import camfilters
from helpers import decode_frames, sha256
from media import frame_index, probe

pytestmark = pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av)


def test_two_workers_render_every_file_with_its_frames_rate_and_audio(clip_folder, tmp_path):
    jobs = with_render_options(plan([clip_folder], tmp_path / "out"), RenderOptions(filters=["edge"]))
    frames_reported, ended = [], []
    outcomes = run_jobs(jobs, workers=2, on_frames=frames_reported.append, on_outcome=ended.append)
    assert [o.status for o in outcomes] == ["done"] * 3 and len(ended) == 3
    assert sum(frames_reported) == 30 == sum(o.frames for o in outcomes)
    for (source, target), n, fps, audio in zip(plan([clip_folder], tmp_path / "out"), (12, 10, 8), (30, 25, 24),
                                               ("aac", None, "aac")):
        info = probe(target)
        assert (info.frames, info.fps, info.audio_codec) == (n, fps, audio)
        assert [frame_index(f) for f in decode_frames(target)] != []  # decodes
        expected = decode_frames(source)[0]
        assert info.width == expected.shape[1] and info.height == expected.shape[0]


def test_a_corrupt_file_fails_alone_and_finished_files_are_skipped_on_a_rerun(clip_folder, tmp_path):
    good = clip_folder / "a.mp4"
    (clip_folder / "broken.mp4").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    out = tmp_path / "out"
    outcomes = run_jobs(with_render_options(plan([clip_folder], out), RenderOptions()), workers=2)
    status = {o.job.input.name: o.status for o in outcomes}
    assert status == {"a.mp4": "done", "b.mkv": "done", "c.mov": "done", "broken.mp4": "failed"}
    failed = next(o for o in outcomes if o.status == "failed")
    assert "broken.mp4" in failed.message and failed.code != 0
    done_bytes = {p: sha256(p) for p in out.rglob("*") if p.is_file()}
    assert sorted(p.name for p in done_bytes) == ["a.mp4", "b.mkv", "c.mov"]  # nothing left of broken.mp4
    rerun = run_jobs(with_render_options(plan([clip_folder], out), RenderOptions()), workers=2)
    assert {o.job.input.name: o.status for o in rerun}["a.mp4"] == "skipped"
    assert {p: sha256(p) for p in out.rglob("*") if p.is_file()} == done_bytes  # untouched
    table = summary(rerun)
    assert "broken.mp4" in table and table.splitlines()[-1].startswith("0 done, 3 skipped, 1 failed")


def test_the_filtered_frames_match_the_filter_applied_in_process(clip_folder, tmp_path):
    """A worker's output is the filter of each input frame (frame for frame, within codec loss)."""
    import filters

    (target,) = [t for s, t in plan([clip_folder / "b.mkv"], tmp_path / "b.mkv")]
    run_jobs([Job(clip_folder / "b.mkv", target, RenderOptions(filters=["sketch"]))], workers=1)
    sketch = filters.get("sketch")
    for got, source in zip(decode_frames(target), decode_frames(clip_folder / "b.mkv")):
        assert np.abs(got.astype(int) - sketch(source)).mean() < 4


def test_the_command_renders_a_folder_and_reports_a_corrupt_file_with_exit_1(clip_folder, tmp_path):
    good = clip_folder / "a.mp4"
    (clip_folder / "broken.mp4").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    out = tmp_path / "out"
    proc = camfilters("render", str(clip_folder), "-o", str(out), "--suffix=-e", "--ext", "mkv", "--filter", "edge",
                      "--jobs", "2", timeout=600)
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"failed  {clip_folder / 'broken.mp4'}: " in proc.stderr
    assert f"done    {clip_folder / 'a.mp4'} -> {out / 'a-e.mkv'} (12 frames" in proc.stderr
    assert proc.stdout.splitlines()[-1] == "3 done, 0 skipped, 1 failed, 30 frames"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a-e.mkv", "b-e.mkv", "day2/c-e.mkv"]
    assert probe(out / "day2" / "c-e.mkv").audio_codec == "aac"


@pytest.mark.face
def test_lenses_in_a_batch_give_the_one_file_render_and_a_faces_csv_beside_each_output(tmp_path):
    """Workers run the same processing as the one-file render (frame for frame), and --faces-csv
    without a path writes OUT.faces.csv beside each output."""
    import importlib.util
    import sys
    from dataclasses import replace

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "face"))
    from camfilters.options import faces_csv_beside
    from camfilters.render import render_file

    from clips import DEFAULT_TRACKS, MODELS, build_clip

    model = MODELS / "face_landmarker.task"
    if importlib.util.find_spec("mediapipe") is None or not model.is_file():
        pytest.skip("mediapipe or the face model is missing")
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        build_clip(folder / f"{name}.mp4", tuple(replace(t, start=0, end=12) for t in DEFAULT_TRACKS[:3]),
                   size=(640, 360), frames=12)
    out = tmp_path / "out"
    options = RenderOptions(filters=["edge"], lenses=["face-blur"], face_model=str(model))
    jobs = with_render_options(plan([folder], out), replace(options, faces_csv_beside=True))
    assert [o.status for o in run_jobs(jobs, workers=1)] == ["done", "done"]
    alone = tmp_path / "alone.mp4"
    _, faces = render_file(folder / "a.mp4", alone, replace(options, faces_csv=tmp_path / "alone.csv"), progress=False)
    assert faces > 0
    assert all(np.array_equal(x, y) for x, y in zip(decode_frames(alone), decode_frames(out / "a.mp4")))
    assert faces_csv_beside(out / "a.mp4") == out / "a.mp4.faces.csv"
    assert (out / "a.mp4.faces.csv").read_text() == (tmp_path / "alone.csv").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "a.mp4.faces.csv", "b.mp4", "b.mp4.faces.csv"]
