"""The real preview window on Xvfb, driven with xdotool keys; each key's effect is checked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from camfilters.overlay import Toasts

from cli_helpers import cli_env, popen, stop
from helpers import MODELS, decode, wait_for, wait_for_text
from x11_close import request_close

pytestmark = [pytest.mark.gui, pytest.mark.timeout(300),
              pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool") and shutil.which("import")),
                                 reason="needs Xvfb, xdotool and ImageMagick (make test installs them)")]

W, H = 640, 360
#: how long a step may take on a loaded machine (both cores busy): generous, it costs nothing when quiet
STEP_S = 60


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """A private Xvfb server (a `popen` process: end it with `stop`) and its DISPLAY value.

    ``-displayfd`` makes Xvfb pick a free display number itself and write it once it
    accepts connections: no guessed numbers. In one full run the app could still not connect to
    the display reported (`test_edges_xkill`, after other tests had killed their servers), so the
    socket is checked with a connection of our own, and the server started again if it takes none.
    """
    for _ in range(3):
        read_fd, write_fd = os.pipe()
        server = popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,))
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # blocks until ready; empty if Xvfb died
        if number.isdigit() and _accepts(f"/tmp/.X11-unix/X{number}"):
            return server, f":{number}"
        stop(server)
    pytest.fail(f"Xvfb did not start or took no connection (exit code {server.poll()})")


def _accepts(path: str) -> bool:
    """Whether the X server's socket at ``path`` takes a connection."""
    import socket

    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect(path)
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server for the module; yields its DISPLAY value."""
    server, name = start_xvfb()
    try:
        yield name
    finally:
        stop(server)


class App:
    """``camfilters run`` in a real window: send keys, read its log, take screenshots.

    Nothing here sleeps for a fixed time: each step waits for what it needs (a log line,
    a picture) with a deadline, so the tests hold on a busy machine.
    """

    def __init__(self, display: str, tmp: Path, *args: str, env: dict[str, str]) -> None:
        self.display, self.tmp = display, tmp
        self.env = cli_env(DISPLAY=display, QT_QPA_PLATFORM="xcb", **env)
        self.log = tmp / "app.log"
        self.shots = 0
        #: how long a toast stays (s): the default unless the test gave ``--toast-seconds``
        self.toast_seconds = float(args[args.index("--toast-seconds") + 1]) if "--toast-seconds" in args \
            else Toasts().seconds
        with self.log.open("w") as log:
            self.proc = popen(
                [sys.executable, "-m", "camfilters", "-v", "run", "--source", "demo", "--size", f"{W}x{H}", "--fps",
                 "30", "--output-dir", str(tmp), *args], stdout=subprocess.DEVNULL, stderr=log, env=self.env, cwd=tmp)
        try:  # this process's window: the one a test quit just before can outlive its process for a moment
            self.window = self._xdotool("search", "--sync", "--onlyvisible", "--pid", str(self.proc.pid), "--name",
                                        "^camfilters$", timeout=STEP_S).split()[0]
        except BaseException:
            stop(self.proc)
            raise

    def _xdotool(self, *args: str, timeout: float = 30) -> str:
        return subprocess.run(["xdotool", *args], capture_output=True, text=True, env=self.env, timeout=timeout,
                              check=True).stdout

    def key(self, name: str) -> None:
        """Press ``name`` in the window; its effect shows in a later frame: wait for it with `wait_log`."""
        self._xdotool("windowfocus", "--sync", self.window)
        self._xdotool("key", "--clearmodifiers", name)

    def text(self) -> str:
        return self.log.read_text()

    def wait_log(self, needle: str, count: int = 1) -> None:
        """Wait until ``needle`` appears ``count`` times in the app's log."""
        wait_for_text(self.log, needle, STEP_S, count)

    def screenshot(self, name: str | None = None) -> np.ndarray:
        """The window's picture as (H, W, 3) uint8 BGR, from an X screenshot."""
        self.shots += 1
        path = self.tmp / f"{name or f'shot{self.shots}'}.png"
        subprocess.run(["import", "-window", self.window, str(path)], env=self.env, check=True, timeout=30)
        image = cv2.imread(str(path))
        assert image is not None
        return image

    def wait_picture(self, condition, what: str) -> np.ndarray:
        """Take screenshots until one meets ``condition(image)``; return it.

        A key's log line comes as the key is handled, and its effect is painted a frame
        later (later still when the machine is busy).
        """
        def shot():
            image = self.screenshot()
            return image if condition(image) else None
        return wait_for(shot, STEP_S, what)

    def quit(self, key: str = "q") -> int:
        self.key(key)
        return self.proc.wait(STEP_S)


