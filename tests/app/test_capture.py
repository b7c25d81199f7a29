"""Frame sources: files against PyAV decoding, the demo's latest-wins hand-over, and
failing sources (missing camera, bad files, an MJPEG server that dies) with real OpenCV."""

from __future__ import annotations

import logging
import os
import re
import time

import cv2
import numpy as np
import pytest

from camfilters.capture import DemoSource, FileSource, Frame, open_source
from camfilters.errors import CameraNotFound, EndReason, ParameterError, SourceError

from helpers import decode_frames, mean_abs
from media import frame_image, frame_index
from mjpeg_server import MJPEGServer

pytestmark = pytest.mark.timeout(60)

N_FRAMES, FPS, SIZE = 48, 24, (160, 120)  # the shared `clip` (tests/app/conftest.py)


def camera_exists(index: int) -> bool:
    return os.path.exists(f"/dev/video{index}")


# -- files ---------------------------------------------------------------------------------------
def test_file_delivers_every_frame_in_order(clip):
    """Unpaced: all frames, in order, equal to PyAV's decoding (<= 3 levels: OpenCV's BT.601 conversion, as
    render's, against swscale's), stamped with the file's times t0 + i / fps."""
    reference = decode_frames(clip)
    with open_source(str(clip), realtime=False) as source:
        assert (source.size, source.fps, source.live, source.frame_count) == (SIZE, FPS, False, N_FRAMES)
        frames = list(source)
        assert source.ended is EndReason.END_OF_FILE
        assert source.read() is None
        assert source.dropped == 0
    assert [f.index for f in frames] == list(range(N_FRAMES))
    assert [frame_index(f.image) for f in frames] == list(range(N_FRAMES))
    for frame, ref in zip(frames, reference, strict=True):
        assert frame.image.shape == (SIZE[1], SIZE[0], 3) and frame.image.dtype == np.uint8
        assert frame.image.flags.c_contiguous
        assert np.abs(frame.image.astype(np.int16) - ref).max() <= 3
    stamps = np.array([f.timestamp for f in frames])
    np.testing.assert_allclose(stamps - stamps[0], np.arange(N_FRAMES) / FPS, atol=1e-9)


def test_file_realtime_is_never_released_early(clip):
    """Paced at the requested fps: consecutive release times are at least 1 / fps apart."""
    with open_source(str(clip), fps=100.0) as source:
        assert source.fps == 100.0
        frames = []
        for _ in range(10):
            frame = source.read()
            assert frame.timestamp <= time.monotonic()
            frames.append(frame)
    assert [frame_index(f.image) for f in frames] == list(range(10))
    assert np.diff([f.timestamp for f in frames]).min() >= 1 / 100.0 - 1e-9


def test_file_size_resizes_with_inter_area(clip):
    """``size`` delivers every frame resized like cv2.resize(INTER_AREA) (<= 3 levels, as above)."""
    reference = decode_frames(clip)
    with FileSource(clip, size=(80, 60), realtime=False) as source:
        assert source.size == (80, 60)
        frames = list(source)
    assert len(frames) == N_FRAMES
    for frame, ref in zip(frames, reference):
        expected = cv2.resize(ref, (80, 60), interpolation=cv2.INTER_AREA)
        assert np.abs(frame.image.astype(np.int16) - expected).max() <= 3


def test_file_close_midway_stops_the_decoder(clip):
    """close() during playback stops the read-ahead thread; close() again is harmless; read gives None."""
    source = FileSource(clip, realtime=False)
    assert source.read().index == 0
    source.close()
    source.close()
    assert not source._thread.is_alive()
    assert source.read() is None and source.ended is EndReason.CLOSED


def test_missing_file_is_a_source_error(tmp_path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match=re.escape(f"cannot read {path}: no such file")):
        open_source(str(path))


