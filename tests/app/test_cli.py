"""The ``camfilters`` command end to end: in this process (`cli_main`), and in subprocesses, as a user runs
it, for what needs a process (signals, plugins, missing extras; marked slow)."""

from __future__ import annotations

import os
import re
import signal
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

import filters
from camfilters.errors import ExitCode

from cli_helpers import assert_one_line_error, camfilters, cli_env, cli_main, popen, stop
from helpers import MODELS, decode, mean_abs, plugin_site, wait_for_text
from media import make_video

pytestmark = pytest.mark.timeout(240)


def test_help_lists_hotkeys_and_examples():
    proc = cli_main("run", "--help")
    assert proc.returncode == 0
    for text in ("space", "snapshot", "--filter", "--record", "camfilters render", "--virtual-cam"):
        assert text in proc.stdout


def test_run_headless_from_file_records_every_filtered_frame(clip, tmp_path):
    """Every frame of the file goes through the chain into the recording, in order."""
    out = tmp_path / "rec.mp4"
    proc = cli_main("run", "--source", str(clip), "--filter", "blur:ksize=7", "--filter", "edge",
                    "--record", str(out), "--no-window", "-v")
    assert proc.returncode == 0, proc.stderr
    recorded, times, _ = decode(out)
    inputs, _, _ = decode(clip)
    assert len(recorded) == len(inputs) == 48
    assert recorded[0].shape == (120, 160, 3)
    chain = [filters.parse("blur:ksize=7"), filters.parse("edge")]
    for k in (0, 17, 47):
        expected = chain[1](chain[0](inputs[k]))
        assert mean_abs(recorded[k], expected) < 6, k  # H.264 of an edge map, decoded input
        if k:
            assert mean_abs(recorded[k], chain[1](chain[0](inputs[k - 7]))) > mean_abs(recorded[k], expected)
    assert times == sorted(times)
    assert f"saved {out} (48 frames)" in proc.stderr


