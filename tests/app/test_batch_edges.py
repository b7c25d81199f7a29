"""Batch render at its edges: outputs are never inputs, nothing the user had is lost, bad options and
stops end in one line. Each test names the item of issue 21 it checks."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from camfilters.batch import plan, run_job, run_jobs, with_render_options
from camfilters.errors import ExitCode, ParameterError
from camfilters.options import RenderOptions

from cli_helpers import assert_one_line_error, cli_main, interrupt, start
from helpers import hidden, sha256, wait_for
from media import make_video, probe


@pytest.fixture
def b5(tmp_path) -> Path:
    """A folder holding a.mp4 and the user's own, different a-x.mp4."""
    folder = tmp_path / "b5"
    folder.mkdir()
    make_video(folder / "a.mp4", 6)
    make_video(folder / "a-x.mp4", 9, size=(96, 64))
    return folder


@pytest.mark.parametrize("how", ["folder", "files"])
def test_an_output_that_is_an_input_of_the_batch_is_refused_even_with_y(b5, how):
    """Item 1: rendering a.mp4 with --suffix=-x would replace the input a-x.mp4; refused before anything runs."""
    digest = sha256(b5 / "a-x.mp4")
    inputs = [str(b5)] if how == "folder" else [str(b5 / "a.mp4"), str(b5 / "a-x.mp4")]
    proc = cli_main("render", *inputs, "-o", str(b5), "--suffix=-x", "-y", "--no-progress")
    assert_one_line_error(proc, "a-x.mp4")
    assert proc.returncode == ExitCode.USAGE
    assert sha256(b5 / "a-x.mp4") == digest and sorted(p.name for p in b5.iterdir()) == ["a-x.mp4", "a.mp4"]


