"""`camfilters render` never loses a file: the input, an existing output and the frames done survive.

Each test runs the CLI (in this process with `cli_main`; in a subprocess for signals, mount
namespaces and file size limits) for one line on stderr, the documented exit code, no traceback,
and checks the bytes that must survive by their sha256, and the files written with ffprobe /
PyAV / ffmpeg.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from camfilters.errors import ExitCode, SourceError
from camfilters.options import RenderOptions
from camfilters.render import RenderInterrupted, render

from cli_helpers import assert_one_line_error, cli_env, cli_main, started
from helpers import decode_frames, mean_abs, sha256
from media import frame_image, frame_index, make_video, probe

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (Debian package ffmpeg)")

SIZE = (160, 120)
EXISTING = b"an existing output the user cares about\n"



def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, capture_output=True)


def leftovers(folder: Path) -> list[str]:
    """Hidden files (the render's temporary files) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def cli_render(*args: str) -> subprocess.CompletedProcess:
    """``camfilters render ARGS --no-progress`` in this process; the tests that need a process start their own."""
    return cli_main("render", *map(str, args), "--no-progress")


@pytest.fixture
def existing(tmp_path) -> Path:
    """An output path that already holds a file (rendered over with -y)."""
    path = tmp_path / "out.mp4"
    path.write_bytes(EXISTING)
    return path


# --- 1. the input is never the output --------------------------------------------------------------


@pytest.mark.parametrize("link", ["same-name", "hard-link", "symlink"])
@pytest.mark.parametrize("overwrite", [False, True], ids=["", "-y"])
def test_the_input_as_output_is_refused_through_any_name(tmp_path, clip, link, overwrite):
    src = tmp_path / "in.mp4"
    shutil.copyfile(clip, src)
    out = {"same-name": src, "hard-link": tmp_path / "hard.mp4", "symlink": tmp_path / "sym.mp4"}[link]
    if link == "hard-link":
        os.link(src, out)
    elif link == "symlink":
        out.symlink_to(src)
    digest = sha256(src)
    proc = cli_render(src, "-o", out, *(["-y"] if overwrite else []))
    assert_one_line_error(proc, "onto itself", "choose another output file")
    assert proc.returncode == ExitCode.USAGE
    assert sha256(src) == digest and leftovers(tmp_path) == []


@pytest.mark.slow
def test_the_input_as_output_is_refused_through_a_bind_mount(tmp_path, clip):
    """The same file seen in two folders (same device and inode): refused although the paths differ."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode:
        pytest.skip("needs unshare -m (a private mount namespace)")
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    src = tmp_path / "a" / "in.mp4"
    shutil.copyfile(clip, src)
    digest = sha256(src)
    command = [sys.executable, "-m", "camfilters", "render", str(src), "-o", str(tmp_path / "b" / "in.mp4"), "-y",
               "--no-progress"]
    script = f'mount --bind "{tmp_path / "a"}" "{tmp_path / "b"}" && exec "$@"'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *command], capture_output=True, text=True,
                          env=cli_env(), timeout=120)
    assert_one_line_error(proc, "onto itself")
    assert proc.returncode == ExitCode.USAGE
    assert sha256(src) == digest and leftovers(tmp_path / "a") == []


# --- 2. atomic output: a failed render leaves an existing output as it was ------------------------------


def cut_after_mdat_header(clip: Path, folder: Path) -> Path:
    """``clip`` cut right after its ``mdat`` box header: the index promises 48 frames, no sample is there."""
    data = clip.read_bytes()
    path = folder / "cut.mp4"
    path.write_bytes(data[: data.index(b"mdat") + 4])
    return path


def test_an_input_cut_after_its_mdat_header_leaves_the_existing_output(tmp_path, clip, existing):
    src = cut_after_mdat_header(clip, tmp_path)
    digest = sha256(src)
    proc = cli_render(src, "-o", existing, "-y")
    assert_one_line_error(proc, "cut.mp4 is corrupt or truncated")
    assert proc.returncode == ExitCode.SOURCE
    assert existing.read_bytes() == EXISTING and sha256(src) == digest and leftovers(tmp_path) == []


def test_a_filter_that_raises_leaves_the_existing_output(tmp_path, clip, existing):
    def process(image, timestamp):
        if frame_index(image) == 30:
            raise RuntimeError("plugin bug")
        return image

    with pytest.raises(RuntimeError, match="plugin bug"):
        render(clip, existing, process, RenderOptions(overwrite=True), progress=False)
    assert existing.read_bytes() == EXISTING and leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".webm"])
def test_a_full_disk_leaves_the_existing_output_and_no_temporary_file(tmp_path, clip, ext):
    """A real ENOSPC: a 24 KiB tmpfs in a private mount namespace, holding the old output already."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode:
        pytest.skip("needs unshare -m (a private mount namespace) to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / f"out{ext}"
    command = [sys.executable, "-m", "camfilters", "render", str(clip), "-o", str(out), "-y", "--no-progress"]
    script = (f'mount -t tmpfs -o size=24k tmpfs "{disk}" && printf "%s" "$0" > "{out}" && "$@"; '
              f'rc=$?; cat "{out}"; ls -A "{disk}" >&2; exit $rc')
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, EXISTING.decode(), *command],
                          capture_output=True, text=True, env=cli_env(), timeout=120)
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert "Traceback" not in proc.stderr
    message, listing = proc.stderr.splitlines()[0], proc.stderr.splitlines()[1:]
    assert re.fullmatch(rf"camfilters: error: cannot write .*out{ext}: the disk is full .*", message), message
    assert proc.stdout == EXISTING.decode()  # the old output, read back on the full disk: untouched
    assert listing == [f"out{ext}"]  # and no temporary file beside it


