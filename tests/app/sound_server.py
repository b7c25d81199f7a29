"""A private PulseAudio server for the audio tests: a null sink whose monitor is the microphone.

    with SoundServer(tmp_path) as server:
        subprocess.run([...], env=server.env)      # camfilters --audio records what is played
        server.play(samples)                       # into the null sink, heard on its monitor

It listens on a unix socket in its own folder only (no TCP, no D-Bus, no autospawn), and
is stopped (SIGTERM, then SIGKILL) when the block ends. `env` is `os.environ` plus what
points a client (PortAudio's ALSA "pulse" device, paplay, pactl) at this server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from helpers import wait_for

RATE = 48000


def available() -> str | None:
    """Why the audio tests cannot run here, or None if they can."""
    missing = [c for c in ("pulseaudio", "pactl", "paplay") if shutil.which(c) is None]
    if missing:
        return f"needs {', '.join(missing)} (apt install pulseaudio pulseaudio-utils)"
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"needs sounddevice and libportaudio2 ({exc})"
    return None


class SoundServer:
    """A pulseaudio daemon in ``folder`` with one null sink, ``mic``, whose monitor is the default source."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.socket = folder / "native"
        client_conf = folder / "client.conf"
        client_conf.write_text("autospawn = no\n")
        self.env = dict(os.environ, PULSE_SERVER=f"unix:{self.socket}", PULSE_RUNTIME_PATH=str(folder),
                        PULSE_STATE_PATH=str(folder), PULSE_CLIENTCONFIG=str(client_conf),
                        PULSE_COOKIE=str(folder / "cookie"), XDG_RUNTIME_DIR=str(folder))
        self.log = open(folder / "pulseaudio.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--use-pid-file=false",
             "--disable-shm=yes", "--load=module-null-sink sink_name=mic rate=48000",
             f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=folder)
        try:
            wait_for(lambda: self.process.poll() is not None or self.pactl("info").returncode == 0, 20,
                     "pulseaudio to answer")
            if self.process.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {(folder / 'pulseaudio.log').read_text()[-500:]}")
        except BaseException:
            self.stop()
            raise

    def pactl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=20)

    def unplug(self) -> None:
        """Remove the null sink (and so the microphone, its monitor), as pulling out a USB microphone does."""
        result = self.pactl("unload-module", "module-null-sink")
        assert result.returncode == 0, result.stderr

    def play(self, samples: np.ndarray, rate: int = RATE) -> subprocess.Popen:
        """Start playing mono float samples into the sink with paplay; returns the process (wait on it)."""
        path = self.folder / f"play-{time.monotonic_ns()}.raw"
        np.asarray(samples, np.float32).tofile(path)
        return subprocess.Popen(["paplay", "--raw", "--format=float32le", "--channels=1", f"--rate={rate}",
                                 "--device=mic", str(path)], env=self.env)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self) -> SoundServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
