"""Batch render: inputs from files, folders and globs; worker processes; failures kept local."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from camfilters.batch import Job, plan, run_jobs, summary, with_render_options
from camfilters.errors import ParameterError

from helpers import decode_frames
from media import frame_index, make_video, probe


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clips(tmp_path) -> Path:
    """A folder with three short clips of different sizes, rates and audio, one in a subfolder, and a text file."""
    folder = tmp_path / "in"
    (folder / "day2").mkdir(parents=True)
    make_video(folder / "a.mp4", 12, size=(160, 120), fps=30, audio=True)
    make_video(folder / "b.mkv", 10, size=(96, 64), fps=25)
    make_video(folder / "day2" / "c.mov", 8, size=(128, 96), fps=24, audio=True)
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_plan_one_file_writes_to_the_output_file(clips, tmp_path):
    assert plan([clips / "a.mp4"], tmp_path / "out.mkv") == [(clips / "a.mp4", tmp_path / "out.mkv")]


def test_plan_a_folder_keeps_relative_names_sorted(clips, tmp_path):
    out = tmp_path / "out"
    assert plan([clips], out) == [(clips / "a.mp4", out / "a.mp4"), (clips / "b.mkv", out / "b.mkv"),
                                  (clips / "day2" / "c.mov", out / "day2" / "c.mov")]


def test_plan_a_glob_with_suffix_and_ext(clips, tmp_path):
    out = tmp_path / "out"
    assert plan([str(clips / "**" / "*.m[ko]v")], out, suffix="-blurred", ext="mkv") == [
        (clips / "b.mkv", out / "b-blurred.mkv"), (clips / "day2" / "c.mov", out / "day2" / "c-blurred.mkv")]


@pytest.mark.parametrize(("inputs", "match"), [
    (["missing.mp4"], r"no such file, folder or matching files: .*missing.mp4"),
    (["empty"], r"folder .*empty holds no video files"),
])
def test_plan_refuses_inputs_that_match_nothing(tmp_path, inputs, match):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match=match):
        plan([str(tmp_path / i) for i in inputs], tmp_path / "out")


def test_plan_refuses_two_inputs_landing_on_one_output(clips, tmp_path):
    make_video(clips / "a.mkv", 2)
    with pytest.raises(ParameterError, match=r"would both be written to .*a.mp4"):
        plan([clips / "a.mp4", clips / "a.mkv"], tmp_path / "out", ext="mp4")


def test_plan_refuses_a_file_as_the_folder_of_several_outputs(clips, tmp_path):
    (tmp_path / "out.mp4").write_text("x")
    with pytest.raises(ParameterError, match=r"the output must be a folder"):
        plan([clips], tmp_path / "out.mp4")


def test_two_workers_render_every_file_with_its_frames_rate_and_audio(clips, tmp_path):
    jobs = with_render_options(plan([clips], tmp_path / "out"), ["edge"], [])
    frames_reported, ended = [], []
    outcomes = run_jobs(jobs, workers=2, on_frames=frames_reported.append, on_outcome=ended.append)
    assert [o.status for o in outcomes] == ["done"] * 3 and len(ended) == 3
    assert sum(frames_reported) == 30 == sum(o.frames for o in outcomes)
    for (source, target), n, fps, audio in zip(plan([clips], tmp_path / "out"), (12, 10, 8), (30, 25, 24),
                                               ("aac", None, "aac")):
        info = probe(target)
        assert (info.frames, info.fps, info.audio_codec) == (n, fps, audio)
        assert [frame_index(f) for f in decode_frames(target)] != []  # decodes
        expected = decode_frames(source)[0]
        assert info.width == expected.shape[1] and info.height == expected.shape[0]


def test_a_corrupt_file_fails_alone_and_finished_files_are_skipped_on_a_rerun(clips, tmp_path):
    good = clips / "a.mp4"
    (clips / "broken.mp4").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    out = tmp_path / "out"
    outcomes = run_jobs(with_render_options(plan([clips], out), [], []), workers=2)
    status = {o.job.input.name: o.status for o in outcomes}
    assert status == {"a.mp4": "done", "b.mkv": "done", "c.mov": "done", "broken.mp4": "failed"}
    failed = next(o for o in outcomes if o.status == "failed")
    assert "broken.mp4" in failed.message and failed.code != 0
    done_bytes = {p: sha256(p) for p in out.rglob("*") if p.is_file()}
    assert sorted(p.name for p in done_bytes) == ["a.mp4", "b.mkv", "c.mov"]  # nothing left of broken.mp4
    rerun = run_jobs(with_render_options(plan([clips], out), [], []), workers=2)
    assert {o.job.input.name: o.status for o in rerun}["a.mp4"] == "skipped"
    assert {p: sha256(p) for p in out.rglob("*") if p.is_file()} == done_bytes  # untouched
    table = summary(rerun)
    assert "broken.mp4" in table and table.splitlines()[-1].startswith("0 done, 3 skipped, 1 failed")


def test_the_filtered_frames_match_the_filter_applied_in_process(clips, tmp_path):
    """A worker's output is the filter of each input frame (frame for frame, within codec loss)."""
    import filters

    (target,) = [t for s, t in plan([clips / "b.mkv"], tmp_path / "b.mkv")]
    run_jobs([Job(clips / "b.mkv", target, ("sketch",), ())], workers=1)
    sketch = filters.get("sketch")
    for got, source in zip(decode_frames(target), decode_frames(clips / "b.mkv")):
        assert np.abs(got.astype(int) - sketch(source)).mean() < 4
