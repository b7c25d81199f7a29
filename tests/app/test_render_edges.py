"""`camfilters render`, `explain -o` and `bench --json` at their edges: nothing the user had is lost, one
writer per output, tracebacks become one line. Each test names the item of issue 21 it checks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from camfilters.errors import ExitCode
from camfilters.render import render

from cli_helpers import assert_one_line_error, camfilters, cli_env, cli_main
from helpers import decode_frames
from media import frame_index, make_video, probe

EXISTING = b"an existing output the user cares about\n"



def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def faststart(tmp_path_factory) -> Path:
    """48 frames with audio in an MP4 with its index first, as phones write."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    folder = tmp_path_factory.mktemp("clip")
    plain = make_video(folder / "plain.mp4", 48, fps=24, audio=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(plain), "-c", "copy", "-movflags", "+faststart",
                    str(folder / "clip.mp4")], check=True)
    return folder / "clip.mp4"


def test_a_truncated_input_with_y_keeps_the_existing_output_and_the_frames_beside_it(tmp_path, faststart):
    """Item 2: a fast-start MP4 cut in half, rendered over a good output with -y: exit 3, the output keeps its
    bytes, and the frames that decode go to OUT-partial.mp4."""
    src = tmp_path / "half.mp4"
    src.write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 2])
    out = tmp_path / "out.mp4"
    out.write_bytes(EXISTING)
    proc = cli_main("render", str(src), "-o", str(out), "-y", "--no-progress")
    assert_one_line_error(proc, "is corrupt or truncated", f"in {tmp_path / 'out-partial.mp4'}")
    assert proc.returncode == ExitCode.SOURCE
    assert out.read_bytes() == EXISTING and hidden(tmp_path) == []
    kept = [frame_index(f) for f in decode_frames(tmp_path / "out-partial.mp4")]
    assert 0 < len(kept) < 48 and kept == [frame_index(f) for f in decode_frames(src)]  # what decodes


def test_a_killed_renders_temporary_file_is_removed_by_the_next_render(tmp_path):
    """Item 8: a SIGKILLed render's .NAME.XXXXXXXX.tmp.EXT is removed when the output is rendered again."""
    src = make_video(tmp_path / "in.mp4", 6)
    (tmp_path / ".out.0123abcd.tmp.mp4").write_bytes(b"left by a killed render")
    (tmp_path / ".other.0123abcd.tmp.mp4").write_bytes(b"another output's")
    render(src, tmp_path / "out.mp4", lambda image, t: image, progress=False)
    assert hidden(tmp_path) == [".other.0123abcd.tmp.mp4"] and probe(tmp_path / "out.mp4").frames == 6


@pytest.mark.slow  # the other writer is a process
def test_a_render_to_an_output_another_process_writes_is_refused_and_removes_nothing(tmp_path):
    """Item 7/8: a live writer's temporary file is never removed; the second render says so in one line."""
    src = make_video(tmp_path / "in.mp4", 6)
    out = tmp_path / "out.mp4"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from camfilters.media.atomic import AtomicOutput
        with AtomicOutput({str(out)!r}) as busy:
            print(busy.temp.name, flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=cli_env())
    try:
        temp = holder.stdout.readline().strip()
        proc = cli_main("render", str(src), "-o", str(out), "--no-progress")
        assert_one_line_error(proc, "being written by another camfilters process")
        assert proc.returncode == ExitCode.ERROR and hidden(tmp_path) == [temp] and not out.exists()
    finally:
        holder.communicate("", timeout=60)
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True], ids=["", "-y"])
def test_explain_refuses_to_overwrite_a_file_without_y(tmp_path, overwrite):
    """Item 3: explain -o FILE keeps an existing FILE unless -y."""
    png = tmp_path / "explain.png"
    png.write_bytes(EXISTING)
    proc = cli_main("explain", "--kernel", "0 1; 1 0", "-o", str(png), *(["-y"] if overwrite else []))
    if overwrite:
        assert proc.returncode == 0, proc.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert_one_line_error(proc, "explain.png already exists", "-y")
        assert proc.returncode == ExitCode.ERROR and png.read_bytes() == EXISTING
    assert hidden(tmp_path) == []


@pytest.mark.slow  # a bench run, in a process of its own (it sets the thread counts)
def test_bench_json_refuses_to_overwrite_a_file_without_y_before_measuring(tmp_path):
    """Item 4: bench --json FILE keeps an existing FILE unless -y, and says so before anything runs."""
    report = tmp_path / "bench.json"
    report.write_bytes(EXISTING)
    args = ("bench", "--quick", "--sections", "naive", "--naive-size", "8", "--filters", "edge", "--json", str(report))
    proc = camfilters(*args)
    assert_one_line_error(proc, "bench.json already exists", "-y")
    assert proc.returncode == ExitCode.ERROR and report.read_bytes() == EXISTING
    proc = camfilters(*args, "-y", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert '"naive"' in report.read_text() and hidden(tmp_path) == []


@pytest.mark.slow  # a process in a mount namespace of its own
def test_faces_csv_on_a_full_disk_is_one_error_and_leaves_no_temporary_file(tmp_path):
    """Item 9: ENOSPC while writing --faces-csv rows is a RecordingError naming the full disk, no .part left."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode:
        pytest.skip("needs unshare -m (a private mount namespace) to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = textwrap.dedent(f"""
        from camfilters.errors import RecordingError
        from camfilters.face.offline import FacesCsv
        from types import SimpleNamespace
        csv = FacesCsv({str(disk / "faces.csv")!r})
        face = SimpleNamespace(box=(1.0, 2.0, 3.0, 4.0), track_id=7, score=0.9, detected=True)
        try:
            for frame in range(100000):
                csv.write(frame, frame / 30, [face])
            csv.close()
        except RecordingError as exc:
            print(exc)
        """)
    command = f'mount -t tmpfs -o size=16k tmpfs "{disk}" && "$0" -c "$1"; ls -A "{disk}" >&2'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", command, sys.executable, script], capture_output=True,
                          text=True, env=cli_env(), timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert re.fullmatch(r"cannot write --faces-csv .*faces.csv: the disk is full.*\n", proc.stdout), proc.stdout
    assert proc.stderr == ""  # the listing of the disk: empty


def test_opus_audio_is_re_encoded_to_aac_for_mov(tmp_path):
    """Item 10: MOV takes no Opus; the audio becomes AAC instead of "cannot encode 320x240 frames"."""
    src = make_video(tmp_path / "in.mkv", 24, size=(320, 240), fps=24, audio=True, audio_codec="libopus")
    out = tmp_path / "out.mov"
    proc = cli_main("render", str(src), "-o", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    info = probe(out)
    assert info.audio_codec == "aac" and info.frames == 24


def test_a_partial_never_takes_a_name_that_appears_meanwhile(tmp_path):
    """`AtomicOutput.keep_partial` picks the next free NAME-partial name and never replaces a file."""
    from camfilters.media.atomic import AtomicOutput

    out = tmp_path / "v.mp4"
    (tmp_path / "v-partial.mp4").write_bytes(EXISTING)
    with AtomicOutput(out) as writer:
        writer.temp.write_bytes(b"frames")
        kept = writer.keep_partial()
    assert kept == tmp_path / "v-partial-2.mp4" and kept.read_bytes() == b"frames"
    assert (tmp_path / "v-partial.mp4").read_bytes() == EXISTING and hidden(tmp_path) == [] and not out.exists()