@pytest.fixture
def app_factory(display, tmp_path):
    apps = []

    def make(*args: str) -> App:
        apps.append(App(display, tmp_path, *args, env=make.env_extra))
        return apps[-1]

    make.env_extra = {}
    yield make
    for app in apps:
        stop(app.proc)


def edge_like(image: np.ndarray) -> bool:
    """White-on-black edge maps are mostly dark with a few bright pixels."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return np.median(grey) < 40 and (grey > 128).mean() > 0.005


def test_keys_switch_filter_record_snapshot_and_quit(app_factory, tmp_path):
    app = app_factory("--filter", "identity")
    before = app.wait_picture(lambda image: image.mean() > 40, "the first demo frame")
    assert before.shape[:2] == (H, W)
    assert not edge_like(before)

    app.key("2")  # the first built-in after the command-line chain: edge
    app.wait_log("filter: edge")
    app.key("i")  # status bar off, so the picture is the bare filtered frame
    app.wait_log("status bar off")
    app.wait_picture(edge_like, "an edge map in the window")

    app.key("r")
    app.wait_log("recording to")
    started = time.monotonic()
    shown = [app.screenshot()]

    def frames_shown() -> bool:  # every frame shown while recording is recorded
        image = app.screenshot()
        if not np.array_equal(image, shown[-1]):
            shown.append(image)
        return len(shown) >= 6

    wait_for(frames_shown, STEP_S, "6 new frames in the window while recording")
    app.key("s")
    app.wait_log("snapshot saved")
    app.key("r")
    app.wait_log(" frames)")  # "saved PATH (N frames)"
    lasted = time.monotonic() - started
    assert app.quit() == 0

    [recording] = tmp_path.glob("camfilters-*.mp4")
    logged = int(re.search(r"saved \S+ \((\d+) frames\)", app.text()).group(1))
    frames, times, _ = decode(recording)
    assert len(frames) == logged >= 6 and frames[0].shape == (H, W, 3)
    assert edge_like(frames[len(frames) // 2])
    # Frames keep their capture times: increasing, never closer on average than the 30 fps source
    # gives them (a busy loop takes fewer), and spanning no more than the recording lasted.
    assert np.all(np.diff(times) > 0)
    assert (times[-1] - times[0]) / (len(frames) - 1) >= 0.9 / 30
    assert times[-1] - times[0] <= lasted + 0.5
    [snapshot] = tmp_path.glob("camfilters-*.png")
    shot = cv2.imread(str(snapshot))
    assert shot.shape == (H, W, 3) and edge_like(shot)


#: Toasts last this long (s) in the tests that wait for a still picture (`still_picture`): with the default
#: 2 s each wait took 4.5 s, the last key's toast and then 2.5 s of stillness.
QUICK_TOAST_S = "0.3"


def still_picture(app: App) -> np.ndarray:
    """Wait until the picture stays the same for longer than a toast lasts (the demo animates every frame)."""
    previous = [app.screenshot(), time.monotonic()]

    def same_twice():
        image = app.screenshot()
        if not np.array_equal(image, previous[0]):
            previous[:] = [image, time.monotonic()]
        return image if time.monotonic() - previous[1] > app.toast_seconds + 0.5 else None

    return wait_for(same_twice, STEP_S, "a still picture")


def test_pause_mirror_help_and_escape(app_factory):
    app = app_factory("--toast-seconds", QUICK_TOAST_S)
    app.key("i")  # hide the status bar: it changes every frame (fps)
    app.wait_log("status bar off")
    app.key("space")
    app.wait_log("paused")
    first = still_picture(app)
    np.testing.assert_array_equal(app.screenshot(), first)  # the demo animates, a paused picture does not
    app.key("m")  # mirroring applies to new frames
    app.wait_log("mirror on")
    app.key("space")
    app.wait_log("resumed")
    app.key("space")
    app.wait_log("paused", count=2)
    mirrored = still_picture(app)
    assert not np.array_equal(mirrored, first)
    app.key("h")
    app.wait_log("help on")
    plain_centre = mirrored[H // 3: 2 * H // 3, W // 3: 2 * W // 3]
    app.wait_picture(lambda image: image[H // 3: 2 * H // 3, W // 3: 2 * W // 3].mean() < plain_centre.mean() * 0.8,
                     "the help panel darkening the middle")
    assert app.quit("Escape") == 0


def test_closing_the_window_quits(app_factory):
    app = app_factory()
    request_close(app.display, int(app.window))
    assert app.proc.wait(STEP_S) == 0, app.text()


def test_closing_the_window_while_compiling_quits_after_the_filter_in_hand(app_factory, tmp_path):
    """On the first start (an empty Numba cache) filters compile for about a minute; closing the window then
    quits with 0 and no traceback (resizing the closed window raised), without compiling the rest."""
    app_factory.env_extra["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    app = app_factory("--filter", "blur")
    app.wait_log("compiling filters (first start only)")
    request_close(app.display, int(app.window))
    assert app.proc.wait(STEP_S) == 0, app.text()
    assert re.search(r"stopped compiling filters at \d+ of \d+", app.text()), app.text()
    assert "Traceback" not in app.text() and "source:" not in app.text()  # quit before the source opened


def test_virtual_cam_key_v_pauses_sending_with_window_and_recording(app_factory, tmp_path):
    """Window + --virtual-cam + --record: v sends black frames to the call instead of the picture, v again
    resumes; the recording goes on meanwhile."""
    from vcam_backend import read_log

    log_path = tmp_path / "vcam.jsonl"
    app_factory.env_extra.update(PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parent),
                                                             os.environ.get("PYTHONPATH", "")]),
                                 CAMFILTERS_VCAM_BACKEND="vcam_backend:RecordingBackend",
                                 CAMFILTERS_VCAM_LOG=str(log_path))
    app = app_factory("--virtual-cam", "--record", str(tmp_path / "call.mp4"))

    def sent() -> list[dict]:
        return [e for e in read_log(log_path) if e["event"] == "frame"] if log_path.exists() else []

    def blacks() -> int:
        return sum(sum(e["mean"]) < 1 for e in sent())

    wait_for(lambda: len(sent()) > 10, STEP_S, "11 frames sent to the virtual camera")
    app.key("v")
    app.wait_log("virtual camera paused")
    wait_for(lambda: blacks() > 30, STEP_S, "31 black frames sent while paused")
    app.key("v")
    app.wait_log("virtual camera sending")
    wait_for(lambda: sum(sent()[-1]["mean"]) >= 1, STEP_S, "a picture sent again after resuming")
    assert app.quit() == 0

    events = sent()
    black = [sum(e["mean"]) < 1 for e in events]
    first_black, last_black = black.index(True), len(black) - 1 - black[::-1].index(True)
    assert first_black > 10 and all(black[first_black:last_black + 1])  # one unbroken pause
    assert last_black - first_black >= 30 and not black[-1]
    # The recording does not pause with the virtual camera: it holds frames captured well inside the
    # pause (its times count from its first frame, which is also the first one sent).
    _, times, _ = decode(tmp_path / "call.mp4")
    start = events[0]["t"]
    pause = (events[first_black]["t"] - start + 0.2, events[last_black]["t"] - start - 0.2)
    assert pause[1] - pause[0] > 0.3
    assert sum(pause[0] < t < pause[1] for t in times) >= 3, (pause, times)


def test_next_previous_and_face_lens_keys(app_factory):
    """n / p step through the filters; f loads the face stage on demand and cycles its lenses."""
    app_factory.env_extra.update(CAMFILTERS_MODEL_DIR=str(MODELS))
    app = app_factory()
    app.key("n")
    app.wait_log("filter: edge")
    app.key("n")
    app.wait_log("filter: cartoon")
    app.key("p")
    app.wait_log("filter: edge", count=2)
    app.key("p")
    app.wait_log("filter: identity")
    app.key("f")
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        app.wait_log('pip install "camfilters[face]"')
    else:
        app.wait_log("lens: mesh")
    assert app.quit() == 0


# -- on-screen feedback: toasts, help panel, looping, ending, presets --------------------------------
CLIP_FRAMES = 15  # half a second at 30 fps


@pytest.fixture
def still_clip(tmp_path, astronaut) -> Path:
    """A short clip whose frames are all the same picture, so a screenshot only changes with the overlay."""
    picture = cv2.resize(astronaut, (W, H), interpolation=cv2.INTER_AREA)
    path = tmp_path / "still.mkv"
    with av.open(str(path), "w") as container:  # lossless FFV1: every frame decodes to the same picture
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv444p"
        for _ in range(CLIP_FRAMES):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")))
        container.mux(stream.encode())
    frames, _, _ = decode(path)
    assert len(frames) == CLIP_FRAMES and all(np.array_equal(f, frames[0]) for f in frames)
    return path


def clip_picture(clip: Path) -> np.ndarray:
    """The picture of a still clip, as the window shows it without status bar and toasts (same size, no scaling)."""
    return decode(clip)[0][0]


def said(app: App, prefix: str) -> str:
    """The last log line of ``app`` starting with ``prefix`` (after "camfilters: "), as shown in its toast."""
    lines = [line.removeprefix("camfilters: ") for line in app.text().splitlines()]
    return [line for line in lines if line.startswith(prefix)][-1]


#: Toasts stay this long (s) in the toast tests, so that a screenshot taken late on a busy machine still
#: finds them (a screenshot program can take more than the default 2 s to start under load).
TOAST_S = "600"


def with_toasts(base: np.ndarray, shown: list[tuple[str, bool]]) -> np.ndarray:
    """``base`` with the overlay's own rendering of the toasts ``shown`` ((text, error), oldest first): the
    reference for a screenshot."""
    expected = base.copy()
    toasts = Toasts(clock=lambda: 0.0)
    for text, error in shown:
        toasts.add(text, error=error)
    toasts.draw(expected)
    return expected


def expect_toast(app: App, base: np.ndarray, shown: list[tuple[str, bool]], key: str, prefix: str, *,
                 error: bool = False) -> str:
    """Press ``key``; wait for the log line starting with ``prefix`` and for exactly that text as the newest
    toast, above the earlier ones in ``shown`` (still on screen for `TOAST_S`); add it to ``shown``."""
    app.key(key)
    app.wait_log(prefix)
    text = said(app, prefix)
    before = with_toasts(base, shown)
    shown.append((text, error))
    expected = with_toasts(base, shown)
    assert not np.array_equal(expected, before)
    app.wait_picture(lambda image: np.array_equal(image, expected), f"the toast {text!r}")
    return text


def test_toasts_say_what_s_r_and_v_did_and_a_failing_r_keeps_the_session(app_factory, tmp_path, still_clip):
    """Each key's message is drawn in the window, pixel for pixel as the overlay renders that text; a snapshot
    and recording that cannot be written are red toasts, and the session goes on; the clip loops meanwhile."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    app = app_factory("--source", str(still_clip), "--loop", "--output-dir", str(blocker / "out"),
                      "--toast-seconds", TOAST_S)
    app.key("i")  # the status bar changes every frame (fps); toasts are drawn without it
    app.wait_log("status bar off")
    base, shown = clip_picture(still_clip), [("status bar off", False)]
    app.wait_picture(lambda image: np.array_equal(image, with_toasts(base, shown)), "the clip and the i toast")
    app.wait_log("from the start")  # --loop: the half-second clip started again
    expect_toast(app, base, shown, "v", "no virtual camera", error=True)
    expect_toast(app, base, shown, "r", "error: ", error=True)
    assert "not-a-folder" in said(app, "error: ") and "the session goes on" in said(app, "error: ")
    app.key("s")
    app.wait_log("error: ", count=2)
    assert "snapshot" in said(app, "error: ")
    assert app.proc.poll() is None
    assert app.quit() == 0
    assert app.text().count("from the start") >= 2  # it played past the clip's length more than once


def test_toasts_name_the_saved_snapshot_and_recording(app_factory, tmp_path, still_clip):
    app = app_factory("--source", str(still_clip), "--loop", "--toast-seconds", TOAST_S)
    app.key("i")
    app.wait_log("status bar off")
    base, shown = clip_picture(still_clip), [("status bar off", False)]
    text = expect_toast(app, base, shown, "s", "snapshot saved to ")
    snapshot = Path(text.removeprefix("snapshot saved to "))
    assert cv2.imread(str(snapshot)).shape == (H, W, 3)
    text = expect_toast(app, base, shown, "r", "recording to ")
    recording = Path(text.removeprefix("recording to "))
    app.key("r")
    app.wait_log(" frames)")  # "saved PATH (N frames)"
    assert str(recording) in said(app, "saved ")
    assert app.quit() == 0
    frames, _, _ = decode(recording)
    logged = int(re.search(r"\((\d+) frames\)", said(app, "saved ")).group(1))
    assert len(frames) == logged > 0


def best_match(image: np.ndarray, text: str) -> float:
    """How well ``text``, drawn by the overlay at any size from 8 to 24 px, matches somewhere in ``image`` (0..1)."""
    from camfilters.overlay import put_text, text_size

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    best = 0.0
    for px in range(8, 25):
        w, h = text_size(text, px)
        template = np.zeros((h + 4, w + 4, 3), np.uint8)
        put_text(template, text, 2, 2, px, (255, 255, 255))
        score = cv2.matchTemplate(grey, cv2.cvtColor(template, cv2.COLOR_BGR2GRAY), cv2.TM_CCOEFF_NORMED).max()
        best = max(best, float(score))
    return best


