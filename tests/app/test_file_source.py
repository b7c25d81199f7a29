"""A file source records at the file's own times with all of its sound (issue 22.6), and plays phone clips
upright: checked against ffprobe, PyAV's decoding of the source and ffmpeg's own autorotation."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.signal import correlate

from camfilters.capture import open_source
from camfilters.errors import ExitCode
from camfilters.live import LiveOptions, LiveSession

from cli_helpers import assert_one_line_error, cli_main
from helpers import decode_frames, frame_times, mean_abs
from media import frame_image, make_video, probe

pytestmark = pytest.mark.timeout(120)

SECONDS, FPS, RATE = 2, 30, 48000


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def chirp_clip(tmp_path_factory) -> Path:
    """2 s of test pattern at 30 fps with a stereo 48 kHz sweep (AAC), muxed by ffmpeg as usual (interleaved)."""
    path = tmp_path_factory.mktemp("chirp") / "chirp.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration={SECONDS}",
           "-f", "lavfi", "-i", f"aevalsrc=0.4*sin(2*PI*(200+300*t)*t):s={RATE}:d={SECONDS}:c=stereo",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", "-shortest", str(path))
    return path


def sound(path: Path) -> np.ndarray:
    """The first channel of ``path``'s audio, decoded by PyAV, float, at its presentation times from 0."""
    with av.open(str(path)) as container:
        blocks = [f.to_ndarray()[0] for f in container.decode(audio=0)]
    return np.concatenate(blocks).astype(np.float64)


class Stall:
    """A stage that holds the preview back, as a heavy filter on a loaded machine: 40 ms a frame, 200 ms
    every 10th (the clip plays at 33 ms a frame)."""

    name = "stall"

    def __init__(self) -> None:
        self.calls = 0

    def process(self, image: np.ndarray, timestamp: float) -> np.ndarray:
        self.calls += 1
        time.sleep(0.2 if self.calls % 10 == 0 else 0.04)
        return image


