"""A/V sync of ``run --audio`` over a long take: flashes from a network camera and clicks at the same instants.

A local MJPEG server sends frames at fixed instants on `time.monotonic` (black, and a
white one every `FLASH_EVERY_S`), while the test plays a click into the PulseAudio sink
at each flash's instant (its output callback maps ``outputBufferDacTime`` onto the same
clock). In the recording each flash and its click must be within `TOLERANCE_S`. A camera
frame that arrived late (the machine was busy: it is stamped on arrival, as a webcam's is)
shows as a flash off its 2 s grid, a click the test's player got out late (its stream ran
dry) as a click off its grid; those few (at most 10 %) are counted, reported and left out
of the pairs, so the test measures where the recorder places the sound, not the test's or
the capture thread's scheduling on a loaded machine.
Takes `TAKE_S` of wall time: marked slow, and part of ``make test``.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from cli_helpers import popen, started, stop
from helpers import wait_for_text
from sound_server import RATE, SoundServer, available

log = logging.getLogger(__name__)

FPS = 30
SIZE = (160, 120)
TAKE_S = float(os.environ.get("CAMFILTERS_SYNC_TAKE_S", "65"))  # longer to measure, e.g. 600
pytestmark = [pytest.mark.skipif(available() is not None, reason=available() or ""), pytest.mark.timeout(TAKE_S + 600)]
FLASH_EVERY_S = 2.0
TOLERANCE_S = 0.040
JITTER_S = 0.020  # a flash (click) further than this from its 2 s grid came from a late camera frame (player)


class FlashServer:
    """MJPEG over HTTP on 127.0.0.1: frame ``i`` is sent at ``t0 + i / FPS`` (monotonic); white if a flash."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        black = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        self.jpegs = [cv2.imencode(".jpg", black + value)[1].tobytes() for value in (0, 255)]
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = max(0, math.ceil((time.monotonic() - server.t0) * FPS))
                try:
                    while not server.stop.is_set():
                        server.stop.wait(max(0.0, server.t0 + i / FPS - time.monotonic()))
                        jpeg = server.jpegs[server.is_flash(i)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                         + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                        self.wfile.flush()
                        i += 1
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stream.mjpg"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @staticmethod
    def is_flash(i: int) -> bool:
        return i > 0 and i % round(FPS * FLASH_EVERY_S) == 0

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


#: Run in its own process (PortAudio there sees the test's sound server): plays a click into the sink at
#: each flash instant, placed by the output's DAC time moved onto time.monotonic (one clock for all processes).
CLICKER = """
import math, sys, time
import numpy as np, sounddevice as sd
t0, fps, every, rate, seconds = map(float, sys.argv[1:])
click = (0.8 * np.sin(2 * np.pi * 2000 * np.arange(240) / rate)).astype(np.float32)  # 5 ms at 2 kHz
offsets, step = [], round(fps * every)
state = {"next": step, "rest": np.zeros(0, np.float32)}  # the next flash index to click; a click's unplayed end
def callback(out, frames, info, status):
    offsets.append(time.monotonic() - info.currentTime)
    del offsets[:-100]
    dac = info.outputBufferDacTime + min(offsets)  # when out[0] is heard, on time.monotonic
    out.fill(0)
    rest = state["rest"][:frames]
    out[: len(rest), 0] = rest
    state["rest"] = state["rest"][len(rest) :]
    while t0 + state["next"] / fps < dac + frames / rate:  # every click is played: a late one at once
        at = max(0, round((t0 + state["next"] / fps - dac) * rate))
        part = click[: frames - at]
        out[at : at + len(part), 0] = part
        state["rest"] = click[len(part) :]
        state["next"] += step
with sd.OutputStream(device="pulse", samplerate=rate, channels=1, dtype="float32", blocksize=480, latency="low",
                     callback=callback):
    time.sleep(seconds)
"""


def off_grid(times: np.ndarray) -> np.ndarray:
    """How far (s) each of events meant to be `FLASH_EVERY_S` apart is from that grid (its median fit)."""
    grid = np.round((times - times[0]) / FLASH_EVERY_S) * FLASH_EVERY_S
    return (times - grid) - np.median(times - grid)


def flash_times(path: Path) -> np.ndarray:
    """Times (s) of the first white frame of each flash."""
    times, previous = [], False
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            white = frame.to_ndarray(format="gray").mean() > 128
            if white and not previous:
                times.append(float(frame.time))
            previous = white
    return np.array(times)


def click_times(path: Path) -> np.ndarray:
    """Times (s) where a click starts in the audio: a sample above 0.2 after 0.5 s below it."""
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
        start = frames[0].time
        samples = np.concatenate([f.to_ndarray()[0] for f in frames])
    loud = np.flatnonzero(np.abs(samples) > 0.2)
    onsets = loud[np.diff(loud, prepend=-RATE) > RATE // 2]
    return start + onsets / RATE


@pytest.mark.slow
def test_each_flash_and_its_click_are_within_40_ms_over_a_minute(tmp_path):
    out, log_path = tmp_path / "take.mp4", tmp_path / "log.txt"
    with SoundServer(tmp_path / "pulse") as sound:
        t0 = time.monotonic() + 1.0
        server = FlashServer(t0)
        clicker = popen([sys.executable, "-c", CLICKER, str(t0), str(FPS), str(FLASH_EVERY_S), str(RATE),
                         str(TAKE_S + 120)], env=sound.env)
        try:
            with log_path.open("w") as log_file, started(
                    [sys.executable, "-m", "camfilters", "-v", "run", "--source", server.url, "--no-window",
                     "--duration", str(TAKE_S), "--record", str(out), "--audio"],
                    stdout=subprocess.DEVNULL, stderr=log_file, env=sound.env) as proc:
                assert proc.wait(TAKE_S + 240) == 0, log_path.read_text()
        finally:
            stop(clicker)
            server.close()
    text = wait_for_text(log_path, "saved", 1)
    flashes, clicks = flash_times(out), click_times(out)
    expected = TAKE_S / FLASH_EVERY_S
    # a loaded machine may drop a frame (the camera's latest frame wins): a flash can be missing, never late
    assert len(flashes) >= 0.8 * expected and len(clicks) >= 0.9 * expected, (flashes, clicks, text)
    # A camera frame can also arrive late on a loaded machine (stamped when it arrives, as a real camera's
    # frame is): measured against the flashes' own 2 s grid, such a flash is left out of the pairs and counted.
    # The same for a click the test's player got out late (its stream ran dry: an underflow on the busy machine).
    # Placing sound can only move every later click at once (silence or a cut), never one alone.
    video_late, audio_late = off_grid(flashes), off_grid(clicks)
    on_time = flashes[np.abs(video_late) <= JITTER_S]
    played = clicks[np.abs(audio_late) <= JITTER_S]
    pairs = [(f, played[np.argmin(np.abs(played - f))]) for f in on_time]
    offsets = np.array([c - f for f, c in pairs if abs(c - f) < FLASH_EVERY_S / 2])  # > 0: sound late
    log.warning("A/V offset (click - flash) over %.0f s: first %+.1f ms, last %+.1f ms, range %+.1f..%+.1f ms, "
                "median |offset| %.1f ms; %d flashes (%d arrived late, up to %.0f ms), %d clicks (%d played late, "
                "up to %.0f ms), %d pairs",
                flashes[-1] - flashes[0], offsets[0] * 1e3, offsets[-1] * 1e3, offsets.min() * 1e3,
                offsets.max() * 1e3, np.median(np.abs(offsets)) * 1e3, len(flashes), len(flashes) - len(on_time),
                np.abs(video_late).max() * 1e3, len(clicks), len(clicks) - len(played),
                np.abs(audio_late).max() * 1e3, len(offsets))
    assert len(on_time) >= 0.9 * len(flashes), video_late
    # The test's own player on a fresh PulseAudio server can start up to ~30 ms off its grid for the first
    # few clicks (seen: 5 of 32 on a quiet machine, settling to < 1 ms): those are the harness, not the app.
    assert len(played) >= 0.75 * len(clicks), audio_late
    assert len(offsets) >= 0.75 * expected
    assert flashes[-1] - flashes[0] >= TAKE_S - 10.0
    assert np.abs(offsets).max() <= TOLERANCE_S, offsets