def test_text_file_named_mp4_is_a_source_error(tmp_path, capfd):
    """A text file renamed .mp4: a one-line error naming the path, and FFmpeg's complaints hidden."""
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(SourceError, match=re.escape(f"cannot read {path}: not a video file")) as info:
        open_source(str(path))
    assert "\n" not in str(info.value)
    assert capfd.readouterr().err == ""


# -- cameras -------------------------------------------------------------------------------------
def test_missing_camera_index_is_a_source_error(capfd):
    """Camera 7 (absent) fails with the hint to list devices; OpenCV's warnings do not reach stderr."""
    if camera_exists(7):
        pytest.skip("this machine has a /dev/video7")
    with pytest.raises(CameraNotFound, match=re.escape("camera 7 could not be opened; run `camfilters devices`")):
        open_source("7")
    assert capfd.readouterr().err == ""


def test_camera_source_reports_what_the_device_gives(clip, monkeypatch, caplog):
    """The camera path with a real VideoCapture on a clip standing in for /dev/video0: "auto" opens it,
    reads back the size it really gives, logs asked-for vs got, and ends when it stops delivering."""
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda index, api: real_capture(str(clip), cv2.CAP_FFMPEG))
    with caplog.at_level(logging.DEBUG, logger="camfilters.capture"):  # the details are shown with -v
        with open_source("auto", size=(640, 480), fps=60) as source:
            assert (source.name, source.live, source.size) == ("camera 0", True, SIZE)
            frames = list(source)
            assert (source.ended, source.end_message) == (EndReason.SOURCE_LOST, "camera 0 stopped delivering frames")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("asked for 640x480 at 60 fps MJPG, got 160x120" in r.getMessage() for r in caplog.records)
    numbers = [frame_index(f.image) for f in frames]
    assert frames and all(b > a for a, b in zip(numbers, numbers[1:])) and numbers[-1] < N_FRAMES
    assert source.dropped == frames[-1].index + 1 - len(frames)


def test_auto_without_camera_falls_back_to_demo_with_one_warning(caplog):
    if camera_exists(0):
        pytest.skip("this machine has a camera 0")
    with caplog.at_level(logging.INFO, logger="camfilters.capture"):
        with open_source("auto", size=(320, 240), fps=20) as source:
            frame = source.read()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "camfilters.capture"
    assert "no camera at index 0" in warnings[0].getMessage() and "demo" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    assert (source.name, source.live, source.size, source.fps) == ("demo", True, (320, 240), 20.0)
    assert frame.image.shape == (240, 320, 3)


def test_list_devices_finds_what_dev_lists(capfd):
    """Every device found opens at a real size; without /dev/video* nothing is found; nothing on stderr."""
    from camfilters.capture import list_devices

    devices = list_devices(max_index=8)
    assert capfd.readouterr().err == ""
    if not any(camera_exists(i) for i in range(8)):
        assert devices == []
    for device in devices:
        assert camera_exists(device.index) and device.width > 0 and device.height > 0


# -- demo ------------------------------------------------------------------------------------------
def test_demo_frames_have_size_change_over_time_and_have_edges_and_colour():
    with open_source("demo", size=(320, 240), fps=30) as source:
        first = later = source.read()
        while later.timestamp - first.timestamp < 0.3:  # the scene 0.3 s later
            later = source.read()
    for frame in (first, later):
        assert frame.image.shape == (240, 320, 3) and frame.image.dtype == np.uint8
        assert frame.image.flags.c_contiguous
    assert later.index > first.index and later.timestamp > first.timestamp
    assert mean_abs(first.image, later.image) > 10  # the scene moves (about 35 levels in 0.3 s)
    edges = cv2.Canny(cv2.cvtColor(first.image, cv2.COLOR_BGR2GRAY), 50, 150)
    assert (edges > 0).mean() > 0.02
    saturation = cv2.cvtColor(first.image, cv2.COLOR_BGR2HSV)[..., 1]
    assert (saturation > 100).mean() > 0.2


