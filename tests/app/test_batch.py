"""Batch render in this process: planning inputs from files, folders and globs, the progress count, time ranges
and quality options (the worker processes: test_batch_workers.py; stops and kills: test_batch_kills.py)."""

from __future__ import annotations

import pytest

from camfilters.batch import Outcome, _Frames, plan, with_render_options
from camfilters.errors import ExitCode, ParameterError
from camfilters.options import RenderOptions
from camfilters.render import render

from cli_helpers import assert_one_line_error, cli_main
from helpers import decode
from media import frame_index, make_video, probe


def test_plan_one_file_writes_to_the_output_file(clip_folder, tmp_path):
    assert plan([clip_folder / "a.mp4"], tmp_path / "out.mkv") == [(clip_folder / "a.mp4", tmp_path / "out.mkv")]


def test_plan_a_folder_keeps_relative_names_sorted(clip_folder, tmp_path):
    out = tmp_path / "out"
    assert plan([clip_folder], out) == [(clip_folder / "a.mp4", out / "a.mp4"),
                                        (clip_folder / "b.mkv", out / "b.mkv"),
                                        (clip_folder / "day2" / "c.mov", out / "day2" / "c.mov")]


def test_plan_a_glob_with_suffix_and_ext(clip_folder, tmp_path):
    out = tmp_path / "out"
    assert plan([str(clip_folder / "**" / "*.m[ko]v")], out, suffix="-blurred", ext="mkv") == [
        (clip_folder / "b.mkv", out / "b-blurred.mkv"), (clip_folder / "day2" / "c.mov", out / "day2" / "c-blurred.mkv")]


@pytest.mark.parametrize(("inputs", "match"), [
    (["missing.mp4"], r"no such file, folder or matching files: .*missing.mp4"),
    (["empty"], r"folder .*empty holds no video files"),
])
def test_plan_refuses_inputs_that_match_nothing(tmp_path, inputs, match):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match=match):
        plan([str(tmp_path / i) for i in inputs], tmp_path / "out")


def test_plan_refuses_two_inputs_landing_on_one_output(clip_folder, tmp_path):
    make_video(clip_folder / "a.mkv", 2)
    with pytest.raises(ParameterError, match=r"would both be written to .*a.mp4"):
        plan([clip_folder / "a.mp4", clip_folder / "a.mkv"], tmp_path / "out", ext="mp4")


def test_plan_refuses_a_file_as_the_folder_of_several_outputs(clip_folder, tmp_path):
    (tmp_path / "out.mp4").write_text("x")
    with pytest.raises(ParameterError, match=r"the output must be a folder"):
        plan([clip_folder], tmp_path / "out.mp4")


def test_a_finished_file_counts_its_frames_whatever_its_reports_and_in_whatever_order_they_come(clip_folder, tmp_path):
    """The progress bar's count: a done file's outcome tops up frames whose reports had not come (a worker's
    queue can deliver them after the result, seen under load), a report coming after the outcome is not
    counted twice, a restarted file takes back what it had reported, and a failed file keeps its count."""
    a, b, c = with_render_options(plan([clip_folder], tmp_path / "out"), RenderOptions(filters=["edge"]))
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


def test_several_inputs_refuse_a_faces_csv_path_in_one_line(clip_folder, tmp_path):
    pytest.importorskip("mediapipe")  # a lens is checked first (the face extra)
    proc = cli_main("render", str(clip_folder / "a.mp4"), str(clip_folder / "b.mkv"), "-o", str(tmp_path / "out"),
                      "--lens", "face-blur", "--faces-csv", str(tmp_path / "f.csv"))
    assert_one_line_error(proc, "with several inputs give --faces-csv without a path")
    assert proc.returncode == ExitCode.USAGE and not (tmp_path / "out").exists()
