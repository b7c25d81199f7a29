"""Animated GIF output: size, rate and frame count as ffprobe sees them, frames picked by their
timestamps, colours against FFmpeg's own palettegen/paletteuse, the refusals, and the recorder."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import camfilters.media.gif as gif_module
from camfilters.errors import ParameterError, RecordingError
from camfilters.media.gif import GifOutput, GifSettings
from camfilters.options import RenderOptions
from camfilters.recording import Recorder
from camfilters.render import RenderInterrupted, render

from cli_helpers import cli_main
from helpers import decode_frames
from media import frame_image, frame_index, make_video, probe

DATA = Path(__file__).resolve().parents[1] / "data"


def same(image: np.ndarray, seconds: float) -> np.ndarray:
    return image


def photo_pan(path: Path, frames: int, size: tuple[int, int] = (320, 180), fps: int = 30) -> list[np.ndarray]:
    """A lossless (FFV1) clip panning over a softened photo, like a camera moving; returns its frames (BGR)."""
    width, height = size
    photo = cv2.GaussianBlur(cv2.imread(str(DATA / "chelsea.png")), (0, 0), 1.5)
    big = cv2.resize(photo, (width * 3 // 2, width * 3 // 2 * photo.shape[0] // photo.shape[1]))
    images = [np.ascontiguousarray(big[i : i + height, 2 * i : 2 * i + width]) for i in range(frames)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="bgr0")))
        container.mux(stream.encode(None))
    return images


def channel_error(gif: Path, expected: list[np.ndarray]) -> np.ndarray:
    """Mean absolute error per channel (B, G, R levels) of the decoded GIF's frames against ``expected``."""
    decoded = decode_frames(gif)
    assert len(decoded) == len(expected)
    return np.mean([np.abs(d.astype(np.int16) - e).mean(axis=(0, 1)) for d, e in zip(decoded, expected)], axis=0)


def test_render_defaults_to_480_wide_at_15_fps_without_sound(tmp_path, caplog):
    """A 640x360 30 fps clip of 1 s becomes a 480x270 GIF of 15 frames lasting 1 s; its sound is dropped, said once."""
    source = make_video(tmp_path / "in.mp4", 30, size=(640, 360), fps=30, audio=True)
    out = tmp_path / "out.gif"
    with caplog.at_level("INFO", logger="camfilters"):
        render(source, out, same, progress=False)
    info = probe(out)
    assert (info.video_codec, info.width, info.height, info.frames) == ("gif", 480, 270, 15)
    assert info.audio_codec is None
    assert float(info.fps) == pytest.approx(15, rel=0.01)  # delays of 7, 7, 6 cs
    assert info.duration == pytest.approx(1.0, abs=0.01)
    assert [frame_index(f) for f in decode_frames(out)] == list(range(0, 30, 2))
    assert ["sound of in.mp4 is not kept" in r.message for r in caplog.records].count(True) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.gif"]  # no temporary file left


def test_frames_are_picked_by_their_timestamps(tmp_path):
    """With irregular frame times, GIF frame k shows the frame shown at k/fps (the last one starting by then)."""
    starts = [0, 30, 40, 200, 210, 220, 500, 900]  # ms
    out = tmp_path / "vfr.gif"
    output = GifOutput(out, (96, 48), settings=GifSettings(fps=10))
    for i, (start, end) in enumerate(zip(starts, starts[1:] + [1000])):
        output.encode(frame_image(i, (96, 48)), start, end - start)
    output.close()
    ticks = np.arange(10) * 100  # 1 s at 10 fps
    expected = np.searchsorted(starts, ticks, side="right") - 1
    assert [frame_index(f) for f in decode_frames(out)] == expected.tolist()
    assert probe(out).duration == pytest.approx(1.0, abs=0.01)


def test_a_new_paletteuse_every_few_frames_gives_the_same_gif(tmp_path, monkeypatch):
    """paletteuse's graph is renewed to bound its colour cache; dithering is per frame, so the bytes are the same."""
    gifs = []
    for every in (1, 1000):
        monkeypatch.setattr(gif_module, "_PALETTEUSE_FRAMES", every)
        gifs.append(tmp_path / f"every{every}.gif")
        output = GifOutput(gifs[-1], (96, 48), time_base=Fraction(1, 15))
        for i in range(6):
            output.encode(frame_image(i, (96, 48)), i, 1)
        output.close()
    assert gifs[0].read_bytes() == gifs[1].read_bytes()


