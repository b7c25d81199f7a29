"""The helper modules beside the app tests (media, cli_helpers, ...) made importable, and the shared clip."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from media import faststart, make_video  # noqa: E402


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """48 frames, 160x120, 24 fps, H.264 and AAC in an MP4 with its index first (faststart, as phones write);
    each frame carries its index (`media.frame_index`). Shared: copy it before changing it."""
    folder = tmp_path_factory.mktemp("clip")
    return faststart(make_video(folder / "plain.mp4", 48, size=(160, 120), fps=24, audio=True), folder / "clip.mp4")