@pytest.mark.slow
def test_a_file_size_limit_write_error_leaves_the_existing_output(tmp_path, clip, existing):
    """A write error from the kernel part-way through (RLIMIT_FSIZE with SIGXFSZ ignored gives EFBIG)."""
    import resource

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    command = [sys.executable, "-m", "camfilters", "render", str(clip), "-o", str(existing), "-y", "--no-progress"]
    proc = subprocess.run(command, capture_output=True, text=True, env=cli_env(), timeout=120, preexec_fn=limit)
    assert_one_line_error(proc, "cannot write", "out.mp4")
    assert proc.returncode == ExitCode.ERROR
    assert existing.read_bytes() == EXISTING and leftovers(tmp_path) == []


def test_a_successful_render_replaces_the_existing_output_keeping_its_permissions(tmp_path, clip, existing):
    existing.chmod(0o640)
    proc = cli_render(clip, "-o", existing, "-y")
    assert proc.returncode == 0, proc.stderr
    assert probe(existing).frames == 48 and leftovers(tmp_path) == []
    assert existing.stat().st_mode & 0o777 == 0o640


def test_a_symlinked_output_is_written_through_to_its_target(tmp_path, clip):
    target = tmp_path / "real.mkv"
    target.write_bytes(EXISTING)
    link = tmp_path / "link.mkv"
    link.symlink_to(target)
    proc = cli_render(clip, "-o", link, "-y")
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and probe(target).frames == 48 and leftovers(tmp_path) == []


# --- 3. an interrupted render keeps its frames in a named file ----------------------------------------