@pytest.mark.parametrize("size", [(16, 16), (17, 23), (400, 16), (641, 361)])
def test_demo_scene_renders_any_size_in_place(size):
    """Tiny, thin and odd sizes render into the given buffer (sprites are clipped), and the scene moves."""
    from camfilters.demo import DemoScene

    scene = DemoScene(*size)
    a = np.zeros((size[1], size[0], 3), np.uint8)
    b = np.zeros_like(a)
    assert scene.render(a, 1.0, wall=0.0) is a
    assert scene.render(b, 4.0, wall=0.0) is b
    assert not np.array_equal(a, b)


def test_demo_latest_wins_for_a_slow_consumer():
    """A consumer slower than the source: gaps and ``dropped`` > 0, each frame once, never overwritten."""
    with DemoSource(size=(160, 120), fps=100) as source:
        frames: list[Frame] = []
        kept = None
        for _ in range(8):
            frames.append(source.read())
            if kept is None:
                kept = frames[0].image.copy()
            time.sleep(0.05)  # five frame periods
        dropped = source.dropped
    indexes = [f.index for f in frames]
    assert all(b > a for a, b in zip(indexes, indexes[1:]))
    assert max(b - a for a, b in zip(indexes, indexes[1:])) > 1
    assert dropped >= indexes[-1] + 1 - len(frames) > 0
    stamps = [f.timestamp for f in frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    for i, a in enumerate(frames):  # fresh arrays: no two frames share memory
        for b in frames[i + 1 :]:
            assert not np.shares_memory(a.image, b.image)
    np.testing.assert_array_equal(frames[0].image, kept)  # the source never wrote to it again


def test_demo_close_is_idempotent_and_ends_reading():
    source = DemoSource(size=(160, 120), fps=30)
    assert source.read() is not None
    source.close()
    source.close()
    assert source.read(timeout=0.1) is None
    assert source.ended is EndReason.CLOSED
    assert not source._thread.is_alive()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"size": (0, 240)}, "size must be"), ({"size": (320,)}, "size must be"),
     ({"fps": 0}, "fps must be"), ({"fps": float("nan")}, "fps must be")],
)
def test_bad_size_or_fps_is_a_parameter_error(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        open_source("demo", **kwargs)


# -- network stream --------------------------------------------------------------------------------
def test_stream_delivers_frames_then_ends_when_the_server_dies():
    """Frames arrive in order and match what was sent (JPEG: mean error < 3 levels); then None + reason."""
    with MJPEGServer(max_frames=30, fps=30, after="close") as server:
        with open_source(server.url) as source:
            assert source.live and source.name == f"stream {server.url}" and source.size == (160, 120)
            frames = []
            while (frame := source.read(timeout=2.0)) is not None:
                frames.append(frame)
            assert source.ended is EndReason.SOURCE_LOST
            assert re.search(r"stopped delivering frames|delivered no frame", source.end_message)
            assert source.read(timeout=0.1) is None
    numbers = [frame_index(f.image) for f in frames]
    assert len(frames) >= 5
    assert all(b > a for a, b in zip(numbers, numbers[1:]))
    assert numbers[-1] <= 29
    for frame, k in zip(frames, numbers):
        assert mean_abs(frame.image, frame_image(k)) < 3


def test_stream_that_stalls_ends_after_the_read_timeout():
    """A server that keeps the connection open but sends nothing: read() gives None, not a hang."""
    with MJPEGServer(max_frames=10, fps=30, after="stall") as server:
        with open_source(server.url) as source:
            count = 0
            while source.read(timeout=1.0) is not None:
                count += 1
            assert count >= 1
            assert (source.ended, source.end_message) == (EndReason.SOURCE_LOST, f"stream {server.url} delivered no frame for 1 s")


def test_stream_nobody_serves_is_a_source_error():
    server = MJPEGServer(max_frames=1)
    url = server.url
    server.stop()
    with pytest.raises(SourceError, match=re.escape(f"stream {url} could not be opened")):
        open_source(url)
