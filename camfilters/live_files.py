"""The files of a live session: where hotkey recordings and snapshots go, and the checks before recording."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .capture import source_file
from .errors import ParameterError, RecordingError
from .media.gif import is_gif

if TYPE_CHECKING:
    from .live import LiveOptions

log = logging.getLogger(__name__)

#: The smallest (width, height) the H.264 encoder takes: 1x1, 2x2, 3x3 and 4x2 frames fail inside x264.
MIN_RECORD_SIZE = (2, 4)


def check_gif_options(options: LiveOptions) -> None:
    """`ParameterError` for GIF settings without a .gif --record, or --audio with one (a GIF holds no sound)."""
    gif = options.record is not None and is_gif(options.record)
    if options.gif is not None and not gif:
        raise ParameterError("--gif-size and --gif-fps set a GIF recording; add --record NAME.gif")
    if gif and options.audio is not None:
        raise ParameterError(f"--audio: {options.record.name} is a GIF, which holds no sound; "
                             "record to .mp4, .mov, .mkv or .webm, or drop --audio")


def refuse_recording_over_source(record: Path, source: str) -> None:
    """Raise RecordingError when ``record`` is the source file itself (same device and inode), even with -y.

    That covers the same name, a symlink and a hard link to it.
    """
    path = source_file(source)
    if path is None:
        return
    try:
        same = os.path.samefile(record, path)
    except (OSError, ValueError):  # one of them does not exist (or cannot be looked at): not the same file
        return
    if same:
        raise RecordingError(f"cannot record to {record}: it is the source file {path}; choose another file "
                             "(-y never replaces the source)")


def check_recordable(size: tuple[int, int]) -> None:
    """Raise RecordingError (one line, with the fix) for frames too small to encode."""
    if size[0] < MIN_RECORD_SIZE[0] or size[1] < MIN_RECORD_SIZE[1]:
        raise RecordingError(f"cannot record {size[0]}x{size[1]} frames: the video encoder needs at least "
                             f"{MIN_RECORD_SIZE[0]}x{MIN_RECORD_SIZE[1]}; add --size 160x120 to scale the source up")


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in ``folder``, or None if they can."""
    if not folder.is_dir():
        return f"folder {folder} {'is not a folder' if folder.exists() else 'does not exist'}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable"
    return None


def default_folder(kind: str) -> Path:
    """Where hotkey files go without ``--output-dir``: the platform's Videos (``kind`` "videos") or
    Pictures folder, in a ``camfilters`` subfolder (made when the first file is written)."""
    import platformdirs

    base = platformdirs.user_videos_dir() if kind == "videos" else platformdirs.user_pictures_dir()
    return Path(base) / "camfilters"


def prepare_output_dir(folder: Path) -> None:
    """Create ``--output-dir`` if missing (one logged line), so the first ``r`` / ``s`` does not fail.

    A folder that cannot be created or written is only warned about: the session does not need it
    unless a hotkey recording or snapshot is asked for, and those then say so again.
    """
    if not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            log.warning("cannot create --output-dir %s (%s); hotkey recordings and snapshots will fail",
                        folder, exc.strerror or exc)
            return
        log.info("created %s for hotkey recordings and snapshots", folder)
        return
    problem = folder_problem(folder)
    if problem:
        log.warning("--output-dir: %s; hotkey recordings and snapshots will fail", problem)


def unique_path(path: Path) -> Path:
    """``path`` or, if it exists, ``stem-2.ext``, ``stem-3.ext``, ..."""
    n, candidate = 2, path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate
