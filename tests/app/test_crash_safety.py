"""What survives when a recording is killed or its disk fills: checked on the bytes left, with PyAV and ffprobe.

Nothing here waits a fixed time: children report progress, and the tests wait for it
with a deadline, so they hold with both cores busy.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from camfilters.errors import RecordingError
from camfilters.media import repair, writer
from camfilters.recording import LIVE_PRESET, Recorder

from cli_helpers import camfilters, popen, start, stop
from helpers import decode, decode_frames, wait_for
from media import frame_image, frame_index, probe, top_level_atoms

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe (Debian package ffmpeg)")

APP_TESTS = Path(__file__).resolve().parent
ROOT = APP_TESTS.parents[1]
SIZE = (160, 120)
FPS = 30
STARTUP_S = 300  # JIT start-up of a child on a loaded machine


def noisy_frame(index: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """`frame_image(index)` whose lower part is noise: hard to compress, so a small disk fills fast."""
    image = frame_image(index, size)
    band = size[1] // 3
    image[band:] = rng.integers(0, 256, image[band:].shape, np.uint8)
    return image


def span_s(times: list[float]) -> float:
    """Seconds of video from the first frame's start to the last one's end (frames last as long as the one before)."""
    return times[-1] - times[0] + (times[-1] - times[-2])


class StderrLines:
    """Collects a child's stderr lines on a thread, so the test can wait for one without blocking."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def join(self) -> None:
        """Wait until the child's stderr is closed and read."""
        self._thread.join(60)

    def wait_for(self, needle: str, proc: subprocess.Popen, timeout: float) -> float:
        """The monotonic time at which a line containing ``needle`` was seen (fails on timeout or exit)."""

        def seen() -> bool:
            if any(needle in line for line in self.lines):
                return True
            if proc.poll() is not None:
                self._thread.join(5)
                pytest.fail(f"the child ended ({proc.returncode}) before {needle!r}: {''.join(self.lines)}")
            return False

        try:
            wait_for(seen, timeout, repr(needle))
        except AssertionError as exc:
            pytest.fail(f"{exc}: {''.join(self.lines)}")
        return time.monotonic()


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB tmpfs mounted for the test (needs root), unmounted after."""
    folder = tmp_path / "small"
    folder.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs", str(folder)],
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {getattr(exc, 'stderr', '') or exc}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


# --- SIGKILL ---------------------------------------------------------------------------------------

KILLED_CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from camfilters.recording import LIVE_PRESET, Recorder
    from media import frame_image

    rec = Recorder(sys.argv[1], {size!r}, fps={fps}, preset=LIVE_PRESET)
    for i in range(4096):
        rec.write(frame_image(i, {size!r}), i / {fps})
        print(rec.frames_encoded, flush=True)
        time.sleep(1 / {fps} / 2)  # about a live loop's pace
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".mov", ".webm"])
def test_a_recording_sigkilled_after_6_s_keeps_at_least_5_s(tmp_path, ext):
    """SIGKILL once 6 s of frames are encoded: the file decodes (PyAV, ffprobe) with frames 0..n-1, n >= 5 s."""
    path = tmp_path / f"rec{ext}"
    script = tmp_path / "child.py"
    script.write_text(KILLED_CHILD.format(root=str(ROOT), tests=str(APP_TESTS), size=SIZE, fps=FPS))
    child = popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + STARTUP_S
        for line in child.stdout:  # frames encoded so far, one line per frame written
            if int(line) >= 6 * FPS or time.monotonic() > deadline:
                break
        assert int(line) >= 6 * FPS, "the child did not encode 6 s of frames in time"
        child.kill()
    finally:
        stop(child)
    frames = decode_frames(path)
    assert [frame_index(f) for f in frames] == list(range(len(frames)))
    assert len(frames) >= 5 * FPS, len(frames)
    assert probe(path).frames == len(frames)
    if ext in (".mp4", ".mov"):
        assert "moof" in top_level_atoms(path)  # killed before close: still the fragmented form


@pytest.mark.slow
@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_the_app_sigkilled_6_s_into_a_recording_leaves_at_least_5_s(tmp_path, ext):
    """``camfilters run --record`` killed 6 s after the recording started: at least 5 s of video decode."""
    out = tmp_path / f"out{ext}"
    proc = start("run", "--source", "demo", "--size", "320x240", "--fps", "30", "--no-window",
                 "--record", str(out), "-v")
    try:
        stderr = StderrLines(proc)
        started = stderr.wait_for(f"recording to {out}", proc, STARTUP_S)
        while time.monotonic() < started + 6.0:  # a deadline, not a pause: the child must still be recording
            assert proc.poll() is None, "".join(stderr.lines)
            time.sleep(0.05)
        proc.kill()
    finally:
        stop(proc)
    frames, times, _ = decode(out)
    assert frames and frames[0].shape == (240, 320, 3)
    assert span_s(times) >= 5.0, (len(frames), times[-1] - times[0])
    assert probe(out).frames == len(frames)


@pytest.mark.slow
def test_the_app_finalises_its_recording_when_the_terminal_hangs_up(tmp_path):
    """SIGHUP (terminal closed, SSH lost) is handled as SIGTERM: exit 130, a regular fast-start MP4 with every frame."""
    out = tmp_path / "out.mp4"
    proc = start("run", "--source", "demo", "--size", "320x240", "--fps", "30", "--no-window",
                 "--record", str(out), "-v")
    try:
        stderr = StderrLines(proc)
        stderr.wait_for(f"recording to {out}", proc, STARTUP_S)
        deadline = time.monotonic() + 120
        while not (out.exists() and "moof" in top_level_atoms(out)) and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(stderr.lines)
            time.sleep(0.05)
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(120) == 130, "".join(stderr.lines)
    finally:
        stop(proc)
    stderr.join()
    text = "".join(stderr.lines)
    assert "Traceback" not in text
    saved = int(re.search(rf"saved {re.escape(str(out))} \((\d+) frames\)", text)[1])
    atoms = top_level_atoms(out)
    assert "moof" not in atoms and atoms.index("moov") < atoms.index("mdat"), atoms
    frames, _, _ = decode(out)
    assert len(frames) == saved == probe(out).frames > 0


# --- full disk --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_a_full_disk_stops_the_recording_with_one_line_and_a_playable_file(small_disk, ext, rng):
    """ENOSPC: write() raises one line naming the disk and what was kept; the file holds exactly that."""
    path = small_disk / f"rec{ext}"
    size = (320, 240)
    rec = Recorder(path, size, fps=FPS, preset=LIVE_PRESET)
    with pytest.raises(RecordingError) as info:
        for i in range(4096):
            rec.write(noisy_frame(i, size, rng), i / FPS)
    rec.close()  # already reported: nothing more raised
    assert rec.failed
    message = str(info.value)
    match = re.fullmatch(rf"disk full \({re.escape(str(small_disk))}\) while recording {re.escape(str(path))}: "
                         r"kept (\d+) frames \((\d+\.\d) s\); free space and record again", message)
    assert match, message
    kept, seconds = int(match[1]), float(match[2])
    frames = decode_frames(path)
    assert kept == len(frames) > 0
    assert [frame_index(f) for f in frames] == list(range(kept))
    assert seconds == pytest.approx(kept / FPS, abs=0.06)
    assert probe(path).frames == kept


@pytest.mark.slow
@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_the_app_on_a_full_disk_exits_1_with_one_line_and_a_playable_file(small_disk, ext):
    """The demo records at about 0.6 MB/s: 1.5 MB of the disk is taken first, so that it fills within 3 s."""
    (small_disk / "filler").write_bytes(b"\0" * 1_500_000)
    out = small_disk / f"out{ext}"
    proc = camfilters("run", "--source", "demo", "--no-window", "--record", str(out), "--duration", "300",
                      timeout=600)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0] == f"camfilters: recording to {out}", proc.stderr  # then the one error
    match = re.fullmatch(rf"camfilters: error: disk full \({re.escape(str(small_disk))}\) while recording "
                         rf"{re.escape(str(out))}: kept (\d+) frames \(\d+\.\d s\); free space and record again",
                         lines[1])
    assert match, lines[1]
    frames, _, _ = decode(out)
    assert len(frames) == int(match[1]) > 0
    assert probe(out).frames == len(frames)


@pytest.mark.slow
def test_a_disk_full_from_the_start_leaves_no_file_and_does_not_crash(small_disk):
    """The header itself cannot be written (this used to segfault, exit 139, leaving 0 bytes)."""
    filler = small_disk / "filler"
    with open(filler, "wb") as file:
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError:
            pass
    out = small_disk / "out.mp4"
    proc = camfilters("run", "--source", "demo", "--no-window", "--record", str(out), "--duration", "60",
                      timeout=600)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"camfilters: recording to {out}",
                     f"camfilters: error: disk full ({small_disk}) while recording {out}: nothing could be kept; "
                     "free space and record again"], proc.stderr
    assert not out.exists()


@pytest.mark.slow  # 5 s
def test_a_full_disk_at_the_final_remux_keeps_the_fragmented_mp4(small_disk, rng, caplog):
    """The recording fits but its regular copy does not: one warning, and the fragmented file with every frame."""
    path = small_disk / "rec.mp4"
    with caplog.at_level(logging.WARNING, logger="camfilters.recording"), Recorder(path, SIZE, fps=FPS) as rec:
        i = 0  # ~8 kB frames, at the encoder's pace: the file trails the frames written by a few, and ends near 1.7 MB
        while not path.exists() or path.stat().st_size < 1_600_000:  # more than half the disk: no room for a copy
            rec.write(noisy_frame(i, SIZE, rng), i / FPS)
            i += 1
            # a busy machine lets the writer thread fall behind and the file overshoot the disk: keep in step
            wait_for(lambda: rec.frames_encoded >= i - 2, 60, "the writer thread to encode every frame written",
                     poll=0.001)  # about 200 frames, a few ms each: 50 ms polls added 3 s
            assert not rec.failed
    assert not rec.failed
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"kept {path} as a fragmented MP4, which plays; making it a regular one failed: "
                        "No space left on device"], warnings
    assert "moof" in top_level_atoms(path)
    assert [frame_index(f) for f in decode_frames(path)] == list(range(i))
    assert sorted(p.name for p in small_disk.iterdir()) == [path.name]  # the partial copy is gone


# --- cutting a partial tail ----------------------------------------------------------------------------


@pytest.mark.slow  # 5-6 s each
@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_a_file_cut_mid_fragment_is_cut_back_to_its_last_complete_one(tmp_path, monkeypatch, ext, rng):
    """What a disk that fills mid-write leaves: after the cut it decodes without error, frames 0..k-1."""
    monkeypatch.setattr(writer, "rewrite_faststart", lambda path, muxer: None)  # keep the fragmented form
    whole = tmp_path / f"whole{ext}"
    with Recorder(whole, SIZE, fps=FPS) as rec:
        for i in range(150):
            rec.write(frame_image(i, SIZE), i / FPS)
    data = whole.read_bytes()
    for end in sorted(rng.integers(len(data) // 3, len(data) - 1, 6)):
        part = tmp_path / f"part-{end}{ext}"
        part.write_bytes(data[:end])
        repair.cut_to_complete(part, "mp4" if ext == ".mp4" else "matroska")
        assert part.stat().st_size <= end
        frames = decode_frames(part)
        assert len(frames) >= 30  # the first second's fragment/cluster is whole at 1/3 of the file
        assert [frame_index(f) for f in frames] == list(range(len(frames)))
        assert probe(part).frames == len(frames)