@pytest.mark.slow  # about 4 s of slowed preview
@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_a_slowed_preview_records_every_frame_at_the_files_times_with_all_its_sound(tmp_path, chirp_clip, ext):
    out = tmp_path / f"out.{ext}"
    session = LiveSession(LiveOptions(source=str(chirp_clip), record=out, window=False))
    stall = Stall()
    session.chain.stages = [stall]
    started = time.monotonic()
    stats = session.run()
    played = time.monotonic() - started
    assert stall.calls == SECONDS * FPS and played > 1.5 * SECONDS  # every frame went through, slowly
    assert stats.frames_recorded == SECONDS * FPS
    source, recorded = probe(chirp_clip), probe(out)
    assert recorded.frames == source.frames == SECONDS * FPS
    assert abs(recorded.video_duration - source.video_duration) <= 1 / FPS, (recorded, source)
    # the file's presentation times, not the preview's (which were 40-200 ms apart); MP4 (AAC): the writer
    # lengthens frame 0 by the encoder's 1024 priming samples, moving the later frames by 21.3 ms
    shift = np.array(frame_times(out)) - np.array(frame_times(chirp_clip))
    assert shift[0] == 0 and np.ptp(shift[1:]) < 1e-3, shift
    assert abs(shift[1] - (1024 / RATE if ext == "mp4" else 0)) < 1e-3, shift
    # all of the sound, sample for sample: aligned by cross-correlation (AAC delays both by its priming)
    want, got = sound(chirp_clip), sound(out)
    lag = int(np.argmax(correlate(got[:RATE], want[: RATE // 2], "valid", method="fft")))
    n = min(len(want), len(got) - lag) - RATE // 20  # the last 50 ms: the end of the video cuts it
    assert n > (SECONDS - 0.1) * RATE, (len(want), len(got), lag)
    a, b = want[:n], got[lag : lag + n]
    assert np.corrcoef(a, b)[0, 1] > 0.99
    # no gaps: every 10 ms of the recording holds the sweep at its level (a gap would be silence)
    windows = n // 480
    level = np.sqrt((b[: windows * 480].reshape(windows, 480) ** 2).mean(axis=1))
    assert level.min() > 0.5 * 0.4 / np.sqrt(2), level.min()


@pytest.mark.parametrize("degrees", [90, 270])
def test_a_rotated_clip_plays_upright(tmp_path, degrees):
    """Display rotation honoured: frames as ffmpeg's own autorotation gives them (< 4 levels), size swapped."""
    plain = make_video(tmp_path / "plain.mp4", 6, size=(160, 120))
    src = tmp_path / "phone.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(src))
    upright = tmp_path / "upright.raw"
    ffmpeg("-i", str(src), "-f", "rawvideo", "-pix_fmt", "bgr24", str(upright))
    with open_source(str(src), realtime=False) as source:
        assert source.size == (120, 160)
        frames = [f.image for f in source]
    reference = np.fromfile(upright, np.uint8).reshape(6, 160, 120, 3)
    assert len(frames) == 6
    for i, frame in enumerate(frames):
        assert mean_abs(frame, reference[i]) < 4.0, i
        assert mean_abs(frame, np.rot90(frame_image(i, (160, 120)), degrees // 90)) < 4.0, i


def test_frames_carry_the_files_sound_without_gaps_or_overlaps(chirp_clip):
    """Each frame's sound starts where the previous one's ended (on the frames' clock), and together they are
    the whole track PyAV decodes, from the first frame on."""
    with open_source(str(chirp_clip), realtime=False) as source:
        assert source.sound_format == (RATE, 2)
        frames = list(source)
    sounds = [f.sound for f in frames if f.sound is not None]
    assert len(frames) == SECONDS * FPS and len(sounds) >= len(frames) - 2
    assert abs(sounds[0].timestamp - frames[0].timestamp) < 1 / RATE
    for before, after in zip(sounds, sounds[1:]):
        assert abs(before.timestamp + len(before.samples) / RATE - after.timestamp) < 1e-6
    carried = np.concatenate([s.samples[:, 0] for s in sounds])
    want = sound(chirp_clip)
    assert abs(len(carried) - len(want)) < RATE / FPS + 1024
    n = min(len(carried), len(want))
    np.testing.assert_allclose(carried[:n], want[:n], atol=1e-6)
    assert decode_frames(chirp_clip)[0].shape == frames[0].image.shape


@pytest.mark.parametrize("own_times", [True, False])
def test_frames_are_stamped_with_the_files_times_or_when_shown(chirp_clip, own_times):
    """A consumer taking 60 ms a frame of a 30 fps file: by default the file's times (1/30 s apart); with
    ``own_times=False`` when they were released (60 ms apart), the real clock a microphone keeps."""
    with open_source(str(chirp_clip), own_times=own_times) as source:
        stamps = []
        for _ in range(6):
            stamps.append(source.read().timestamp)
            time.sleep(0.06)
    steps = np.diff(stamps)
    if own_times:
        np.testing.assert_allclose(steps, 1 / FPS, atol=1e-6)
    else:
        assert steps.min() >= 0.06


@pytest.mark.parametrize("command", ["run", "render"])
def test_frames_over_8k_are_refused_before_decoding_in_one_line(tmp_path, command):
    """A 7700x4400 file (past 8K UHD): one line naming the size and the fix, exit 3, nothing written."""
    big = tmp_path / "big.avi"
    ffmpeg("-f", "lavfi", "-i", "color=size=7700x4400:rate=1:duration=1", "-c:v", "mpeg4", str(big))
    out = tmp_path / "out.mp4"
    args = ["run", "--source", str(big), "--no-window", "--record", str(out)] if command == "run" else \
        ["render", str(big), "-o", str(out), "--no-progress"]
    proc = cli_main(*args)
    assert proc.returncode == ExitCode.SOURCE
    assert_one_line_error(proc, f"{big} is 7700x4400: more pixels than 8K UHD (7680x4320) are not read; scale it")
    assert not out.exists()
