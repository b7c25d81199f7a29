"""File names that are not UTF-8 and camera indexes too big for OpenCV: they play or end in one line.

OpenCV's Python binding crashes the process (SIGSEGV) on a ``str`` holding the surrogates Python
uses for undecodable bytes, so a name like ``bad\\xff.mp4`` must never reach it as such.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from camfilters.errors import ExitCode

from cli_helpers import assert_one_line_error, camfilters, cli_main
from media import make_video

pytestmark = pytest.mark.timeout(240)

BAD = os.fsdecode(b"bad\xff.mp4")  # a name with a byte that is not UTF-8 (a lone surrogate in Python)
#: the tests of such names run the app in a process of their own: a regression is a crash (SIGSEGV), an exit code
crashes = pytest.mark.slow


@crashes
def test_run_plays_a_file_whose_name_is_not_utf8(tmp_path):
    """The file plays to --max-frames and exits 0, with the same frames as under a plain name."""
    clip = make_video(tmp_path / "clip.mp4", 12, size=(160, 120), fps=30)
    shutil.copyfile(clip, tmp_path / BAD)
    proc = camfilters("run", "--source", str(tmp_path / BAD), "--no-window", "--max-frames", "5", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr


@crashes
def test_run_records_from_a_non_utf8_name_into_a_non_utf8_name(tmp_path):
    """Read and write through such names: the recording holds the 12 frames of the clip."""
    from helpers import decode_frames

    clip = make_video(tmp_path / "clip.mp4", 12, size=(160, 120), fps=30)
    shutil.copyfile(clip, tmp_path / BAD)
    out = tmp_path / os.fsdecode(b"out\xfe.mkv")
    proc = camfilters("run", "--source", str(tmp_path / BAD), "--no-window", "--record", str(out), cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    assert len(decode_frames(out)) == 12


@crashes
def test_missing_file_with_a_non_utf8_name_is_one_line(tmp_path):
    proc = camfilters("run", "--source", str(tmp_path / BAD), "--no-window", "--max-frames", "5")
    assert proc.returncode == ExitCode.SOURCE, proc.stderr
    assert_one_line_error(proc, "no such file")


@pytest.mark.parametrize("index", ["2147483648", "99999999999999999999"])
def test_huge_camera_index_is_one_line(index):
    """An index OpenCV cannot take (over 2^31 - 1) is a camera that is not there, not a cv2.error."""
    proc = cli_main("run", "--source", index, "--no-window", "--max-frames", "1")
    assert proc.returncode == ExitCode.SOURCE, proc.stderr
    assert_one_line_error(proc, f"camera {index} could not be opened", "camfilters devices")


@crashes
def test_render_writes_to_a_non_utf8_name(tmp_path):
    """render -o such a name writes the file (its temporary name once crashed encoding the name)."""
    from helpers import decode_frames

    clip = make_video(tmp_path / "clip.mp4", 12, size=(160, 120), fps=30)
    out = tmp_path / os.fsdecode(b"out\xfe.mp4")
    proc = camfilters("render", str(clip), "-o", str(out), "--no-progress")
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    assert len(decode_frames(out)) == 12


@crashes
def test_explain_picture_to_a_non_utf8_name(tmp_path):
    """cv2.imwrite crashed the process on such a name (exit 139)."""
    import cv2

    out = tmp_path / os.fsdecode(b"explain\xff.png")
    proc = subprocess.run([sys.executable, "-m", "camfilters", "explain", "--kernel", "0 1; 1 0", "-o", str(out)],
                          capture_output=True, text=True, errors="surrogateescape", timeout=120, cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    assert f"picture written to {out}" in proc.stdout
    assert cv2.imdecode(np.fromfile(out, np.uint8), cv2.IMREAD_COLOR).shape[2] == 3


@crashes
def test_snapshot_into_a_non_utf8_folder(tmp_path):
    """The s key's PNG lands in an --output-dir whose name is not UTF-8 (in a child: a crash is a code)."""
    folder = tmp_path / os.fsdecode(b"snaps\xfe")
    folder.mkdir()
    code = ("import sys, numpy as np\nfrom pathlib import Path\nfrom camfilters.live import LiveOptions, LiveSession\n"
            "s = LiveSession(LiveOptions(source='demo', window=False, output_dir=Path(sys.argv[1])))\n"
            "s._last = np.full((48, 64, 3), 9, np.uint8)\ns.snapshot()\n")
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    (saved,) = folder.iterdir()
    assert saved.suffix == ".png" and saved.stat().st_size > 0
