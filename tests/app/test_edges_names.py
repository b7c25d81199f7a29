"""File names that are not UTF-8 and camera indexes too big for OpenCV: they play or end in one line.

OpenCV's Python binding crashes the process (SIGSEGV) on a ``str`` holding the surrogates Python
uses for undecodable bytes, so a name like ``bad\\xff.mp4`` must never reach it as such.
"""

from __future__ import annotations

import os
import shutil

import pytest

from camfilters.errors import ExitCode

from cli_helpers import assert_one_line_error, camfilters
from media import make_video

pytestmark = pytest.mark.timeout(240)

BAD = os.fsdecode(b"bad\xff.mp4")  # a name with a byte that is not UTF-8 (a lone surrogate in Python)


def test_run_plays_a_file_whose_name_is_not_utf8(tmp_path):
    """The file plays to --max-frames and exits 0, with the same frames as under a plain name."""
    clip = make_video(tmp_path / "clip.mp4", 12, size=(160, 120), fps=30)
    shutil.copyfile(clip, tmp_path / BAD)
    proc = camfilters("run", "--source", str(tmp_path / BAD), "--no-window", "--max-frames", "5", cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr


def test_run_records_from_a_non_utf8_name_into_a_non_utf8_name(tmp_path):
    """Read and write through such names: the recording holds the 12 frames of the clip."""
    from helpers import decode_frames

    clip = make_video(tmp_path / "clip.mp4", 12, size=(160, 120), fps=30)
    shutil.copyfile(clip, tmp_path / BAD)
    out = tmp_path / os.fsdecode(b"out\xfe.mkv")
    proc = camfilters("run", "--source", str(tmp_path / BAD), "--no-window", "--record", str(out), cwd=tmp_path)
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    assert len(decode_frames(out)) == 12


def test_missing_file_with_a_non_utf8_name_is_one_line(tmp_path):
    proc = camfilters("run", "--source", str(tmp_path / BAD), "--no-window", "--max-frames", "5")
    assert proc.returncode == ExitCode.SOURCE, proc.stderr
    assert_one_line_error(proc, "does not exist")


@pytest.mark.parametrize("index", ["2147483648", "99999999999999999999"])
def test_huge_camera_index_is_one_line(index):
    """An index OpenCV cannot take (over 2^31 - 1) is a camera that is not there, not a cv2.error."""
    proc = camfilters("run", "--source", index, "--no-window", "--max-frames", "1")
    assert proc.returncode == ExitCode.SOURCE, proc.stderr
    assert_one_line_error(proc, f"camera {index} could not be opened", "camfilters devices")


def test_render_writes_to_a_non_utf8_name(tmp_path):
    """render -o such a name writes the file (its temporary name once crashed encoding the name)."""
    from helpers import decode_frames

    clip = make_video(tmp_path / "clip.mp4", 12, size=(160, 120), fps=30)
    out = tmp_path / os.fsdecode(b"out\xfe.mp4")
    proc = camfilters("render", str(clip), "-o", str(out), "--no-progress")
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    assert len(decode_frames(out)) == 12
