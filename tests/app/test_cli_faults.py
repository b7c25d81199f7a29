"""Faults a new user runs into, through the ``camfilters`` command (in this process with `cli_main`, or in
a process of its own where that is what is tested): each ends in one line, the documented exit code, no
traceback, and the files that must survive keep their bytes (sha256)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from camfilters.errors import EndReason, ExitCode, ParameterError, StageFailed, exit_code

from cli_helpers import assert_one_line_error, camfilters, cli_env, cli_main
from helpers import decode, sha256

pytestmark = pytest.mark.timeout(240)



def ffmpeg_clip(path: Path, size: str, frames: int, *, args: tuple[str, ...] = ()) -> Path:
    """A test-pattern clip of ``frames`` frames at 10 fps made by the ffmpeg command line."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=10",
                    "-frames:v", str(frames), *args, str(path)], check=True, timeout=120)
    return path


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def assert_one_line(proc: subprocess.CompletedProcess, code: ExitCode, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert_one_line_error(proc, *needles)


# -- 1. a recording never replaces its source ------------------------------------------------------
@pytest.mark.parametrize("how", ["same-name", "hard-link", "symlink"])
def test_recording_onto_the_source_is_refused_even_with_y(how, tmp_path):
    """--record naming the --source file (itself, a hard link, a symlink) is refused; the source is untouched."""
    source = ffmpeg_clip(tmp_path / "clip.mkv", "64x48", 10)
    before = sha256(source)
    record = {"same-name": source, "hard-link": tmp_path / "hard.mkv", "symlink": tmp_path / "sym.mkv"}[how]
    if how == "hard-link":
        os.link(source, record)
    elif how == "symlink":
        record.symlink_to(source)
    proc = cli_main("run", "--source", str(source), "--record", str(record), "-y", "--no-window")
    assert_one_line(proc, ExitCode.ERROR, "it is the source file", "-y never replaces the source")
    assert sha256(source) == before


# -- 2. NaN and infinity -----------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["run", "--duration", "nan"], ["run", "--duration", "inf"], ["run", "--fps", "inf"], ["run", "--fps", "NaN"],
    ["run", "--duration=-inf"], ["bench", "--loop-seconds", "nan"], ["bench", "--loop-fps", "inf"],
], ids=lambda a: " ".join(a))
def test_nan_and_infinity_are_usage_errors(args):
    """Refused before anything starts (``--duration nan`` used to run forever)."""
    option, value = args[1].split("=") if "=" in args[1] else args[1:]
    proc = cli_main(*args, "--no-window" if args[0] == "run" else "--json")
    assert_one_line(proc, ExitCode.USAGE, f"argument {option}: must be a ", f"got {value!r}")


# -- 3. names longer than the file system takes -------------------------------------------------------
LONG = "n" * 300


@pytest.mark.parametrize("option", ["--source", "--record", "--face-model", "--segmentation-model", "--output-dir"])
def test_paths_longer_than_255_bytes_are_one_line(option, tmp_path):
    """Refused as a usage error before anything starts (render's own paths: tests/app/test_render_safety.py)."""
    args = ["run", "--source", "demo", option, str(tmp_path / f"{LONG}.mp4"), "--no-window", "--max-frames", "1"]
    proc = cli_main(*args, cwd=tmp_path)
    assert_one_line(proc, ExitCode.USAGE, "bytes long", "more than the 255")
    assert os.listdir(tmp_path) == []


# -- 4. the model cache folder ---------------------------------------------------------------------
@pytest.mark.slow
def test_model_folder_that_cannot_be_created_is_one_line_with_the_fix(tmp_path):
    pytest.importorskip("mediapipe")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    before = sha256(blocker)
    matplotlib = pytest.importorskip("matplotlib")  # mediapipe imports it; it caches under XDG_CACHE_HOME too
    pytest.importorskip("matplotlib.font_manager")  # builds its font cache here, not in the command
    env = cli_env(XDG_CACHE_HOME=str(blocker / "cache"), CAMFILTERS_MODEL_URL="http://127.0.0.1:9",
                  MPLCONFIGDIR=matplotlib.get_cachedir())  # its usual folder, font cache built
    env.pop("CAMFILTERS_MODEL_DIR", None)
    proc = camfilters("run", "--source", "demo", "--lens", "glasses", "--no-window", "--max-frames", "1", env=env)
    assert_one_line(proc, ExitCode.ERROR, str(blocker / "cache" / "camfilters" / "models"),
                    "cannot be created or written", "CAMFILTERS_MODEL_DIR", "--face-model PATH")
    assert sha256(blocker) == before