def test_render_keeps_count_rate_duration_and_audio(tmp_path):
    src = make_video(tmp_path / "in.mp4", 45, size=(128, 96), fps=30, audio=True)
    dst = tmp_path / "out.mkv"
    proc = cli_main("render", str(src), "-o", str(dst), "--filter", "sketch", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    import av

    with av.open(str(src)) as a, av.open(str(dst)) as b:
        va, vb = a.streams.video[0], b.streams.video[0]
        assert b.streams.audio, "audio was dropped"
        assert float(vb.average_rate) == pytest.approx(float(va.average_rate), rel=0.01)
        assert abs(float(b.duration - a.duration) / 1e6) < 0.05
    frames, _, _ = decode(dst)
    inputs, _, _ = decode(src)
    assert len(frames) == 45
    assert mean_abs(frames[20], filters.get("sketch")(inputs[20])) < 6


def test_list_shows_filters_options_and_lenses():
    proc = cli_main("list")
    assert proc.returncode == 0
    for name in filters.available():
        assert re.search(rf"^  {name}\b", proc.stdout, re.M), name
    assert "ksize=" in proc.stdout and "glasses" in proc.stdout and "bg-blur" in proc.stdout


def test_list_describes_filters_and_lenses_in_one_style_with_plain_defaults():
    """Every entry is "  NAME  summary" then "      key=default  help" lines, for lenses as for filters; defaults
    read as typed in a spec (none, true, false), never Python's None, True or False."""
    proc = cli_main("list")
    entries = [line for line in proc.stdout.splitlines() if line.startswith("  ") and not line.startswith("      ")]
    options = [line for line in proc.stdout.splitlines() if line.startswith("      ")]
    assert all(re.fullmatch(r"  (--)?[a-z][a-z0-9-]* +[a-z(].*", line) for line in entries), entries
    assert all(re.fullmatch(r"      [a-z_]+=\S.*  \S.*", line) for line in options), options
    assert "      threshold=none  " in proc.stdout and "      color=false  " in proc.stdout  # edge's options
    assert "      tint=0.85  opacity" in proc.stdout  # glasses: a lens option on its own line too
    assert not re.search(r"\b(None|True|False)\b", proc.stdout)


@pytest.mark.parametrize("command", ["run", "render", "list", "presets", "devices", "explain", "bench"])
def test_every_command_help_has_a_description(command):
    """`camfilters COMMAND --help`: the usage, then a sentence saying what the command does."""
    from camfilters.cli import COMMANDS

    assert command in COMMANDS
    proc = cli_main(command, "--help")
    assert proc.returncode == 0
    description = proc.stdout.split("\n\n")[1]
    assert not description.lstrip().startswith(("positional", "options")) and len(description.split()) >= 5, \
        proc.stdout[:400]


def test_an_unknown_lens_is_a_usage_error_before_the_display_check():
    """Without a display, `run --lens nosuch` names the lens (exit 2), not the missing display (exit 1)."""
    proc = cli_main("run", "--source", "demo", "--lens", "nosuch")
    assert proc.returncode == ExitCode.USAGE
    assert_one_line_error(proc, "unknown lens 'nosuch'")


@pytest.mark.parametrize("source", ["demo", "7"])
def test_no_window_with_nothing_to_save_or_send_needs_a_bound(source):
    """`run --no-window` without --record or --virtual-cam would do nothing visible forever: refused with the
    fix (exit 2, nothing started); with --max-frames it is a trial run."""
    proc = cli_main("run", "--source", source, "--no-window")
    assert proc.returncode == ExitCode.USAGE
    assert_one_line_error(proc, "shows, saves and sends nothing", "--record", "--duration / --max-frames")
    if source == "demo":
        proc = cli_main("run", "--source", source, "--no-window", "--max-frames", "2")
        assert proc.returncode == ExitCode.OK and "2 frames in" in proc.stderr, proc.stderr


def test_devices_without_cameras_says_what_to_do():
    proc = cli_main("devices")
    assert proc.returncode == 0
    assert "no cameras found" in proc.stdout and "--source" in proc.stdout


def test_explain_prints_the_worked_example(tmp_path):
    png = tmp_path / "explain.png"
    proc = cli_main("explain", "--kernel", "0 1; 1 0", "--input", "1 2 3; 4 5 6; 7 8 9", "-o", str(png))
    assert proc.returncode == 0, proc.stderr
    assert "   6  8\n  12 14" in proc.stdout
    assert "out[0, 0] = 1*0 + 2*1 + 4*1 + 5*0 = 6" in proc.stdout
    picture = cv2.imread(str(png))
    assert picture is not None and picture.shape[1] > 2 * picture.shape[0]


@pytest.mark.parametrize("args, needles", [
    (["run", "--filter", "edgy", "--no-window"], ["unknown filter 'edgy'", "valid filters: blur"]),
    (["run", "--filter", "blur:ksize=4", "--no-window"], ["ksize", "odd"]),
    (["run", "--source", "7", "--no-window", "--max-frames", "1"], ["camera 7", "camfilters devices"]),
    (["run", "--source", "/nonexistent/clip.mp4", "--no-window"], ["/nonexistent/clip.mp4"]),
    (["run", "--source", "demo", "--record", "/nonexistent/dir/out.mp4", "--no-window"], ["/nonexistent/dir"]),
    (["run", "--source", "demo", "--max-frames", "3"], ["display", "--no-window"]),
    (["run", "--size", "big"], ["1280x720"]),
    (["explain", "--kernel", "1 2; 3"], ["--kernel", "equal-length rows"]),
    (["render", "/nonexistent.mp4", "-o", "x.mp4"], ["/nonexistent.mp4"]),
    (["frobnicate"], ["invalid choice"]),
], ids=["filter", "option", "camera", "file", "record-path", "no-display", "size", "explain", "render", "command"])
def test_errors_are_one_line_without_traceback(args, needles, tmp_path):
    assert_one_line_error(cli_main(*args, cwd=tmp_path), *needles)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "code"), [(["run", "--source", "7", "--no-window", "--max-frames", "1"],
                                             ExitCode.SOURCE),
                                            (["frobnicate"], ExitCode.USAGE)], ids=["camera", "command"])
def test_errors_through_the_real_command_are_one_line_with_their_exit_code(args, code, tmp_path):
    """As above, in a process of its own: nothing else reaches stderr (OpenCV's own warnings included)."""
    proc = camfilters(*args, cwd=tmp_path)
    assert proc.returncode == code
    assert_one_line_error(proc)


@pytest.mark.slow
def test_lens_without_mediapipe_gives_install_hint():
    proc = camfilters("run", "--source", "demo", "--lens", "glasses", "--no-window", "--max-frames", "2",
                      blocked={"mediapipe"})
    assert_one_line_error(proc, 'pip install "camfilters[face]"')


@pytest.mark.slow
def test_virtual_cam_without_pyvirtualcam_gives_install_hint():
    proc = camfilters("run", "--source", "demo", "--virtual-cam", "--no-window", "--max-frames", "2",
                      blocked={"pyvirtualcam"})
    assert_one_line_error(proc, 'pip install "camfilters[vcam]"')


