"""The real preview window on Xvfb, driven with xdotool keys; each key's effect is checked."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli_helpers import cli_env, decode
from x11_close import request_close

pytestmark = [pytest.mark.gui, pytest.mark.timeout(300),
              pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool") and shutil.which("import")),
                                 reason="needs Xvfb, xdotool and ImageMagick (make test installs them)")]

W, H = 640, 360


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server; yields its DISPLAY value."""
    for number in range(90, 110):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.1)
    yield f":{number}"
    server.terminate()
    server.wait(10)


class App:
    """``camfilters run`` in a real window: send keys, read its log, take screenshots."""

    def __init__(self, display: str, tmp: Path, *args: str, env: dict[str, str]) -> None:
        self.display, self.tmp = display, tmp
        self.env = cli_env(DISPLAY=display, QT_QPA_PLATFORM="xcb", **env)
        self.log = tmp / "app.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "camfilters", "-v", "run", "--source", "demo", "--size", f"{W}x{H}", "--fps", "30",
             "--output-dir", str(tmp), *args],
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"), env=self.env, cwd=tmp)
        self.window = self._xdotool("search", "--sync", "--onlyvisible", "--name", "^camfilters$").split()[0]
        time.sleep(1.0)  # first frames, JIT warm

    def _xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], capture_output=True, text=True, env=self.env, timeout=30,
                              check=True).stdout

    def key(self, name: str, settle: float = 0.6) -> None:
        self._xdotool("windowfocus", "--sync", self.window)
        self._xdotool("key", "--clearmodifiers", name)
        time.sleep(settle)

    def text(self) -> str:
        return self.log.read_text()

    def wait_log(self, needle: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert time.monotonic() < deadline, f"{needle!r} not in log:\n{self.text()}"
            time.sleep(0.1)

    def screenshot(self, name: str) -> np.ndarray:
        """The window's picture as (H, W, 3) uint8 BGR, from an X screenshot."""
        path = self.tmp / f"{name}.png"
        subprocess.run(["import", "-window", self.window, str(path)], env=self.env, check=True, timeout=30)
        image = cv2.imread(str(path))
        assert image is not None
        return image

    def quit(self, key: str = "q") -> int:
        self.key(key, settle=0)
        return self.proc.wait(30)


@pytest.fixture
def app_factory(display, tmp_path):
    apps = []

    def make(*args: str) -> App:
        apps.append(App(display, tmp_path, *args, env=make.env_extra))
        return apps[-1]

    make.env_extra = {}
    yield make
    for app in apps:
        if app.proc.poll() is None:
            app.proc.kill()


def edge_like(image: np.ndarray) -> bool:
    """White-on-black edge maps are mostly dark with a few bright pixels."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return np.median(grey) < 40 and (grey > 128).mean() > 0.005


def test_keys_switch_filter_record_snapshot_and_quit(app_factory, tmp_path):
    app = app_factory("--filter", "identity")
    before = app.screenshot("identity")
    assert before.shape[:2] == (H, W)
    assert not edge_like(before)

    app.key("2")  # the first built-in after the command-line chain: edge
    app.wait_log("filter: edge")
    app.key("i")  # status bar off, so the picture is the bare filtered frame
    assert edge_like(app.screenshot("edge"))

    app.key("r", settle=2.0)
    app.wait_log("recording to")
    app.key("s")
    app.wait_log("snapshot saved")
    app.key("r")
    app.wait_log("saved ")
    assert app.quit() == 0

    [recording] = tmp_path.glob("camfilters-*.mp4")
    frames, times, _ = decode(recording)
    assert len(frames) >= 20 and frames[0].shape == (H, W, 3)
    assert edge_like(frames[len(frames) // 2])
    assert times[-1] - times[0] == pytest.approx(len(frames) / 30, rel=0.35)
    [snapshot] = tmp_path.glob("camfilters-*.png")
    shot = cv2.imread(str(snapshot))
    assert shot.shape == (H, W, 3) and edge_like(shot)


def test_pause_mirror_help_and_escape(app_factory):
    app = app_factory()
    app.key("i")  # hide the status bar: it changes every frame (fps)
    app.wait_log("status bar off")
    app.key("space")
    app.wait_log("paused")
    first, second = app.screenshot("paused1"), app.screenshot("paused2")
    np.testing.assert_array_equal(first, second)  # the demo animates, a paused picture does not
    app.key("m")  # mirroring applies to new frames
    app.wait_log("mirror on")
    app.key("space")
    app.wait_log("resumed")
    app.key("space")
    mirrored = app.screenshot("mirrored")
    assert not np.array_equal(mirrored, first)
    app.key("h")
    app.wait_log("help on")
    with_help = app.screenshot("help")
    centre = with_help[H // 3: 2 * H // 3, W // 3: 2 * W // 3]
    plain_centre = mirrored[H // 3: 2 * H // 3, W // 3: 2 * W // 3]
    assert centre.mean() < plain_centre.mean() * 0.8  # the help panel darkens the middle
    assert app.quit("Escape") == 0


def test_closing_the_window_quits(app_factory):
    app = app_factory()
    request_close(app.display, int(app.window))
    assert app.proc.wait(30) == 0


def test_virtual_cam_key_v_pauses_sending_with_window_and_recording(app_factory, tmp_path):
    """Window + --virtual-cam + --record: v sends black frames to the call instead of the picture, v again resumes."""
    from vcam_backend import read_log

    log_path = tmp_path / "vcam.jsonl"
    app_factory.env_extra.update(PYTHONPATH=str(Path(__file__).resolve().parent),
                                 CAMFILTERS_VCAM_BACKEND="vcam_backend:RecordingBackend",
                                 CAMFILTERS_VCAM_LOG=str(log_path))
    app = app_factory("--virtual-cam", "--record", str(tmp_path / "call.mp4"))
    app.key("v", settle=1.5)
    app.wait_log("virtual camera paused")
    app.key("v", settle=1.5)
    app.wait_log("virtual camera sending")
    assert app.quit() == 0
    means = [sum(e["mean"]) for e in read_log(log_path) if e["event"] == "frame"]
    black = [m < 1 for m in means]
    first_black, last_black = black.index(True), len(black) - 1 - black[::-1].index(True)
    assert first_black > 10 and all(black[first_black:last_black + 1])  # one unbroken pause
    assert last_black - first_black > 20 and not black[-1]
    recorded, _, _ = decode(tmp_path / "call.mp4")
    assert len(recorded) > len(means) * 0.8  # the recording does not pause with the virtual camera


def test_next_previous_and_face_lens_keys(app_factory):
    """n / p step through the filters; f loads the face stage on demand and cycles its lenses."""
    models = Path(__file__).resolve().parents[2].parent / "shared" / "models"
    app_factory.env_extra.update(CAMFILTERS_MODEL_DIR=str(models))
    app = app_factory()
    app.key("n")
    app.wait_log("filter: edge")
    app.key("n")
    app.wait_log("filter: cartoon")
    app.key("p")
    app.key("p")
    app.wait_log("filter: identity")
    app.key("f", settle=2.0)
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        app.wait_log('pip install "camfilters[face]"')
    else:
        app.wait_log("lens: mesh", timeout=30)
    assert app.quit() == 0
