"""Issue 21's last edges: ``--loop`` pacing, native log noise, WebM after SIGKILL."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time

import pytest
from test_crash_safety import APP_TESTS, FPS, KILLED_CHILD, ROOT, SIZE, STARTUP_S

from camfilters.native_log import _NATIVE_NOISE

from cli_helpers import cli_main, popen, stop
from helpers import decode_frames
from media import frame_index, make_video


@pytest.mark.slow  # real wall time: a paced run of 2 s
def test_loop_on_a_one_frame_file_plays_at_the_files_rate(tmp_path):
    """A one-frame 30 fps file with ``--loop`` repeats its frame 30 times a second, not as fast as it can."""
    clip = make_video(tmp_path / "one.mp4", 1, fps=30)
    result = cli_main("run", "--source", str(clip), "--loop", "--no-window", "--duration", "2")
    assert result.returncode == 0, result.stderr
    frames, seconds = re.search(r"(\d+) frames in ([\d.]+) s", result.stderr).groups()
    assert int(frames) / float(seconds) <= 1.5 * 30, result.stderr


@pytest.mark.face  # MediaPipe loads the model
def test_a_corrupt_model_file_gives_only_camfilters_line(tmp_path):
    """TFLite's "ERROR: The model is not a valid Flatbuffer buffer" stays off the terminal: one line, ours."""
    model = tmp_path / "bad.tflite"
    model.write_bytes(random.Random(21).randbytes(100_000))
    clip = make_video(tmp_path / "in.mp4", 2)
    result = cli_main("render", str(clip), "-o", str(tmp_path / "out.mp4"), "--lens", "face-blur",
                      "--detector-model", str(model))
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"camfilters: error: cannot load the model {model}: " \
                            "not a TensorFlow Lite model\n", result.stderr


@pytest.mark.parametrize("line", [
    "ALSA lib pcm.c:2664:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear",
    "ALSA lib pulse.c:242:(pulse_connect) PulseAudio: Unable to connect: Connection refused",
    "Expression 'ret' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 1736",
    "Expression 'AlsaOpen( hostApi, parameters, streamDir, &pcm )' failed in "
    "'src/hostapi/alsa/pa_linux_alsa.c', line: 1904",
    "E0000 00:00:1733600000.123456   12345 inference_calculator.cc:42] model failed",
    "ERROR: The model is not a valid Flatbuffer buffer",
])
def test_native_noise_lines_are_recognised(line):
    """ALSA, PortAudio, absl and TFLite lines are noise; camfilters' own lines and tracebacks are not."""
    assert _NATIVE_NOISE.match(line)
    for ours in ("camfilters: error: no sound device", "Traceback (most recent call last):", "ERROR_CODE=1"):
        assert not _NATIVE_NOISE.match(ours)


@pytest.mark.slow  # a process of its own, SIGKILLed
@pytest.mark.parametrize("seconds", [1, 3])
def test_a_webm_recording_sigkilled_loses_at_most_0_3_s(tmp_path, seconds):
    """Like MP4 and MKV, a WebM killed ``seconds`` in decodes all but the last 0.3 s of the frames it was given
    (libvpx held back 25 frames, 0.8 s, and the whole first second)."""
    path = tmp_path / "rec.webm"
    script = tmp_path / "child.py"
    script.write_text(KILLED_CHILD.format(root=str(ROOT), tests=str(APP_TESTS), size=SIZE, fps=FPS))
    child = popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + STARTUP_S
        for line in child.stdout:  # frames given to the encoder so far
            if int(line) >= seconds * FPS or time.monotonic() > deadline:
                break
        given = int(line)
        assert given >= seconds * FPS, "the child did not encode its frames in time"
        child.kill()
    finally:
        stop(child)
    indices = [frame_index(f) for f in decode_frames(path)] if path.stat().st_size else []
    assert indices == list(range(len(indices)))
    assert given - len(indices) <= 0.3 * FPS, (given, len(indices))