# -- 5. Ctrl-C while starting up ---------------------------------------------------------------------
def _imports_numpy(pid: int) -> bool:
    """Whether the process has loaded numpy's core (the camfilters imports are under way, past site.py)."""
    try:
        return "_multiarray_umath" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return True  # already gone: let communicate() tell


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.2, 0.3, 0.4])
def test_ctrl_c_during_start_up_exits_quietly_with_130(delay, tmp_path):
    """SIGINT during imports / argparse / warm-up: exit 130, at most one line, no traceback, nothing written.

    Timed from the moment numpy is loaded: a SIGINT inside the interpreter's own site.py, before any
    camfilters code runs, is Python's to report.
    """
    proc = subprocess.Popen([sys.executable, "-m", "camfilters", "run", "--source", "demo", "--no-window",
                             "--duration", "30", "--output-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_until(lambda: _imports_numpy(proc.pid), 60, "numpy to be imported")
        time.sleep(delay)  # the timing under test, not a wait for a condition
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    assert os.listdir(tmp_path) == []


# -- 6. an X display nobody serves -------------------------------------------------------------------
@pytest.mark.slow  # a process: were the check to miss, Qt would abort it
def test_unreachable_display_is_one_line_not_a_qt_abort(tmp_path):
    number = next(n for n in range(99, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    proc = camfilters("run", "--source", "demo", "--max-frames", "3", env=cli_env(DISPLAY=f":{number}"),
                      cwd=tmp_path, timeout=60)
    assert_one_line(proc, ExitCode.ERROR, f"cannot reach the X display :{number}", "--no-window")
    assert os.listdir(tmp_path) == []


# -- 8. misleading endings -----------------------------------------------------------------------------
@pytest.mark.slow  # 5 s: two frames at 0.4 fps
def test_demo_below_half_a_frame_per_second_is_slow_not_a_dead_source():
    proc = camfilters("run", "--source", "demo", "--size", "64x48", "--fps", "0.4", "--max-frames", "2",
                      "--no-window", timeout=120)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert re.fullmatch(r"camfilters: 2 frames in [\d.]+ s \([\d.]+ fps\), 0 dropped\n", proc.stderr)  # no failure


def test_two_by_two_source_plays_and_refuses_to_record_with_the_fix(tmp_path):
    source = ffmpeg_clip(tmp_path / "tiny.avi", "2x2", 5, args=("-c:v", "mjpeg", "-pix_fmt", "yuvj444p"))
    assert cli_main("run", "--source", str(source), "--no-window").returncode == ExitCode.OK
    out = tmp_path / "out.mp4"
    proc = cli_main("run", "--source", str(source), "--record", str(out), "--no-window")
    assert_one_line(proc, ExitCode.ERROR, "cannot record 2x2 frames", "--size")
    assert not out.exists()
    proc = cli_main("run", "--source", str(source), "--size", "160x120", "--record", str(out), "--no-window")
    assert proc.returncode == ExitCode.OK, proc.stderr
    frames, _, _ = decode(out)
    assert len(frames) == 5 and frames[0].shape == (120, 160, 3)


def test_truncated_file_keeps_what_decoded_and_exits_3(tmp_path):
    """An MP4 cut in the middle of its media data: one line saying so, exit 3, the frames before the cut recorded."""
    whole = ffmpeg_clip(tmp_path / "whole.mp4", "160x120", 60,
                        args=("-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "5", "-movflags", "+faststart"))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    before = sha256(cut)
    out = tmp_path / "out.mkv"
    proc = cli_main("run", "--source", str(cut), "--record", str(out), "--no-window", "-v")
    assert proc.returncode == ExitCode.SOURCE, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "truncated or corrupt" in errors[0] and "of its 60 frames" in errors[0], proc.stderr
    frames, _, _ = decode(out)
    assert 5 < len(frames) < 60
    assert f"decoding stopped after {len(frames)} of its 60 frames" in errors[0]
    assert sha256(cut) == before


# -- 9. structured errors ---------------------------------------------------------------------------
def test_a_parameter_error_mid_run_is_a_stage_failure_naming_the_stage():
    """A stage that raises ParameterError on a frame: StageFailed naming that stage (not the chain), exit 1."""
    import numpy as np

    import filters
    from camfilters.pipeline import FilterStage, Pipeline

    class Picky:
        name = "picky"

        def process(self, image, timestamp):
            raise ParameterError("frames must be at least 8x8")

    inner = Pipeline([FilterStage(filters.get("identity")), Picky()])
    outer = Pipeline([FilterStage(filters.get("identity")), inner])
    with pytest.raises(StageFailed, match=r"stage 'picky' failed: ParameterError: frames must be at least 8x8") as info:
        outer.process(np.zeros((4, 4, 3), np.uint8), 0.0)
    assert info.value.stage == "picky"
    assert exit_code(info.value) == ExitCode.ERROR


def test_end_reasons_map_to_exit_codes():
    codes = {reason: reason.exit_code for reason in EndReason}
    assert {r for r, c in codes.items() if c == ExitCode.SOURCE} == {EndReason.SOURCE_LOST, EndReason.SOURCE_CORRUPT}
    assert {c for r, c in codes.items() if r not in (EndReason.SOURCE_LOST, EndReason.SOURCE_CORRUPT)} == {ExitCode.OK}


# -- 7. hotkey recordings and snapshots -----------------------------------------------------------------
def test_hotkey_failures_are_logged_and_the_session_goes_on(tmp_path, caplog):
    """r and s into a folder that went away: one error line each, no exception; -2 suffixes for taken names."""
    import logging
    from datetime import datetime, timedelta

    import numpy as np

    from camfilters.live import LiveOptions, LiveSession

    folder = tmp_path / "out"
    session = LiveSession(LiveOptions(source="demo", window=False, output_dir=folder))
    session._last = np.zeros((48, 64, 3), np.uint8)
    with caplog.at_level(logging.INFO, logger="camfilters"):
        assert session.handle_key(ord("s"), (64, 48), 30.0)
        assert session.handle_key(ord("r"), (64, 48), 30.0)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and all("the session goes on" in e and str(folder) in e for e in errors), errors
    assert session.recorder is None and session.stats.snapshots == []

    folder.mkdir()
    now = datetime.now()
    taken = [folder / f"camfilters-{now + timedelta(seconds=k):%Y%m%d-%H%M%S}.png" for k in range(3)]
    for path in taken:
        path.write_bytes(b"keep")
    session.snapshot()
    (saved,) = session.stats.snapshots
    assert saved.name.endswith("-2.png") and saved.with_name(saved.name.replace("-2.png", ".png")) in taken
    assert all(path.read_bytes() == b"keep" for path in taken)


@pytest.mark.gui
@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool")
def test_missing_output_dir_is_created_and_hotkey_failures_do_not_end_the_session(tmp_path):
    """In a real window: the folder is created at start; after it is removed, r and s fail with one line
    each and the session goes on (a later s saves again, q quits with 0)."""
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            display = ":" + pipe.readline().strip()
        env = cli_env(DISPLAY=display, QT_QPA_PLATFORM="xcb")
        folder = tmp_path / "new" / "shots"
        log_path = tmp_path / "app.log"
        with log_path.open("w") as log_file:
            app = subprocess.Popen([sys.executable, "-m", "camfilters", "run", "--source", "demo", "--size", "160x120",
                                    "--output-dir", str(folder)], stderr=log_file, env=env, cwd=tmp_path)
        try:
            window = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "^camfilters$"],
                                    capture_output=True, text=True, env=env, timeout=120, check=True).stdout.split()[0]

            def key(name: str) -> None:
                subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, timeout=30, check=True)
                subprocess.run(["xdotool", "key", "--clearmodifiers", name], env=env, timeout=30, check=True)

            def wait_log(needle: str, count: int = 1) -> None:
                wait_until(lambda: log_path.read_text().count(needle) >= count, 60, f"{needle!r} in the log")

            wait_log(f"created {folder}")
            key("s")
            wait_log("snapshot saved to")
            shutil.rmtree(folder)
            key("s")
            wait_log("the session goes on")
            key("r")
            wait_log("the session goes on", 2)
            folder.mkdir()
            key("s")
            wait_log("snapshot saved to", 2)
            key("q")
            assert app.wait(60) == ExitCode.OK
        finally:
            app.kill()
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    text = log_path.read_text()
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if "error:" in line]
    assert len(errors) == 2 and any("snapshot" in e for e in errors) and any(".mp4" in e for e in errors), text
    assert len(list(folder.glob("camfilters-*.png"))) == 1