def test_colours_match_ffmpegs_palettegen_and_paletteuse(tmp_path):
    """Mean error per channel against the source < 5 levels on a smooth photo pan, and within 1 level of what
    Debian's ``ffmpeg`` palettegen/paletteuse (defaults) make of the same frames at the same rate.

    Measured: 4.1, 3.2, 3.6 (B, G, R) against ffmpeg's 3.4, 3.2, 3.7; PyAV's newer FFmpeg picks the
    palette in OkLab, which spends fewer colours on blue, where the eye sees least."""
    source = tmp_path / "pan.mkv"
    images = photo_pan(source, 30)
    out = tmp_path / "out.gif"
    render(source, out, same, RenderOptions(gif=GifSettings(fps=15)), progress=False)
    reference = tmp_path / "ffmpeg.gif"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-lavfi",
                    "fps=15,split[a][b];[a]palettegen[p];[b][p]paletteuse", str(reference)], check=True)
    shown = images[::2]  # 30 fps to 15
    ours, theirs = channel_error(out, shown), channel_error(reference, shown)
    assert np.all(ours < 5), (ours, theirs)
    assert np.all(ours <= theirs + 1), (ours, theirs)


def test_size_and_fps_are_settable(tmp_path):
    """--size W keeps the aspect ratio, WxH is exact; --fps 10 gives 10 frames a second, from the CLI."""
    source = make_video(tmp_path / "in.mp4", 30, size=(320, 240), fps=30)
    done = cli_main("render", str(source), "-o", str(tmp_path / "a.gif"), "--size", "100", "--fps", "10",
                    "--no-progress")
    assert done.returncode == 0, done.stderr
    info = probe(tmp_path / "a.gif")
    assert (info.width, info.height, info.frames) == (100, 75, 10)
    assert float(info.fps) == pytest.approx(10, rel=0.01)
    render(source, tmp_path / "b.gif", same, RenderOptions(gif=GifSettings(width=64, height=64)), progress=False)
    assert (probe(tmp_path / "b.gif").width, probe(tmp_path / "b.gif").height) == (64, 64)


@pytest.mark.parametrize(("args", "message"), [
    (["--fps", "60"], "GIF fps must be from 0.1 to 50 (browsers play faster GIFs at 10 fps), got 60.0"),
    (["--size", "0x10"], "size must be a width such as 480, or WxH such as 480x270, got '0x10'"),
    (["--size", "70000"], "GIF width must be a whole number from 1 to 65535 pixels, got 70000"),
    (["--fps", "10", "-o", "OUT.mp4"], "--size and --fps set a GIF's size and rate, and {tmp}/OUT.mp4 is not a .gif"),
])
def test_bad_gif_options_are_refused_in_one_line(tmp_path, args, message):
    source = make_video(tmp_path / "in.mp4", 2)
    args = [a.replace("OUT", str(tmp_path / "OUT")) for a in args]
    output = [] if "-o" in args else ["-o", str(tmp_path / "out.gif")]
    done = cli_main("render", str(source), *output, *args, "--no-progress")
    assert done.returncode == 2
    assert message.format(tmp=tmp_path) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_recording_a_gif_appears_only_when_closed_and_drops_sound(tmp_path, caplog):
    """The recorder's GIF is not at its name until closed (a crash leaves none); sound is refused in one warning."""
    out = tmp_path / "rec.gif"
    with caplog.at_level("WARNING", logger="camfilters"):
        recorder = Recorder(out, size=(160, 120), fps=30, audio=(48000, 1), gif=GifSettings(fps=10))
    assert [r.message for r in caplog.records] == ["rec.gif holds no sound: the sound is not recorded"]
    recorder.write_audio(np.zeros((480, 1), np.float32), 100.0)  # ignored
    for i in range(15):
        recorder.write(frame_image(i, (160, 120)), 100.0 + i / 30)
    assert not out.exists()
    recorder.close()
    info = probe(out)
    assert (info.width, info.height, info.frames, info.audio_codec) == (160, 120, 5, None)
    assert [frame_index(f) for f in decode_frames(out)] == [0, 3, 6, 9, 12]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.gif"]


def test_gif_settings_are_for_gifs_only(tmp_path):
    source = make_video(tmp_path / "in.mp4", 2)
    with pytest.raises(ParameterError, match=r"out\.mp4 is not a \.gif"):
        render(source, tmp_path / "out.mp4", same, RenderOptions(gif=GifSettings()), progress=False)
    assert GifSettings().size_for((320, 240)) == (320, 240)  # never scaled up by default
    assert GifSettings(height=120).size_for((640, 360)) == (213, 120)


