"""Issue 21's last edges: ``--loop`` pacing, native log noise, WebM after SIGKILL."""

from __future__ import annotations

import re

import pytest

from cli_helpers import cli_main
from media import make_video


@pytest.mark.slow  # real wall time: a paced run of 2 s
def test_loop_on_a_one_frame_file_plays_at_the_files_rate(tmp_path):
    """A one-frame 30 fps file with ``--loop`` repeats its frame 30 times a second, not as fast as it can."""
    clip = make_video(tmp_path / "one.mp4", 1, fps=30)
    result = cli_main("run", "--source", str(clip), "--loop", "--no-window", "--duration", "2")
    assert result.returncode == 0, result.stderr
    frames, seconds = re.search(r"(\d+) frames in ([\d.]+) s", result.stderr).groups()
    assert int(frames) / float(seconds) <= 1.5 * 30, result.stderr