def test_help_panel_lists_the_filters(app_factory):
    import filters

    app = app_factory("--filter", "identity")
    app.key("space")
    app.wait_log("paused")
    app.key("h")
    app.wait_log("help on")
    panel = app.wait_picture(lambda image: best_match(image, "sketch") > 0.9,
                             "the help panel naming the sketch filter")
    for name in ["edge", "cartoon", "sketch", "blur", "emboss"]:
        assert name in filters.available()
        assert best_match(panel, name) > 0.9, name
    assert best_match(panel, "zqxjv wmk") < 0.8  # a control: text that is not there does not match
    assert app.quit() == 0


def test_a_window_destroyed_by_another_client_quits_and_finalises_the_recording(app_factory, tmp_path):
    """``xdotool windowclose`` (XDestroyWindow, as a window manager does): the app notices, quits with 0 and
    the recording is a complete, playable file."""
    out = tmp_path / "kept.mp4"
    app = app_factory("--record", str(out))
    app.wait_log("recording to")
    wait_for(lambda: out.exists() and out.stat().st_size > 20_000, STEP_S, "frames in the recording")
    app._xdotool("windowclose", app.window)
    assert app.proc.wait(STEP_S) == 0
    logged = int(re.search(r"saved \S+ \((\d+) frames\)", app.text()).group(1))
    frames, _, _ = decode(out)
    assert len(frames) == logged > 0