def test_run_refuses_audio_into_a_gif(tmp_path):
    done = cli_main("run", "--source", "demo", "--no-window", "--record", str(tmp_path / "a.gif"), "--audio",
                    "--max-frames", "1")
    assert done.returncode == 2
    assert "--audio: a.gif is a GIF, which holds no sound" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_batch_renders_gifs_with_ext_gif(tmp_path):
    """``--ext gif`` writes GIFs through the batch's worker processes; --fps without it is refused."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        make_video(folder / f"{name}.mp4", 6, size=(64, 48), fps=30)
    done = cli_main("render", str(folder), "-o", str(tmp_path / "out"), "--ext", "gif", "--fps", "10",
                    "--jobs", "1", "--no-progress")
    assert done.returncode == 0, done.stderr
    for name in ("a", "b"):
        info = probe(tmp_path / "out" / f"{name}.gif")
        assert (info.video_codec, info.width, info.frames) == ("gif", 64, 2)
    refused = cli_main("render", str(folder), "-o", str(tmp_path / "out2"), "--fps", "10", "--no-progress")
    assert refused.returncode == 2
    assert "--size and --fps set the size and rate of GIF outputs; add --ext gif" in refused.stderr



CHILD = """
import sys, numpy as np
from camfilters.recording import Recorder
recorder = Recorder(sys.argv[1], size=(160, 120), fps=30, overwrite=True)
for i in range(10**6):
    recorder.write(np.full((120, 160, 3), i % 256, np.uint8), i / 30)
    if i == 30:
        print("recording", flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads the child's open files in /proc")
def test_a_killed_gif_recording_leaves_the_old_file_and_no_frames_file(tmp_path):
    """SIGKILL mid-recording: out.gif keeps its old bytes, the frames file (unnamed, beside it) goes with the
    process, and the next recording of it removes the empty hidden temporary file left."""
    out = tmp_path / "out.gif"
    out.write_bytes(b"old")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "recording\n"
        fds = Path(f"/proc/{child.pid}/fd")
        opened = [os.readlink(fd) for fd in fds.iterdir()]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert out.read_bytes() == b"old"
    left = [p for p in tmp_path.iterdir() if p != out]
    assert [p.stat().st_size for p in left] == [0] and left[0].name.startswith(".out.")
    assert any(name.startswith(str(tmp_path)) and name.endswith(" (deleted)") for name in opened), opened
    with Recorder(out, size=(32, 32), overwrite=True) as recorder:
        recorder.write(np.zeros((32, 32, 3), np.uint8), 0.0)
    assert sorted(tmp_path.iterdir()) == [out]
    assert probe(out).frames == 1


def test_a_failed_gif_recording_keeps_the_file_it_would_have_replaced(tmp_path, monkeypatch):
    """A write error (disk full) says nothing was kept, and an existing out.gif keeps its bytes."""
    out = tmp_path / "out.gif"
    out.write_bytes(b"old")

    def full(self, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(GifOutput, "encode", full)
    recorder = Recorder(out, size=(32, 32), overwrite=True)
    recorder.write(np.zeros((32, 32, 3), np.uint8), 0.0)
    with pytest.raises(RecordingError, match=r"disk full \(.*\) while recording .*out\.gif: nothing could be kept"):
        recorder.close()
    assert out.read_bytes() == b"old"
    assert sorted(tmp_path.iterdir()) == [out]


def test_an_interrupted_render_keeps_the_frames_done_as_a_partial_gif(tmp_path):
    """Ctrl-C at input frame 20 of 30 (30 fps): out-partial.gif is a whole GIF of the frames done, out.gif is absent."""
    source = make_video(tmp_path / "in.mp4", 30, size=(96, 48), fps=30)

    def interrupt(image: np.ndarray, seconds: float) -> np.ndarray:
        if frame_index(image) == 20:
            raise KeyboardInterrupt
        return image

    with pytest.raises(RenderInterrupted) as info:
        render(source, tmp_path / "out.gif", interrupt, RenderOptions(gif=GifSettings(fps=10)), progress=False)
    assert info.value.partial == tmp_path / "out-partial.gif"
    indices = [frame_index(f) for f in decode_frames(info.value.partial)]
    assert indices == list(range(0, 20, 3))[: len(indices)] and len(indices) >= 5, indices
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out-partial.gif"]


def resident_mb() -> float:
    """This process's resident memory (VmRSS), in MB."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_frames_are_not_kept_in_memory(tmp_path):
    """200 more frames of 320x240 (46 MB) add under 12 MB of resident memory: they wait on disk, and
    palettegen's queue is drained as they come (PyAV's push alone queues every frame until the end)."""
    output = GifOutput(tmp_path / "long.gif", (320, 240), settings=GifSettings(fps=30), time_base=Fraction(1, 30))
    image = frame_image(0, (320, 240))
    try:
        for i in range(20):
            output.encode(image, i, 1)
        before = resident_mb()
        for i in range(20, 220):
            output.encode(image, i, 1)
        grown = resident_mb() - before
    finally:
        output.close()
    assert grown < 12, grown
    assert probe(tmp_path / "long.gif").frames == 220
