"""The X server killed under a windowed recording: mostly Qt aborts the app (SIGABRT inside ``waitKey``,
no Python code runs) and the crash-safe file plays up to its last complete fragment or cluster;
sometimes the lost connection reads as a closed window and the run ends normally, the file finalised."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import pytest
from test_crash_safety import span_s
from test_window import start_xvfb

from cli_helpers import cli_env, popen, stop
from helpers import decode, wait_for_text
from media import probe

pytestmark = [pytest.mark.gui, pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("ffprobe")), reason="needs Xvfb and ffprobe")]

STARTUP_S = 300  # JIT start-up of the app on a loaded machine


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_killing_the_x_server_leaves_a_playable_recording(tmp_path, ext):
    """Xvfb killed 3 s into a recording: an abort, a normal end (exit 0) or an error line (exit 1), and all but
    the last second decodes."""
    out, log = tmp_path / f"out{ext}", tmp_path / "app.log"
    server, display = start_xvfb()
    try:
        with log.open("w") as stderr:
            app = popen([sys.executable, "-m", "camfilters", "-v", "run", "--source", "demo", "--size", "320x240",
                         "--fps", "30", "--record", str(out)], stdout=subprocess.DEVNULL, stderr=stderr,
                        env=cli_env(DISPLAY=display, QT_QPA_PLATFORM="xcb"), cwd=tmp_path)
        try:
            wait_for_text(log, f"recording to {out}", STARTUP_S)
            started = time.monotonic()
            while time.monotonic() < started + 3.0:  # a deadline, not a pause: the app must still be recording
                assert app.poll() is None, log.read_text()
                time.sleep(0.05)
            stop(server)
            recorded = time.monotonic() - started
            code = app.wait(60)
        finally:
            stop(app)
    finally:
        stop(server)
    assert code in (0, 1, -signal.SIGABRT), (code, log.read_text())
    frames, times, _ = decode(out)
    assert frames and frames[0].shape == (240, 320, 3)
    assert span_s(times) >= recorded - 1.0, (len(frames), span_s(times), recorded)
    assert probe(out).frames == len(frames)