def test_a_killed_window_connection_ends_the_process_with_a_playable_recording(app_factory, tmp_path):
    """``xdotool windowkill`` cuts the app's X connection and Qt exits the process at once (exit 1, Qt's own
    line); the crash-safe recording still plays."""
    out = tmp_path / "kept.mp4"
    app = app_factory("--record", str(out))
    app.wait_log("recording to")
    wait_for(lambda: out.exists() and out.stat().st_size > 20_000, STEP_S, "a complete part in the recording")
    app._xdotool("windowkill", app.window)
    app.proc.wait(STEP_S)
    assert len(decode(out)[0]) > 0


def test_a_preset_saved_with_w_starts_the_same_session(app_factory, tmp_path, monkeypatch):
    from camfilters.presets import CONFIG_ENV, load_preset

    config = tmp_path / "config" / "config.toml"
    app_factory.env_extra[CONFIG_ENV] = str(config)
    app = app_factory("--filter", "identity", "--mirror")
    app.key("2")
    app.wait_log("filter: edge")
    app.key("w")
    app.wait_log("preset edge saved")  # named after what it holds
    app.key("w")
    app.wait_log("preset edge-2 saved")  # a second save never replaces the first
    name = "edge"
    assert app.quit() == 0
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert load_preset(name) == {"filters": ["edge"], "source": "demo", "mirror": True, "output_dir": str(tmp_path),
                                 "size": f"{W}x{H}", "fps": 30.0}
    # The preset alone gives that session; a flag on the command line wins over it.
    app = app_factory("--preset", name)
    app.key("i")
    app.wait_log("status bar off")
    app.wait_picture(edge_like, "the preset's edge filter")
    assert app.quit() == 0
    app = app_factory("--preset", name, "--filter", "identity")
    app.key("i")
    app.wait_log("status bar off")
    assert not edge_like(app.wait_picture(lambda image: image.mean() > 40, "a frame"))
    assert app.quit() == 0


def test_a_resized_window_letterboxes_the_picture_in_black(app_factory):
    """The frame is scaled into the window's size: black bars (not Qt's grey), the picture in the middle."""
    app = app_factory()
    app.wait_picture(lambda image: image.mean() > 40, "the first frame")
    app._xdotool("windowsize", app.window, "1000", "360")

    def letterboxed(image: np.ndarray) -> bool:
        if image.shape[:2] != (360, 1000):
            return False
        above_status = image[: 360 * 3 // 4]
        bars = np.concatenate([above_status[:, :150], above_status[:, -150:]])
        return bool((bars == 0).all() and above_status[:, 300:700].mean() > 40)

    app.wait_picture(letterboxed, "a 1000x360 window with black bars left and right of a 640x360 picture")
    assert app.quit() == 0
