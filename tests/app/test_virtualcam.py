"""VirtualCamera through the real pyvirtualcam API, with a recording backend registered for the test."""

from __future__ import annotations

import glob
import importlib
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pyvirtualcam = pytest.importorskip("pyvirtualcam")

from camfilters import virtualcam  # noqa: E402
from camfilters.errors import ParameterError, VirtualCamError  # noqa: E402
from camfilters.virtualcam import BACKEND_ENV, VirtualCamera  # noqa: E402

from helpers import wait_for  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
W, H = 64, 48
FPS = 20.0
LINUX_SETUP = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=camfilters"


@pytest.fixture
def vb(monkeypatch):
    """The vcam_backend module, its RecordingBackend registered as "recording" in a private BACKENDS."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.delenv("CAMFILTERS_VCAM_LOG", raising=False)
    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", dict(pyvirtualcam.camera.BACKENDS))
    module = importlib.import_module("vcam_backend")
    monkeypatch.setattr(module.RecordingBackend, "instances", [])
    pyvirtualcam.register_backend("recording", module.RecordingBackend)
    return module


def indexed(vb, index: int) -> np.ndarray:
    return vb.encode_index(np.zeros((H, W, 3), np.uint8), index)


def feed(cam: VirtualCamera, frames, fps: float, delivered_to=None) -> list[float]:
    """Send each frame at its tick k / fps (an anchored schedule, like a camera); returns when each send returned.

    With ``delivered_to`` (a RecordingBackend), also wait until each frame reached it before
    sending the next: a loop never faster than the device, which loses no frame even when a
    busy machine delays the sender thread (latest wins: a faster loop's frames may be replaced).
    """
    t0 = time.monotonic()
    done = []
    for k, frame in enumerate(frames):
        delay = t0 + k / fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        cam.send(frame)
        done.append(time.monotonic())
        if delivered_to is not None:
            wait_for(lambda frame=frame: delivered_to.frames and np.array_equal(delivered_to.frames[-1][1], frame),
                     30, f"frame {k} at the backend")
    return done


def assert_paced(times: list[float], fps: float) -> None:
    """Never faster than ``fps`` in the long run: any k + 1 consecutive arrivals span at least (k - 2) / fps.

    The sender starts k + 1 sends at least (k - 1) / fps apart (its token bucket lets one frame
    go early, after a late one, never more); on a busy machine a frame may reach the backend up
    to about a period after its send started, which takes one more period. Sends come later
    under load, never earlier.
    """
    t = np.asarray(times)
    for k in range(2, len(t)):
        assert (t[k:] - t[:-k]).min() >= (k - 2) / fps, k


def test_frames_at_the_fps_all_arrive_in_order_paced(vb):
    """A loop at the fps that is never faster than the device gets every frame through, unchanged, in BGR at
    the size asked, and no faster than the fps."""
    frames = [indexed(vb, i) for i in range(1, 33)]
    with VirtualCamera((W, H), FPS, backend="recording") as cam:
        (rec,) = vb.RecordingBackend.instances
        feed(cam, frames, FPS, delivered_to=rec)
    assert (rec.format, rec.width, rec.height, rec.fps) == ("24BG", W, H, FPS)
    assert [vb.decode_index(image) for _, image in rec.frames] == list(range(1, 33))
    assert all(np.array_equal(image, sent) for (_, image), sent in zip(rec.frames, frames))
    assert (cam.frames_sent, cam.frames_dropped) == (32, 0)
    assert rec.closed and cam.device == vb.DEVICE and cam.size == (W, H)
    assert_paced([t for t, _ in rec.frames], FPS)


def test_faster_loop_is_paced_and_latest_wins(vb):
    """At 4x the fps, sends are no faster than the fps, each the newest frame queued, the last one flushed
    on close; the frames in between are dropped (counted), never sent late."""
    count = 100
    with VirtualCamera((W, H), FPS, backend="recording") as cam:
        queued_at = feed(cam, [indexed(vb, i) for i in range(count)], 4 * FPS)
    (rec,) = vb.RecordingBackend.instances
    times = [t for t, _ in rec.frames]
    got = [vb.decode_index(image) for _, image in rec.frames]
    assert got == sorted(set(got)) and got[-1] == count - 1
    assert len(got) + cam.frames_dropped == count and cam.frames_sent == len(got)
    # The sender takes frame j after frame j-1 reached the backend, so it is at least as
    # new as every frame queued before that moment (a FIFO would fall behind).
    for t_prev, index in zip(times, got[1:]):
        newest = max((i for i, t in enumerate(queued_at) if t <= t_prev), default=-1)
        assert index >= newest
    assert_paced(times, FPS)
    assert cam.frames_dropped > 0  # 100 frames at 4x the fps cannot all go out at the fps


@pytest.mark.parametrize("mirror", [False, True])
def test_mirror_flips_what_is_sent(vb, rng, mirror):
    """mirror=True sends the frame flipped left-right (numpy reference), else as is."""
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    with VirtualCamera((W, H), FPS, mirror=mirror, backend="recording") as cam:
        cam.send(image)
    ((_, got),) = vb.RecordingBackend.instances[0].frames
    np.testing.assert_array_equal(got, image[:, ::-1] if mirror else image)


def test_sent_frame_is_a_copy(vb, rng):
    """Reusing the buffer right after send() does not change what the device gets."""
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    expected = image.copy()
    with VirtualCamera((W, H), FPS, backend="recording") as cam:
        cam.send(image)
        image[:] = 0
    np.testing.assert_array_equal(vb.RecordingBackend.instances[0].frames[0][1], expected)


def test_odd_size_is_cropped_to_even(vb, rng):
    """4:2:0 devices need even sizes: a 65x49 frame goes out as its top-left 64x48."""
    image = rng.integers(0, 256, (49, 65, 3), dtype=np.uint8)
    with VirtualCamera((65, 49), FPS, backend="recording") as cam:
        cam.send(image)
    rec = vb.RecordingBackend.instances[0]
    assert cam.size == (64, 48) and (rec.width, rec.height) == (64, 48)
    np.testing.assert_array_equal(rec.frames[0][1], image[:48, :64])


def test_pause_sends_black_and_drops_frames_until_resumed(vb):
    """Frames sent while paused never arrive, black frames do; after resuming the frames flow again."""
    with VirtualCamera((W, H), FPS, backend="recording") as cam:
        (rec,) = vb.RecordingBackend.instances
        feed(cam, [indexed(vb, i) for i in range(1, 7)], FPS, delivered_to=rec)
        assert cam.toggle_pause() is True and cam.paused
        feed(cam, [indexed(vb, i) for i in range(7, 13)], FPS)
        wait_for(lambda: sum(not image.any() for _, image in rec.frames) >= 3, 30, "3 black frames")
        assert cam.toggle_pause() is False and not cam.paused
        feed(cam, [indexed(vb, i) for i in range(13, 19)], FPS, delivered_to=rec)
    frames = [image for _, image in vb.RecordingBackend.instances[0].frames]
    black = [not image.any() for image in frames]
    got = [vb.decode_index(image) for image, b in zip(frames, black) if not b]
    assert got == list(range(1, 7)) + list(range(13, 19))
    first, last = black.index(True), len(black) - 1 - black[::-1].index(True)
    assert any(black) and all(black[first:last + 1])
    assert vb.decode_index(frames[first - 1]) == 6 and vb.decode_index(frames[last + 1]) == 13
    assert cam.frames_sent == len(frames)


def test_rgb_only_backend_gets_rgb(vb, rng):
    """A backend that refuses BGR is opened in RGB and gets the channels swapped."""
    pyvirtualcam.register_backend("rgb-only", vb.RGBOnlyBackend)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    with VirtualCamera((W, H), FPS, backend="rgb-only") as cam:
        cam.send(image)
    rec = vb.RecordingBackend.instances[-1]
    assert rec.format == "raw "
    np.testing.assert_array_equal(rec.frames[0][1], image)  # the backend swaps back to BGR


def test_backend_spec_from_environment(vb, monkeypatch):
    """CAMFILTERS_VCAM_BACKEND=module:Class is imported, registered and used when backend is not given."""
    monkeypatch.setenv(BACKEND_ENV, "vcam_backend:RecordingBackend")
    with VirtualCamera((W, H), FPS, device="/dev/video42") as cam:
        assert (cam.backend, cam.device) == ("vcam_backend:RecordingBackend", "/dev/video42")
    assert vb.RecordingBackend.instances[0].closed


@pytest.mark.parametrize(("spec", "match"), [
    ("nope", r"unknown virtual camera backend 'nope' \(available: .*recording"),
    ("vcam_backend:Missing", r"cannot load virtual camera backend 'vcam_backend:Missing'"),
    ("no_such_module_xyz:Backend", r"cannot load virtual camera backend"),
])
def test_bad_backend_spec(vb, spec, match):
    with pytest.raises(VirtualCamError, match=match):
        VirtualCamera((W, H), FPS, backend=spec)


@pytest.mark.parametrize(("size", "fps", "match"), [
    ((W,), FPS, r"size must be \(width, height\).*got \(64,\)"),
    ((1, H), FPS, r"got \(1, 48\)"),
    ((64.0, H), FPS, r"got \(64.0, 48\)"),
    ((W, H), 0, r"fps must be a positive number, got 0"),
    ((W, H), float("nan"), r"got nan"),
])
def test_constructor_validates(vb, size, fps, match):
    with pytest.raises(ParameterError, match=match):
        VirtualCamera(size, fps, backend="recording")


def test_send_validates_and_close_is_idempotent(vb):
    cam = VirtualCamera((W, H), FPS, backend="recording")
    with pytest.raises(ParameterError, match=r"must be \(48, 64, 3\) uint8, got \(48, 64\) uint8"):
        cam.send(np.zeros((H, W), np.uint8))
    with pytest.raises(ParameterError, match=r"got \(48, 64, 3\) float32"):
        cam.send(np.zeros((H, W, 3), np.float32))
    cam.close()
    cam.close()
    assert vb.RecordingBackend.instances[0].closed
    with pytest.raises(VirtualCamError, match="is closed"):
        cam.send(np.zeros((H, W, 3), np.uint8))


def test_failing_device_is_reported_by_send(vb):
    """An error in the sender thread comes back as VirtualCamError from a later send()."""

    class Unplugged(vb.RecordingBackend):
        def send(self, frame):
            raise OSError("device unplugged")

    pyvirtualcam.register_backend("unplugged", Unplugged)
    image = np.zeros((H, W, 3), np.uint8)
    with VirtualCamera((W, H), FPS, backend="unplugged") as cam:
        with pytest.raises(VirtualCamError, match=f"{vb.DEVICE} stopped: device unplugged"):
            wait_for(lambda: cam.send(image), 30, "the device's error to come back through send()")


def test_busy_device_message(vb):
    """The v4l2loopback backend's 'already in use' becomes a one-line 'busy' message."""

    class Busy(vb.RecordingBackend):
        def __init__(self, **kw):
            raise RuntimeError("Device /dev/video10 is already in use.")

    pyvirtualcam.register_backend("busy", Busy)
    with pytest.raises(VirtualCamError, match=r"virtual camera is busy \(.*'busy' backend: Device /dev/video10 "
                                              r"is already in use\.\); close the program using it"):
        VirtualCamera((W, H), FPS, backend="busy")


no_loopback = pytest.mark.skipif(platform.system() != "Linux" or bool(glob.glob("/dev/video*")),
                                 reason="needs Linux without any /dev/video* device")


@no_loopback
@pytest.mark.parametrize(("device", "detail"), [
    (None, "No v4l2 loopback device found"),
    ("/dev/video10", "Device /dev/video10 does not exist"),
])
def test_missing_loopback_device_real(monkeypatch, device, detail):
    """The real v4l2loopback backend finds nothing here: one line with the modprobe and apt steps."""
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    with pytest.raises(VirtualCamError) as info:
        VirtualCamera((W, H), FPS, device=device)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, RuntimeError)
    assert message.startswith("no virtual camera (") and detail in message
    assert LINUX_SETUP in message and "sudo apt install v4l2loopback-dkms" in message