def test_an_output_that_is_a_hard_link_to_an_input_is_refused(b5, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.link(b5 / "a-x.mp4", out / "a.mp4")
    with pytest.raises(ParameterError, match=r"a.mp4 is an input of this batch"):
        plan([b5 / "a.mp4", b5 / "a-x.mp4"], out)


def test_an_output_folder_inside_the_input_folder_is_not_an_input(tmp_path):
    """Item 5: files under the output folder are left out, so a re-run does not render out/out/a.mp4."""
    folder = tmp_path / "in"
    (folder / "out").mkdir(parents=True)
    make_video(folder / "a.mp4", 4)
    make_video(folder / "out" / "a.mp4", 4)  # an earlier run's output
    assert plan([folder], folder / "out") == [(folder / "a.mp4", folder / "out" / "a.mp4")]
    assert plan([str(folder / "**" / "*.mp4")], folder / "out") == [(folder / "a.mp4", folder / "out" / "a.mp4")]


@pytest.mark.parametrize("glob", [False, True])
def test_the_input_folder_as_output_folder_is_refused(b5, glob):
    """Item 5: -o the input folder (with --suffix) would render a-x.mp4 into a-x-x.mp4 on each re-run."""
    (b5 / "a-x.mp4").unlink()
    with pytest.raises(ParameterError, match=r"is the folder the inputs .* are taken from"):
        plan([str(b5 / "*.mp4") if glob else b5], b5, suffix="-x")


@pytest.mark.slow  # a worker process, twice
def test_a_truncated_input_leaves_nothing_under_its_name_and_fails_again_on_a_rerun(tmp_path):
    """Item 6: the frames of a truncated input never take the output's name ("complete or absent")."""
    folder = tmp_path / "in"
    folder.mkdir()
    whole = make_video(tmp_path / "whole.mkv", 48, audio=True)
    (folder / "half.mkv").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    make_video(folder / "good.mp4", 6)
    out = tmp_path / "out"
    for _ in range(2):
        outcomes = run_jobs(with_render_options(plan([folder], out), RenderOptions()), workers=1)
        status = {o.job.input.name: o.status for o in outcomes}
        assert status["half.mkv"] == "failed", outcomes
        failed = next(o for o in outcomes if o.status == "failed")
        assert "corrupt or truncated" in failed.message and "nothing of it was kept" in failed.message
        assert failed.code == ExitCode.SOURCE
        assert sorted(p.name for p in out.iterdir()) == ["good.mp4"]


@pytest.mark.slow  # a worker process
def test_two_batches_writing_one_output_keep_each_others_files(tmp_path, videos):
    """Item 7: a second batch to the same output while the first renders it skips it and removes nothing."""
    folder = tmp_path / "in"
    folder.mkdir()
    videos(folder / "a.mp4", 150, size=(320, 240), fps=30)
    out = tmp_path / "out"
    result = {}
    first = threading.Thread(target=lambda: result.setdefault("first", run_jobs(
        with_render_options(plan([folder], out), RenderOptions(filters=["cartoon"])), workers=1)))
    first.start()
    wait_for(lambda: hidden(out) if out.exists() else [], 300, "the first batch writing its temporary file")
    (job,) = with_render_options(plan([folder], out), RenderOptions(filters=["edge"]))
    second = run_job(job)  # in this process: at once, while the first renders
    first.join(timeout=600)
    assert second.status == "skipped" and "being written by another" in second.message, second
    assert [o.status for o in result["first"]] == ["done"], result["first"]
    assert probe(out / "a.mp4").frames == 150 and hidden(out) == []


@pytest.mark.slow  # a signal to a process of its own and its workers
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_local_batch_says_so_in_its_own_lines_only(tmp_path, videos, sig):
    """Item 9: no "Exception in thread ... InvalidStateError" nor "leaked semaphore" warning on a stop.

    SIGHUP is not sent here: the CLI gives it SIGTERM's handler for every command (`signals.interrupt_on_sigterm`,
    checked with both in test_signals.py), so from there on a hang-up is this SIGTERM case."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in "abcd":
        videos(folder / f"{name}.mp4", 300, size=(320, 240), fps=30)
    out = tmp_path / "out"
    proc = start("render", str(folder), "-o", str(out), "--filter", "cartoon", "--jobs", "2", "--no-progress")
    try:
        wait_for(lambda: len(hidden(out)) >= 2 if out.exists() else False, 300, "two workers writing")
        code, err = interrupt(proc, sig, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == ExitCode.INTERRUPTED, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith(("camfilters: ", "done    ")) for line in lines), err  # no thread error, no warning
    assert "stopped" in lines[-1] and hidden(out) == []


@pytest.mark.parametrize(("args", "needle"), [
    (["--scheduler", "notaurl"], "--scheduler must be a Dask scheduler address"),
    (["--scheduler", "tcp://host"], "--scheduler must be a Dask scheduler address"),
    (["--suffix=/x"], "--suffix"),
    (["--suffix=a/../x"], "--suffix"),
])
def test_bad_batch_options_are_usage_errors_before_anything_starts(tmp_path, args, needle):
    """Item 9: one line, exit 2, no output folder made."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_video(folder / "a.mp4", 4)
    proc = cli_main("render", str(folder), "-o", str(tmp_path / "out"), "--no-progress", *args)
    assert_one_line_error(proc, needle)
    assert proc.returncode == ExitCode.USAGE and not (tmp_path / "out").exists()


def test_the_extension_is_case_insensitive(tmp_path):
    """Item 10: --ext MKV gives .mkv outputs."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_video(folder / "a.mp4", 4)
    assert plan([folder], tmp_path / "out", ext="MKV") == [(folder / "a.mp4", tmp_path / "out" / "a.mkv")]
    assert plan([folder], tmp_path / "out", ext=".Mkv")[0][1].suffix == ".mkv"


def test_a_file_name_as_the_output_of_several_inputs_is_refused(tmp_path):
    """Item 10: -o single.mp4 with several inputs does not make a folder named single.mp4."""
    for name in ("a", "b"):
        make_video(tmp_path / f"{name}.mp4", 4)
    proc = cli_main("render", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "-o", str(tmp_path / "single.mp4"),
                    "--no-progress")
    assert_one_line_error(proc, "single.mp4", "folder")
    assert proc.returncode == ExitCode.USAGE and not (tmp_path / "single.mp4").exists()
