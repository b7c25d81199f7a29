"""Batch render: inputs from files, folders and globs; worker processes; failures kept local;
interrupted and killed batches that resume; time ranges and quality options."""

from __future__ import annotations

import hashlib
import multiprocessing
import signal
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from camfilters.batch import Job, Outcome, _Frames, plan, run_jobs, summary, with_render_options
from camfilters.errors import ExitCode, ParameterError
from camfilters.options import RenderOptions
from camfilters.render import render

from cli_helpers import assert_one_line_error, camfilters, cli_main, start, stop
from helpers import decode, decode_frames, wait_for
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


@pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av)
def test_two_workers_render_every_file_with_its_frames_rate_and_audio(clips, tmp_path):
    jobs = with_render_options(plan([clips], tmp_path / "out"), RenderOptions(filters=["edge"]))
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


def test_a_finished_file_counts_its_frames_whatever_its_reports_and_in_whatever_order_they_come(clips, tmp_path):
    """The progress bar's count: a done file's outcome tops up frames whose reports had not come (a worker's
    queue can deliver them after the result, seen under load), a report coming after the outcome is not
    counted twice, a restarted file takes back what it had reported, and a failed file keeps its count."""
    a, b, c = with_render_options(plan([clips], tmp_path / "out"), RenderOptions(filters=["edge"]))
    reported = []
    frames = _Frames(reported.append)
    for message in [(a.key, 0), (a.key, 5), (b.key, 0), (b.key, 4), (b.key, 0), (b.key, 3), (c.key, 0), (c.key, 2)]:
        frames(message)
    frames.finish(Outcome(a, "done", frames=12))
    frames((a.key, 7))  # a's last report, after its result
    frames.finish(Outcome(b, "done", frames=10))
    frames.finish(Outcome(c, "failed", message="broken"))
    frames((c.key, 1))
    assert reported == [5, 4, -4, 3, 2, 7, 7]
    assert sum(reported) == 12 + 10 + 2


@pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av)
def test_a_corrupt_file_fails_alone_and_finished_files_are_skipped_on_a_rerun(clips, tmp_path):
    good = clips / "a.mp4"
    (clips / "broken.mp4").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    out = tmp_path / "out"
    outcomes = run_jobs(with_render_options(plan([clips], out), RenderOptions()), workers=2)
    status = {o.job.input.name: o.status for o in outcomes}
    assert status == {"a.mp4": "done", "b.mkv": "done", "c.mov": "done", "broken.mp4": "failed"}
    failed = next(o for o in outcomes if o.status == "failed")
    assert "broken.mp4" in failed.message and failed.code != 0
    done_bytes = {p: sha256(p) for p in out.rglob("*") if p.is_file()}
    assert sorted(p.name for p in done_bytes) == ["a.mp4", "b.mkv", "c.mov"]  # nothing left of broken.mp4
    rerun = run_jobs(with_render_options(plan([clips], out), RenderOptions()), workers=2)
    assert {o.job.input.name: o.status for o in rerun}["a.mp4"] == "skipped"
    assert {p: sha256(p) for p in out.rglob("*") if p.is_file()} == done_bytes  # untouched
    table = summary(rerun)
    assert "broken.mp4" in table and table.splitlines()[-1].startswith("0 done, 3 skipped, 1 failed")


@pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av)
def test_the_filtered_frames_match_the_filter_applied_in_process(clips, tmp_path):
    """A worker's output is the filter of each input frame (frame for frame, within codec loss)."""
    import filters

    (target,) = [t for s, t in plan([clips / "b.mkv"], tmp_path / "b.mkv")]
    run_jobs([Job(clips / "b.mkv", target, RenderOptions(filters=["sketch"]))], workers=1)
    sketch = filters.get("sketch")
    for got, source in zip(decode_frames(target), decode_frames(clips / "b.mkv")):
        assert np.abs(got.astype(int) - sketch(source)).mean() < 4


def hidden(folder: Path) -> list[str]:
    """Hidden files (unfinished renders' temporary files) anywhere under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


@pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av)
def test_a_killed_worker_has_its_file_tried_again(tmp_path):
    """SIGKILL of a local worker mid-file: the file is rendered again, completely, and no temporary file stays."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        make_video(folder / f"{name}.mp4", 150, size=(320, 240), fps=30)
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


@pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av)
def test_a_worker_sent_sigterm_again_and_again_removes_its_file_once_and_the_file_is_rendered_again(tmp_path):
    """A killed parent's death signal comes once per thread of it: a worker sent SIGTERM every millisecond stops
    its render, removes the unfinished file (no partial, no temporary file), and the batch renders it again."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_video(folder / "a.mp4", 150, size=(320, 240), fps=30)
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


def test_the_render_progress_callback_gets_every_frame(tmp_path):
    source = make_video(tmp_path / "in.mp4", 14, audio=True)
    done: list[int] = []
    result = render(source, tmp_path / "out.mp4", lambda image, t: image, progress=done.append)
    assert sum(done) == len(done) == result.frames == 14


@pytest.mark.parametrize(("ext", "fps", "audio_codec"), [(".mp4", 30, "aac"), (".mkv", 25, "pcm_s16le")])
def test_start_and_end_give_that_second_of_video_and_audio(tmp_path, ext, fps, audio_codec):
    """--start 1 --end 2: the frames shown from 1 s to before 2 s, timestamps from 0, audio as long (ffprobe)."""
    source = make_video(tmp_path / f"in{ext}", 3 * fps, fps=fps, audio=True, audio_codec=audio_codec)
    out = tmp_path / "out.mp4"
    proc = cli_main("render", str(source), "-o", str(out), "--start", "1", "--end", "00:00:02.000", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    info = probe(out)
    frames, times, _ = decode(out)
    assert info.frames == fps and [frame_index(f) for f in frames] == list(range(fps, 2 * fps))
    assert times[0] == 0 and abs(info.video_duration - 1) < 1 / fps
    assert info.audio_codec == "aac" and abs(info.audio_duration - 1) < 1 / fps
    assert all(float(s.get("start_time", 0)) < 1 / fps for s in info.streams)


@pytest.mark.parametrize(("args", "needle"), [
    (["--start", "1:75"], "argument --start: must be seconds (e.g. 90.5) or HH:MM:SS.mmm"),
    (["--end", "-2"], "argument --end: must be seconds"),
    (["--start", "2", "--end", "1.5"], "--end (1.5 s) must be after --start (2 s)"),
    (["--crf", "52"], "argument --crf: must be a whole number from 0 to 51"),
    (["--speed", "warp"], "argument --speed: invalid choice: 'warp'"),
    (["--start", "10"], "has no video frames from 10 s to the end"),
])
def test_bad_ranges_and_quality_fail_in_one_line(tmp_path, args, needle):
    source = make_video(tmp_path / "in.mp4", 6)
    proc = cli_main("render", str(source), "-o", str(tmp_path / "out.mp4"), "--no-progress", *args)
    assert_one_line_error(proc, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


@pytest.mark.parametrize(("args", "cabac", "notes"), [
    (["--speed", "ultrafast"], "cabac=0", []),
    (["--preset", "veryfast"], "cabac=1", ["camfilters render: note: --preset is deprecated, use --speed (same values)"]),
])
def test_speed_and_its_old_name_preset_set_the_x264_speed(tmp_path, args, cabac, notes):
    """x264's settings string in the stream says the speed: ultrafast turns CABAC off, veryfast keeps it."""
    source = make_video(tmp_path / "in.mp4", 4)
    out = tmp_path / "out.mp4"
    proc = cli_main("render", str(source), "-o", str(out), "--no-progress", *args)
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stderr.splitlines() if "note:" in line] == notes
    assert f" {cabac} ".encode() in out.read_bytes()


def test_crf_sets_the_quality(tmp_path):
    """A higher CRF gives a smaller file of the same frames."""
    source = make_video(tmp_path / "in.mp4", 20, size=(320, 240))
    sizes = []
    for crf in (10, 40):
        out = tmp_path / f"crf{crf}.mp4"
        render(source, out, lambda image, t: image, RenderOptions(crf=crf, speed="ultrafast"), progress=False)
        assert probe(out).frames == 20
        sizes.append(out.stat().st_size)
    assert sizes[1] < sizes[0] / 2


@pytest.mark.slow  # worker processes (a spawned pool imports numba, cv2 and av)
def test_the_command_renders_a_folder_and_reports_a_corrupt_file_with_exit_1(clips, tmp_path):
    good = clips / "a.mp4"
    (clips / "broken.mp4").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    out = tmp_path / "out"
    proc = camfilters("render", str(clips), "-o", str(out), "--suffix=-e", "--ext", "mkv", "--filter", "edge",
                      "--jobs", "2", timeout=600)
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"failed  {clips / 'broken.mp4'}: " in proc.stderr
    assert f"done    {clips / 'a.mp4'} -> {out / 'a-e.mkv'} (12 frames" in proc.stderr
    assert proc.stdout.splitlines()[-1] == "3 done, 0 skipped, 1 failed, 30 frames"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a-e.mkv", "b-e.mkv", "day2/c-e.mkv"]
    assert probe(out / "day2" / "c-e.mkv").audio_codec == "aac"


def test_several_inputs_refuse_a_faces_csv_path_in_one_line(clips, tmp_path):
    pytest.importorskip("mediapipe")  # a lens is checked first (the face extra)
    proc = cli_main("render", str(clips / "a.mp4"), str(clips / "b.mkv"), "-o", str(tmp_path / "out"),
                      "--lens", "face-blur", "--faces-csv", str(tmp_path / "f.csv"))
    assert_one_line_error(proc, "with several inputs give --faces-csv without a path")
    assert proc.returncode == ExitCode.USAGE and not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_batch_killed_mid_file_keeps_no_partial_output_and_a_rerun_finishes_the_rest(tmp_path, sig):
    """The parent stopped (SIGTERM) or killed (SIGKILL): workers remove their unfinished files; the re-run
    renders only the rest, leaving the finished files' bytes alone, and removes a killed render's leftovers."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        make_video(folder / f"{name}.mp4", 120, size=(320, 240), fps=30, audio=True)
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
    rerun = camfilters(*command, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.splitlines()[-1] == f"{4 - len(finished)} done, {len(finished)} skipped, 0 failed, " \
                                            f"{120 * (4 - len(finished))} frames"
    assert {p.name: sha256(p) for p in out.iterdir() if p.name in finished} == finished
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert [probe(out / f"{n}.mp4").frames for n in "abcd"] == [120] * 4


@pytest.mark.face
@pytest.mark.slow
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