@no_loopback
@pytest.mark.parametrize("system", ["Windows", "Darwin"])
def test_missing_device_hint_names_obs_on_windows_and_macos(monkeypatch, system):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setattr(virtualcam.platform, "system", lambda: system)
    with pytest.raises(VirtualCamError, match=r"install OBS Studio .* start its Virtual Camera once") as info:
        VirtualCamera((W, H), FPS)
    assert LINUX_SETUP not in str(info.value)


def test_unsupported_platform(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", {})
    monkeypatch.setattr(virtualcam.platform, "system", lambda: "FreeBSD")
    with pytest.raises(VirtualCamError, match=r"Windows and macOS \(OBS Virtual Camera\), not on FreeBSD"):
        VirtualCamera((W, H), FPS)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in (BACKEND_ENV, "CAMFILTERS_VCAM_LOG")}
    full_env.update(PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)]), **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_subprocess_sends_to_recording_backend_from_environment(vb, tmp_path):
    """How a `camfilters run` subprocess test sees the frames: env-selected backend, JSON-lines log."""
    log_file = tmp_path / "vcam.jsonl"
    proc = run_python(f"""
        import time
        import numpy as np
        from camfilters.virtualcam import VirtualCamera
        from vcam_backend import encode_index
        with VirtualCamera(({W}, {H}), {FPS}) as cam:
            for i in range(1, 11):  # each frame once the previous one went out: none is replaced
                while cam.frames_sent < i - 1:
                    time.sleep(0.001)
                cam.send(encode_index(np.zeros(({H}, {W}, 3), np.uint8), i))
        """, CAMFILTERS_VCAM_BACKEND="vcam_backend:RecordingBackend", CAMFILTERS_VCAM_LOG=str(log_file))
    assert proc.returncode == 0, proc.stderr
    events = vb.read_log(log_file)
    assert events[0] == {"event": "open", "width": W, "height": H, "fps": FPS, "format": "24BG",
                         "device": vb.DEVICE}
    frames = [e for e in events if e["event"] == "frame"]
    assert [e["index"] for e in frames] == list(range(1, 11))
    assert [e["n"] for e in frames] == list(range(10)) and events[-1] == {"event": "close"}
    expected_mean = [indexed(vb, i).reshape(-1, 3).mean(axis=0) for i in range(1, 11)]
    np.testing.assert_allclose([e["mean"] for e in frames], expected_mean, atol=0.01)


@pytest.mark.slow  # a process with pyvirtualcam blocked
def test_without_pyvirtualcam_the_install_hint():
    """pyvirtualcam blocked from importing: the module still imports, opening says how to install it."""
    proc = run_python("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "pyvirtualcam":
                    raise ModuleNotFoundError(f"No module named {name!r}")
        sys.meta_path.insert(0, Block())
        from camfilters.errors import VirtualCamError
        from camfilters.virtualcam import VirtualCamera
        try:
            VirtualCamera((64, 48), 30)
        except VirtualCamError as exc:
            print(f"VirtualCamError: {exc}")
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'VirtualCamError: the virtual camera needs pyvirtualcam: pip install "camfilters[vcam]"'
