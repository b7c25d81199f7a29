"""Recorder and check_output_path, checked by decoding the files with PyAV and ffprobe."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from camfilters.errors import OutputExistsError, ParameterError, RecordingError
from camfilters.recording import FORMATS, Recorder, VideoOutput, check_output_path

from cli_helpers import popen, stop
from helpers import decode_frames, frame_times, mean_abs
from media import frame_image, frame_index, probe, top_level_atoms

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe (Debian package ffmpeg)")

SIZE = (160, 120)
APP_TESTS = Path(__file__).resolve().parent
ROOT = APP_TESTS.parents[1]


def record(path: Path, timestamps, size=SIZE, **kwargs) -> Recorder:
    """Record frame_image(i) at timestamps[i] and close; returns the closed recorder."""
    with Recorder(path, size, **kwargs) as rec:
        for i, t in enumerate(timestamps):
            rec.write(frame_image(i, size), t)
    return rec


# --- check_output_path ---------------------------------------------------------------------


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_check_output_path_accepts_supported_extensions_without_leaving_a_file(tmp_path, ext):
    path = tmp_path / f"out{ext.upper()}"
    assert check_output_path(path) == path
    assert not path.exists()


def test_check_output_path_refuses_an_existing_file_and_keeps_its_bytes(tmp_path):
    """Like ffmpeg without -y: an existing output is refused, byte for byte untouched."""
    path = tmp_path / "notes.mkv"
    path.write_bytes(b"my notes")
    with pytest.raises(OutputExistsError, match=r"notes.mkv already exists; add -y \(--overwrite\)"):
        check_output_path(path)
    assert path.read_bytes() == b"my notes"


def test_check_output_path_with_overwrite_accepts_an_existing_file_without_changing_it(tmp_path):
    path = tmp_path / "old.mp4"
    path.write_bytes(b"old")
    assert check_output_path(str(path), overwrite=True) == path
    assert path.read_bytes() == b"old"


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("missing/out.mp4", r"folder .*missing does not exist; create it"),
        ("a_file.txt/out.mp4", r"folder .*a_file.txt is not a folder"),
        ("folder", r"it is a folder; give a file name such as .*out.mp4"),
        ("out.avi", r"unsupported extension '.avi'; use one of .gif, .mkv, .mov, .mp4, .webm"),
        ("out", r"unsupported extension '\(none\)'"),
    ],
)
def test_check_output_path_refuses_unwritable_paths_in_one_line(tmp_path, name, match):
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file.txt").write_text("x")
    with pytest.raises(RecordingError, match=match) as info:
        check_output_path(tmp_path / name)
    assert str(tmp_path / name) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody may create files in: immutable for root (chattr +i), mode 0555 otherwise."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
            pytest.skip("running as root and cannot make a folder immutable here")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


def test_check_output_path_refuses_a_read_only_folder(read_only_folder):
    with pytest.raises(RecordingError, match=r"ro/out.mp4: .*; choose a writable folder"):
        check_output_path(read_only_folder / "out.mp4")


def test_recorder_refuses_a_bad_path_before_writing(tmp_path):
    with pytest.raises(RecordingError, match="does not exist"):
        Recorder(tmp_path / "nope" / "out.mp4", SIZE)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": (1, 120)}, r"size must be \(width, height\) integers >= 2, got \(1, 120\)"),
        ({"size": (160.0, 120)}, "size must be"),
        ({"fps": 0}, "fps must be a positive number, got 0"),
        ({"fps": float("nan")}, "fps must be a positive number, got nan"),
        ({"max_buffer_bytes": 0}, "max_buffer_bytes must be > 0, got 0"),
        ({"preset": "fastest"}, "preset must be one of ultrafast, superfast, .*, got 'fastest'"),
    ],
)
def test_recorder_validates_its_arguments(tmp_path, kwargs, match):
    args = {"size": SIZE, **kwargs}
    with pytest.raises(ParameterError, match=match):
        Recorder(tmp_path / "out.mp4", **args)
    assert not (tmp_path / "out.mp4").exists()


# --- what ends up in the file ---------------------------------------------------------------


@pytest.mark.parametrize("ext", sorted(set(FORMATS) - {".gif"}))  # GIFs: test_gif.py
def test_every_frame_is_in_the_file_in_order_and_close_to_the_original(tmp_path, ext):
    path = tmp_path / f"rec{ext}"
    n = 30
    rec = record(path, [1000.0 + i / 30 for i in range(n)], fps=30)
    assert rec.frames_written == n
    info = probe(path)
    assert (info.width, info.height, info.frames) == (*SIZE, n)
    assert info.video_codec == {"libx264": "h264", "libvpx-vp9": "vp9"}[FORMATS[ext].video_codec]
    assert info.video_duration == pytest.approx(n / 30, rel=0.05)
    assert info.fps == pytest.approx(30, rel=0.05)
    assert info.streams[0]["color_space"] == "smpte170m"
    frames = decode_frames(path)
    assert [frame_index(f) for f in frames] == list(range(n))
    errors = [mean_abs(f, frame_image(i, SIZE)) for i, f in enumerate(frames)]
    assert max(errors) < 3.0, errors


@pytest.mark.parametrize("ext", [".mp4", ".mov"])
def test_a_closed_recording_is_a_regular_faststart_file_with_every_frame(tmp_path, ext):
    """Written fragmented, closed into one moov before one mdat (playback can start early), nothing left beside it."""
    path = tmp_path / f"rec{ext}"
    n = 75  # several one-second fragments
    record(path, [i / 30 for i in range(n)])
    atoms = top_level_atoms(path)
    assert atoms.count("moov") == atoms.count("mdat") == 1 and "moof" not in atoms, atoms
    assert atoms.index("moov") < atoms.index("mdat"), atoms
    assert [frame_index(f) for f in decode_frames(path)] == list(range(n))
    assert probe(path).frames == n
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # the temporary copy was renamed over it
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # the mode a plain new file gets, not mkstemp's 0600


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".webm"])
def test_keyframes_come_at_least_every_second_even_below_the_nominal_rate(tmp_path, ext):
    """A camera claiming 30 fps that delivers 10: keyframes still at most a second apart (what a kill can lose)."""
    path = tmp_path / f"rec{ext}"
    record(path, [i / 10 for i in range(50)], fps=30)
    with av.open(str(path)) as container:
        keys = [float(p.pts * p.time_base) for p in container.demux(video=0) if p.pts is not None and p.is_keyframe]
    assert keys[0] == 0.0
    assert max(np.diff(keys + [4.9])) <= 1.0 + 1e-6, keys


def colour_chart(width: int, height: int) -> np.ndarray:
    """Smooth colour gradients (no edges, so only chroma placement decides the error), (H, W, 3) uint8 BGR."""
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = np.round(60 + 150 * x + 0 * y)
    image[..., 1] = np.round(200 - 150 * y + 0 * x)
    image[..., 2] = np.round(128 + 80 * np.sin(3 * x + 2 * y))
    return image


@pytest.mark.parametrize("size", [(1280, 886), (642, 362), (641, 361), (160, 122), (162, 120), (1280, 720)])
def test_colours_are_kept_at_heights_that_are_not_a_multiple_of_4_and_odd_sizes(tmp_path, size):
    """Chroma lands on the right rows at any size: mean error under 2 levels, top rows without stripes.

    Odd sizes are cropped (the last column/row is dropped). Reference: PyAV's own decode and
    BT.601 conversion. Before the fix the top rows of 1280x886 were off by ~36 levels.
    """
    width, height = size
    path = tmp_path / "rec.mp4"
    image = colour_chart(width, height)
    with Recorder(path, size, fps=30) as rec:
        for i in range(3):
            rec.write(image, i / 30)
    with av.open(str(path)) as container:
        decoded = [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]
    assert len(decoded) == 3
    expected = image[: height - height % 2, : width - width % 2]
    for frame in decoded:
        assert frame.shape == expected.shape
        error = np.abs(frame.astype(np.int16) - expected.astype(np.int16))
        assert error.mean() < 2.0, error.mean()
        assert error[:8].mean() < 3.0, error[:8].mean(axis=(1, 2))  # the rows where shifted chroma striped
        assert error.mean(axis=(0, 1)).max() < 2.5  # per channel: no colour cast


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_frames_keep_their_capture_times_at_17_fps(tmp_path, ext, rng):
    """Irregular capture times at ~17 fps: each frame plays when it was captured, the file lasts as long."""
    n = 51
    times = 50.0 + np.arange(n) / 17 + rng.uniform(-0.01, 0.01, n)
    path = tmp_path / f"rec{ext}"
    record(path, times, fps=30)  # the nominal rate must not decide the timing
    info = probe(path)
    assert info.frames == n
    assert info.video_duration == pytest.approx(n / 17, rel=0.05)
    assert info.frames / info.video_duration == pytest.approx(17, rel=0.05)
    played = np.array(frame_times(path))
    tolerance = 1e-3 if ext == ".mkv" else 1e-4  # Matroska stores milliseconds
    np.testing.assert_allclose(played - played[0], times - times[0], atol=tolerance)


def test_non_increasing_timestamps_still_give_every_frame(tmp_path):
    path = tmp_path / "rec.mp4"
    record(path, [0.0, 0.1, 0.1, 0.05, 0.2])
    assert [frame_index(f) for f in decode_frames(path)] == [0, 1, 2, 3, 4]
    assert np.all(np.diff(frame_times(path)) > 0)


def test_odd_size_loses_the_last_column_and_row(tmp_path):
    size = (161, 121)
    path = tmp_path / "odd.mp4"
    record(path, [i / 30 for i in range(5)], size=size)
    info = probe(path)
    assert (info.width, info.height) == (160, 120)
    for i, frame in enumerate(decode_frames(path)):
        assert mean_abs(frame, frame_image(i, size)[:120, :160]) < 3.0


def test_write_refuses_a_frame_of_another_size_or_a_bad_time(tmp_path):
    with Recorder(tmp_path / "rec.mp4", SIZE) as rec:
        rec.write(frame_image(0, SIZE), 0.0)
        with pytest.raises(ParameterError, match=r"frame must be \(120, 160, 3\) uint8 .*got \(120, 161, 3\) uint8"):
            rec.write(np.zeros((120, 161, 3), np.uint8), 0.1)
        with pytest.raises(ParameterError, match="got \\(120, 160, 3\\) float32"):
            rec.write(np.zeros((120, 160, 3), np.float32), 0.1)
        with pytest.raises(ParameterError, match="timestamp must be a finite number of seconds, got nan"):
            rec.write(frame_image(1, SIZE), float("nan"))
    assert probe(tmp_path / "rec.mp4").frames == 1


def test_write_copies_the_frame(tmp_path):
    """The caller may reuse its buffer as soon as write() returns."""
    path = tmp_path / "rec.mp4"
    buffer = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
    with Recorder(path, SIZE) as rec:
        for i in range(8):
            buffer[:] = frame_image(i, SIZE)
            rec.write(buffer, i / 30)
    assert [frame_index(f) for f in decode_frames(path)] == list(range(8))


def test_no_frame_is_dropped_when_the_encoder_is_slow(tmp_path, monkeypatch, caplog):
    """With room for two buffered frames, write() waits for the encoder instead of dropping."""
    encode = VideoOutput.encode

    def slow_encode(self, image, pts, duration):
        time.sleep(0.003)
        encode(self, image, pts, duration)

    monkeypatch.setattr(VideoOutput, "encode", slow_encode)
    path = tmp_path / "rec.mkv"
    with caplog.at_level(logging.WARNING, logger="camfilters.recording"):
        record(path, [i / 30 for i in range(40)], max_buffer_bytes=1)
    assert "the encoder is behind" in caplog.text
    assert [frame_index(f) for f in decode_frames(path)] == list(range(40))


# --- closing and errors ------------------------------------------------------------------------


def test_close_is_idempotent_and_write_after_close_is_refused(tmp_path):
    path = tmp_path / "rec.mp4"
    rec = Recorder(path, SIZE)
    for i in range(3):
        rec.write(frame_image(i, SIZE), i / 30)
    rec.close()
    size = path.stat().st_size
    rec.close()
    assert path.stat().st_size == size
    assert probe(path).frames == 3
    with pytest.raises(RecordingError, match="is closed"):
        rec.write(frame_image(3, SIZE), 0.2)


def test_a_recording_without_frames_leaves_no_file(tmp_path, caplog):
    path = tmp_path / "rec.mp4"
    with caplog.at_level(logging.WARNING, logger="camfilters.recording"), Recorder(path, SIZE) as rec:
        pass
    assert rec.frames_written == 0
    assert not path.exists()
    assert not caplog.records  # and nothing to warn about


def test_close_from_another_thread(tmp_path):
    path = tmp_path / "rec.mp4"
    rec = Recorder(path, SIZE)
    for i in range(5):
        rec.write(frame_image(i, SIZE), i / 30)
    closer = threading.Thread(target=rec.close)
    closer.start()
    closer.join(60)
    assert not closer.is_alive()
    rec.close()
    assert probe(path).frames == 5


def test_a_writer_thread_error_is_raised_by_the_next_write(tmp_path, monkeypatch):
    encode = VideoOutput.encode

    def failing_encode(self, image, pts, duration):
        if pts > 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        encode(self, image, pts, duration)

    monkeypatch.setattr(VideoOutput, "encode", failing_encode)
    path = tmp_path / "rec.mp4"
    rec = Recorder(path, SIZE)
    with pytest.raises(RecordingError, match=r"^disk full \(/\S*\) while recording .*rec.mp4: kept 1 frame \(0.0 s\); "
                                             r"free space and record again$"):
        for i in range(1000):
            rec.write(frame_image(i % 100, SIZE), i / 30)
    assert rec.failed
    rec.close()  # already reported: no second error, and the file is still finalised
    assert probe(path).frames == 1


def test_a_writer_thread_error_is_raised_by_close(tmp_path, monkeypatch):
    def failing_encode(self, image, pts, duration):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(VideoOutput, "encode", failing_encode)
    rec = Recorder(tmp_path / "rec.mp4", SIZE)
    rec.write(frame_image(0, SIZE), 0.0)
    with pytest.raises(RecordingError, match="failed: Input/output error; nothing could be kept$") as info:
        rec.close()
    assert isinstance(info.value.__cause__, OSError)
    rec.close()
    assert not (tmp_path / "rec.mp4").exists()  # it held no frame


CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from camfilters.recording import Recorder
    from camfilters.signals import interrupt_on_sigterm
    from media import frame_image

    rec = None
    try:
        with interrupt_on_sigterm(), Recorder(sys.argv[1], (160, 120), fps=30) as rec:
            for i in range(4000):
                rec.write(frame_image(i, (160, 120)), i / 30)
                if i == 20:
                    print("ready", flush=True)
                if i >= 20:
                    time.sleep(0.005)  # a live loop's pace
    finally:
        print(rec.frames_written if rec else -1, flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_a_signalled_recording_is_finalised_with_every_frame(tmp_path, sig, ext):
    """Ctrl-C, SIGTERM or a closed terminal (SIGHUP) mid-recording: a finalised file holding every frame written."""
    path = tmp_path / f"rec{ext}"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT), tests=str(APP_TESTS)))
    child = popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(sig)
        out, err = child.communicate(timeout=60)
    finally:
        stop(child)
    assert child.returncode != 0  # KeyboardInterrupt went on after the recording was closed
    assert "KeyboardInterrupt" in err
    if sig != signal.SIGINT:  # one line names the signal as it arrives
        assert f"({sig.name}): finishing the files and stopping" in err
        assert f"KeyboardInterrupt: signal {sig.name}" in err
    written = int(out.split()[-1])
    assert 21 <= written < 4000
    info = probe(path)
    assert info.frames == written
    assert [frame_index(f) for f in decode_frames(path)] == list(range(written))
    if ext == ".mp4":  # closed cleanly: a regular fast-start MP4
        assert "moof" not in top_level_atoms(path)


@pytest.mark.slow
def test_a_recorder_left_open_is_finalised_at_exit(tmp_path):
    path = tmp_path / "rec.mp4"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(ROOT)!r}, {str(APP_TESTS)!r}]
        from camfilters.recording import Recorder
        from media import frame_image
        rec = Recorder({str(path)!r}, (160, 120))
        for i in range(12):
            rec.write(frame_image(i, (160, 120)), i / 30)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert [frame_index(f) for f in decode_frames(path)] == list(range(12))


def test_recorder_rate_is_written_as_the_nominal_rate(tmp_path):
    """A constant-rate recording's stream header says the rate it was given (e.g. 29.97)."""
    path = tmp_path / "rec.mp4"
    rate = Fraction(30000, 1001)
    record(path, [i / rate for i in range(30)], fps=float(rate))
    assert probe(path).fps == pytest.approx(float(rate), rel=1e-3)