SLOW_RENDER = """
import pathlib, sys, time
import camfilters.media.reader as reader
decode, count = reader.to_bgr, [0]
def slow(frame):  # 50 ms a frame, and a sign once 12 frames were decoded
    count[0] += 1
    if count[0] == 12:
        pathlib.Path(sys.argv[1]).touch()
    time.sleep(0.05)
    return decode(frame)
reader.to_bgr = slow
from camfilters.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "sighup"])
def test_an_interrupted_render_names_its_partial_file_and_keeps_the_output(tmp_path, clip, existing, sig):
    ready = tmp_path / "ready"
    (tmp_path / "out-partial.mp4").write_bytes(EXISTING)  # taken: the next free name is used
    with started([sys.executable, "-c", SLOW_RENDER, str(ready), "render", str(clip), "-o", str(existing), "-y",
                  "--no-progress"], stderr=subprocess.PIPE, text=True, env=cli_env()) as proc:
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), "the render never got going"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    lines = err.splitlines()
    # SIGTERM/SIGHUP are named as they arrive (a render may take a while to finalise), then the result
    assert "Traceback" not in err and len(lines) == (1 if sig == signal.SIGINT else 2), err
    partial = tmp_path / "out-partial-2.mp4"
    match = re.fullmatch(rf"camfilters: interrupted: kept the first (\d+) frames in {re.escape(str(partial))}",
                         lines[-1])
    assert match, err
    frames = [frame_index(f) for f in decode_frames(partial)]
    assert frames == list(range(int(match[1]))) and 0 < len(frames) < 48
    assert existing.read_bytes() == EXISTING and (tmp_path / "out-partial.mp4").read_bytes() == EXISTING
    assert leftovers(tmp_path) == []


# --- 4. a corrupt or truncated input is said to be one, and what decoded is kept beside the output ------


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_an_input_truncated_at_half_keeps_what_decoded_and_says_so(tmp_path, clip, ext):
    whole = clip if ext == ".mp4" else make_video(tmp_path / "whole.mkv", 48, size=SIZE, fps=24, audio=True)
    src = tmp_path / f"half{ext}"
    src.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    digest, out, partial = sha256(src), tmp_path / "out.mkv", tmp_path / "out-partial.mkv"
    proc = cli_render(src, "-o", out)
    assert_one_line_error(proc)
    assert proc.returncode == ExitCode.SOURCE
    match = re.fullmatch(
        rf"camfilters: error: {re.escape(str(src))} is corrupt or truncated after frame (\d+) \((\d+\.\d\d) s\): "
        rf"kept (\d+) frames in {re.escape(str(partial))} \((.+)\)", proc.stderr.strip())
    assert match, proc.stderr
    kept = int(match[1])
    assert 10 < kept < 40 and int(match[3]) == kept
    assert kept / 24 - 0.05 < float(match[2]) < 40 / 24  # the end of the last frame kept (a damaged one may be skipped)
    decodable = [frame_index(f) for f in decode_frames(src)]  # PyAV on its own: what can be kept
    assert [frame_index(f) for f in decode_frames(partial)] == decodable and len(decodable) == kept
    assert sha256(src) == digest and leftovers(tmp_path) == [] and not out.exists()  # complete or absent


@pytest.mark.slow  # two ffmpeg runs and five renders
def test_whole_inputs_are_not_reported_as_truncated(tmp_path, clip):
    """Nor are files whose index lists more than they show: an MP4 trimmed by an edit list, an AVI."""
    trimmed = tmp_path / "trimmed.mp4"
    ffmpeg("-ss", "0.5", "-i", str(clip), "-c", "copy", str(trimmed))
    avi = tmp_path / "whole.avi"
    ffmpeg("-i", str(clip), "-c:v", "mpeg4", "-c:a", "copy", str(avi))
    made = [make_video(tmp_path / f"whole{ext}", 48, size=SIZE, fps=24) for ext in (".mkv", ".webm")]
    inputs = [clip, trimmed, avi, *made]
    for src in inputs:
        out = tmp_path / f"out-{src.name}.mkv"
        proc = cli_render(src, "-o", out)
        assert proc.returncode == 0 and "wrote" in proc.stderr, proc.stderr
        assert probe(out).frames == probe(src).frames


# --- 5. rotation: phone clips come out upright --------------------------------------------------------


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_rotated_clip_renders_upright_without_rotation_metadata(tmp_path, degrees):
    plain = make_video(tmp_path / "plain.mp4", 6, size=SIZE)
    src = tmp_path / "phone.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(src))
    upright = tmp_path / "upright.raw"  # ffmpeg's own autorotation: the independent reference
    ffmpeg("-i", str(src), "-f", "rawvideo", "-pix_fmt", "bgr24", str(upright))
    out = tmp_path / "out.mp4"
    proc = cli_render(src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    info = probe(out)
    turned = degrees in (90, 270)
    assert (info.width, info.height) == (SIZE[::-1] if turned else SIZE)
    assert not any("side_data_list" in s or "rotate" in s.get("tags", {}) for s in info.streams), info.streams
    reference = np.fromfile(upright, np.uint8).reshape(6, info.height, info.width, 3)
    for i, frame in enumerate(decode_frames(out)):
        # FFmpeg's rotation is counter-clockwise, as np.rot90's
        assert mean_abs(frame, np.rot90(frame_image(i, SIZE), degrees // 90)) < 4.0, i
        assert mean_abs(frame, reference[i]) < 4.0, i


# --- 6. audio the output container cannot hold is re-encoded ------------------------------------------


@pytest.mark.parametrize(
    ("audio", "ext", "codec"),
    [("pcm_mulaw", ".mp4", "aac"), ("pcm_s16le", ".mp4", "aac"), ("pcm_mulaw", ".webm", "opus"),
     ("pcm_s16le", ".mov", "pcm_s16le")],
)
def test_audio_is_re_encoded_when_the_container_cannot_hold_it(tmp_path, audio, ext, codec):
    src = make_video(tmp_path / "in.mov", 24, size=SIZE, fps=24, audio=True, audio_codec=audio)
    out = tmp_path / f"out{ext}"
    proc = cli_render(src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    info = probe(out)
    assert info.audio_codec == codec and info.frames == 24
    assert info.audio_duration == pytest.approx(1.0, abs=0.05)


# --- 7. small and odd inputs ---------------------------------------------------------------------------


def test_a_1x1_input_is_refused_in_one_line(tmp_path, existing):
    src = make_video(tmp_path / "dot.mkv", 3, size=(1, 1), video_codec="ffv1")
    proc = cli_render(src, "-o", existing, "-y")
    assert_one_line_error(proc, "dot.mkv is 1x1: too small to encode; videos need at least 2x2")
    assert proc.returncode == ExitCode.SOURCE
    assert existing.read_bytes() == EXISTING and leftovers(tmp_path) == []


@pytest.mark.parametrize(("size", "kept"), [((2, 2), (2, 2)), ((3, 3), (2, 2)), ((5, 2), (4, 2))])
def test_the_smallest_inputs_render(tmp_path, size, kept):
    """2 pixels a side is enough; an odd side loses its last column/row (4:2:0 chroma needs pairs)."""
    src = make_video(tmp_path / "tiny.mkv", 3, size=size, video_codec="ffv1")
    out = tmp_path / "out.mp4"
    proc = cli_render(src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    frames = decode_frames(out)
    assert [f.shape for f in frames] == [(kept[1], kept[0], 3)] * 3
    for image, reference in zip(frames, decode_frames(src)):  # one chroma sample for 2x2 pixels: compare means
        crop = reference[: kept[1], : kept[0]].reshape(-1, 3).mean(0)
        assert np.abs(image.reshape(-1, 3).mean(0) - crop).max() < 12


def test_a_device_is_not_a_regular_file(tmp_path):
    proc = cli_render("/dev/zero", "-o", tmp_path / "out.mp4")
    assert_one_line_error(proc, "/dev/zero: not a regular file")
    assert proc.returncode == ExitCode.SOURCE and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("which", ["input", "output", "output folder"])
def test_a_path_longer_than_255_bytes_fails_in_one_line(tmp_path, clip, which):
    long = "x" * 300
    src = tmp_path / f"{long}.mp4" if which == "input" else clip
    outputs = {"output": tmp_path / f"{long}.mp4", "output folder": tmp_path / long / "out.mp4"}
    out = outputs.get(which, tmp_path / "o.mp4")
    proc = cli_render(src, "-o", out)
    assert_one_line_error(proc, "bytes long, more than the 255 a file system takes; use a shorter name")
    assert proc.returncode == ExitCode.USAGE  # refused on the command line, before any work
    assert list(tmp_path.iterdir()) == []


def test_a_decode_error_mid_file_keeps_the_frames_before_it(tmp_path, clip, monkeypatch):
    """FFmpeg failing on frame 20 ends the input: frames 0..19 (and those already in the decoder) are kept."""
    import av

    import camfilters.media.reader as reader_module

    to_bgr = reader_module.to_bgr

    def failing(frame):
        image = to_bgr(frame)
        if frame_index(image) == 20:
            raise av.error.InvalidDataError(22, "Invalid data found when processing input")
        return image

    monkeypatch.setattr(reader_module, "to_bgr", failing)
    out = tmp_path / "out.mp4"
    message = r"clip.mp4 is corrupt or truncated after frame \d+ \(.*\): kept \d+ frames in"
    with pytest.raises(SourceError, match=message) as info:
        render(clip, out, lambda image, t: image, progress=False)
    partial = tmp_path / "out-partial.mp4"
    kept = [frame_index(f) for f in decode_frames(partial)]
    assert kept[:20] == list(range(20)) and 20 not in kept and kept == sorted(kept) and kept[-1] < 47
    assert f"kept {len(kept)} frames in {partial}" in str(info.value) and leftovers(tmp_path) == []
    assert not out.exists()


def test_an_output_name_of_250_bytes_still_gets_a_temporary_file(tmp_path, clip):
    """The hidden temporary name is kept short, so any legal output name can be rendered to."""
    out = tmp_path / ("é" * 123 + ".mp4")  # 250 bytes in UTF-8
    render(clip, out, lambda image, t: image, progress=False)
    assert probe(out).frames == 48 and leftovers(tmp_path) == []


def test_an_interrupt_before_any_frame_was_written_leaves_nothing(tmp_path, clip, existing):
    def process(image, timestamp):
        raise KeyboardInterrupt

    with pytest.raises(RenderInterrupted, match="interrupted before the first frame was done; nothing written") as info:
        render(clip, existing, process, RenderOptions(overwrite=True), progress=False)
    assert info.value.partial is None and info.value.frames == 0
    assert existing.read_bytes() == EXISTING and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