def _frames_logged(stderr: str) -> int:
    return int(re.search(r"\((\d+) frames\)", stderr).group(1))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_recording_survives_signals(sig, tmp_path):
    """Ctrl-C / SIGTERM mid-recording leave a finalised file holding every frame processed."""
    out, log_path = tmp_path / "rec.mp4", tmp_path / "stderr.txt"
    with log_path.open("w") as log_file:
        proc = popen([sys.executable, "-m", "camfilters", "run", "--source", "demo", "--size", "320x240",
                      "--fps", "30", "--filter", "edge", "--record", str(out), "--no-window", "-v"],
                     stderr=log_file, env=cli_env())
    try:  # recording, and a few status lines (one a second) later
        wait_for_text(log_path, "status: ", timeout=120, count=3)
        proc.send_signal(sig)
        code = proc.wait(60)
    finally:
        stop(proc)
    err = log_path.read_text()
    assert code == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err
    said = [line for line in err.splitlines() if "stopp" in line]
    assert len(said) == 1, err  # said once: "stopped" after Ctrl-C; SIGTERM's arrival line, not "stopped" again
    frames, times, _ = decode(out)
    written = _frames_logged(err)
    assert written > 10 and len(frames) == written
    assert frames[0].shape == (240, 320, 3)


def test_recording_survives_a_source_that_dies(tmp_path):
    """A network camera that stops mid-stream: one error line, exit 3, the file holds every frame shown."""
    from mjpeg_server import MJPEGServer

    out = tmp_path / "rec.mp4"
    with MJPEGServer(fps=20, size=(160, 120), max_frames=40) as server:
        proc = cli_main("run", "--source", server.url, "--filter", "edge", "--record", str(out), "--no-window", "-v")
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    frames, _, _ = decode(out)
    assert len(frames) == _frames_logged(proc.stderr) > 5


def with_path(*folders: Path | str) -> str:
    """A PYTHONPATH with ``folders`` in front of this worktree's (so the subprocess runs this code)."""
    return os.pathsep.join([*map(str, folders), os.environ.get("PYTHONPATH", "")])


@pytest.mark.slow
@pytest.mark.parametrize("error", ["ZeroDivisionError", "ParameterError"])
def test_recording_survives_a_stage_that_raises(error, tmp_path):
    """A plugin filter that raises on frame 15: one error line naming that stage, exit 1 (a ParameterError
    mid-run is a runtime error, not a usage error), the 14 frames before it are in the file."""
    site = plugin_site(tmp_path, "failing-plugin", "[camfilters.filters]\nfails = failing_plugin\n", {"failing_plugin": textwrap.dedent('''
        import numpy as np
        from filters import Filter, ParameterError, register_filter

        @register_filter("fails")
        class Fails(Filter):
            """Copies frames, then raises on the 15th 160x120 frame (warm-up frames are smaller)."""
            calls = 0

            def _apply(self, src, out):
                Fails.calls += src.shape == (120, 160, 3)
                if Fails.calls == 15:
                    raise ERROR("frame 15 is cursed")
                out[...] = src
        ''').replace("ERROR", error)})
    out = tmp_path / "rec.mp4"
    proc = camfilters("run", "--source", "demo", "--size", "160x120", "--filter", "blur", "--filter", "fails",
                      "--record", str(out), "--no-window", env=cli_env(PYTHONPATH=with_path(site)))
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"error: stage 'fails' failed: {error}: frame 15 is cursed" in proc.stderr
    frames, _, _ = decode(out)
    assert len(frames) == 14


@pytest.mark.slow
def test_list_skips_a_plugin_that_calls_sys_exit_and_exits_0(tmp_path):
    """A plugin whose import calls sys.exit(3) is named and skipped: `camfilters list` still lists and exits 0."""
    site = plugin_site(tmp_path, "quitting-plugin", "[camfilters.filters]\nquitter = quitting_plugin\n",
                       {"quitting_plugin": "import sys\nsys.exit(3)\n"})
    proc = camfilters("list", env=cli_env(PYTHONPATH=with_path(site)))
    assert proc.returncode == 0, proc.stderr
    assert "filter plugin 'quitter'" in proc.stderr and "SystemExit: 3" in proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ") and line[2] != " "]
    assert "blur" in listed and "quitter" not in listed


def vcam_env(log_path) -> dict[str, str]:
    """Environment that makes --virtual-cam send to the recording test backend (tests/app/vcam_backend.py)."""
    here = str(Path(__file__).resolve().parent)
    return cli_env(PYTHONPATH=with_path(here), CAMFILTERS_VCAM_BACKEND="vcam_backend:RecordingBackend",
                   CAMFILTERS_VCAM_LOG=str(log_path))


def test_virtual_cam_with_recording_gets_the_filtered_frames(clip, tmp_path, monkeypatch):
    """--virtual-cam with --record: the file gets all 48 filtered frames; the call app gets filtered frames
    in order from a latest-frame-wins sender (which may skip some when the machine is busy)."""
    pyvirtualcam = pytest.importorskip("pyvirtualcam")
    from vcam_backend import RecordingBackend, read_log

    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", dict(pyvirtualcam.camera.BACKENDS))  # registered here only
    monkeypatch.setattr(RecordingBackend, "instances", [])

    log_path, out = tmp_path / "vcam.jsonl", tmp_path / "rec.mp4"
    proc = cli_main("run", "--source", str(clip), "--filter", "sketch", "--virtual-cam", "--record", str(out),
                    "--no-window", "-v", env=vcam_env(log_path))
    assert proc.returncode == 0, proc.stderr
    events = read_log(log_path)
    opened = events[0]
    assert opened["event"] == "open" and (opened["width"], opened["height"]) == (160, 120)
    assert opened["fps"] == pytest.approx(24)
    frames = [e for e in events if e["event"] == "frame"]
    assert 0 < len(frames) <= 48 and events[-1]["event"] == "close"
    recorded, _, _ = decode(out)
    assert len(recorded) == 48
    means = np.array([r.reshape(-1, 3).mean(0) for r in recorded])
    for frame in frames:  # each sent frame is one of the filtered frames, as recorded, and they come in order
        distance = np.abs(means - np.array(frame["mean"])).max(axis=1)
        assert distance.min() < 3, distance.min()
    assert [e["t"] for e in frames] == sorted(e["t"] for e in frames)
    assert "status: sketch" in proc.stderr and "vcam /dev/video-recording" in proc.stderr


def test_virtual_cam_missing_device_is_one_line(tmp_path):
    proc = cli_main("run", "--source", "demo", "--virtual-cam", "/dev/video42", "--no-window", "--max-frames", "3")
    assert_one_line_error(proc, "modprobe v4l2loopback")


@pytest.mark.slow
def test_mismatched_opencv_wheels_stop_with_the_fix(tmp_path):
    """A second OpenCV wheel of another version in cv2/ (the mediapipe trap): one line with the fix, which
    removes the other wheel and reinstalls the contrib one at the version installed here."""
    from importlib.metadata import version

    site = tmp_path / "site"
    dist = site / "opencv_python-4.12.0.88.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: opencv-python\nVersion: 4.12.0.88\n")
    proc = camfilters("list", env=cli_env(PYTHONPATH=with_path(site)))
    assert_one_line_error(proc, "opencv-python 4.12.0.88", "pip uninstall -y opencv-python",
                          f'"opencv-contrib-python=={version("opencv-contrib-python")}"')


@pytest.mark.face
def test_lenses_through_the_cli_draw_on_the_face_only(tmp_path, astronaut):
    """`run --lens glasses` on a clip of the astronaut: the eyes get dark lenses, the far background is untouched."""
    pytest.importorskip("mediapipe")
    from camfilters.recording import Recorder

    models = MODELS
    if not (models / "face_landmarker.task").is_file():
        pytest.skip(f"no MediaPipe models in {models}")
    photo = astronaut
    clip_path = tmp_path / "astronaut.mkv"
    with Recorder(clip_path, (512, 512), fps=10) as rec:
        for k in range(30):
            rec.write(photo, k / 10)
    out = tmp_path / "glasses.mp4"
    proc = camfilters("run", "--source", str(clip_path), "--lens", "glasses", "--record", str(out), "--no-window",
                      env=cli_env(CAMFILTERS_MODEL_DIR=str(models)))
    assert proc.returncode == 0, proc.stderr
    frames, _, _ = decode(out)
    inputs, _, _ = decode(clip_path)
    assert len(frames) == 30
    last, original = frames[-1], inputs[-1]
    eyes = (slice(95, 135), slice(180, 270))  # the eye band inside the face box (x=177, y=82, 95x95)
    far = (slice(0, 60), slice(380, 512))      # top-right background
    assert mean_abs(last[eyes], original[eyes]) > 25  # dark lenses over the eyes
    assert mean_abs(last[far], original[far]) < 2


@pytest.mark.slow
def test_bench_command_reports_the_naive_loop_speedup_as_json():
    """`camfilters bench --json -` prints parseable JSON with real measurements (the naive section here)."""
    import json

    proc = camfilters("bench", "--quick", "--sections", "naive", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    naive = json.loads(proc.stdout)["naive"]
    assert naive["speedup"] == pytest.approx(naive["naive_ms"] / naive["ours_ms"])
    assert naive["naive_ms"] > 0 and naive["ours_ms"] > 0 and naive["max_abs_diff"] < 1e-2  # speed: the bench's job
