"""argparse value types shared by the commands: frame sizes, finite numbers in range, times and file paths."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any, Callable

#: The longest file or folder name most file systems take (ext4, APFS, NTFS: 255 bytes / UTF-16 units).
NAME_MAX = 255
#: The longest path Linux takes in one system call.
PATH_MAX = 4096
#: The frame rates a camera, the demo or a file's playback may be asked for (a frame every 100 s at least).
FPS_RANGE = (0.01, 1000.0)


def frame_size_at_least(min_width: int, min_height: int) -> Callable[[str], tuple[int, int]]:
    """A converter of ``"1280x720"`` to ``(1280, 720)`` (width, height in pixels) with a minimum size."""

    def convert(text: str) -> tuple[int, int]:
        w, sep, h = text.lower().partition("x")
        if not (sep and w.isdigit() and h.isdigit() and int(w) >= min_width and int(h) >= min_height):
            least = f" (at least {min_width}x{min_height})" if (min_width, min_height) != (1, 1) else ""
            raise argparse.ArgumentTypeError(f"size must look like 1280x720{least}, got {_short(text)!r}")
        return int(w), int(h)

    return convert


frame_size = frame_size_at_least(1, 1)


def width_or_size(text: str) -> tuple[int, int | None]:
    """``"480"`` to ``(480, None)`` (the height to follow the aspect ratio), ``"480x270"`` to ``(480, 270)``."""
    if text.isdigit() and int(text) >= 1:
        return int(text), None
    try:
        return frame_size(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"size must be a width such as 480, or WxH such as 480x270, "
                                         f"got {_short(text)!r}") from None


def positive(kind: type) -> Callable[[str], Any]:
    """A converter to ``kind`` (int or float) that accepts only finite values > 0.

    NaN and infinity are refused: ``--duration nan`` would otherwise never end.
    """

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            want = "a whole number >= 1" if kind is int else "a finite positive number"
            raise argparse.ArgumentTypeError(f"must be {want}, got {_short(text)!r}")
        return value

    return convert


def _short(text: str, keep: int = 40) -> str:
    return text if len(text) <= 2 * keep else f"{text[:keep]}...{text[-keep:]}"


def check_path_length(path: str | os.PathLike[str]) -> None:
    """Raise ValueError (one line) when ``path`` has a name over `NAME_MAX` bytes or is over `PATH_MAX`.

    The OS would refuse such a path with ENAMETOOLONG deep inside whatever opens it.
    """
    raw = os.fsencode(path)
    if len(raw) >= PATH_MAX:
        raise ValueError(f"path is {len(raw)} bytes long, more than the {PATH_MAX - 1} the system takes: "
                         f"{_short(os.fsdecode(raw))!r}")
    for part in raw.split(b"/"):
        if len(part) > NAME_MAX:
            raise ValueError(f"name {_short(os.fsdecode(part))!r} is {len(part)} bytes long, "
                             f"more than the {NAME_MAX} a file system takes; use a shorter name")


def path(text: str) -> Path:
    """A converter to `Path` that refuses names the file system cannot hold (see `check_path_length`)."""
    try:
        check_path_length(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


def source_spec(text: str) -> str:
    """A ``--source`` value: as given, but a file path must be one the file system can hold."""
    if "://" not in text or text.startswith("file://"):
        try:
            check_path_length(text.removeprefix("file://"))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def between(kind: type, low: float, high: float, unit: str = "") -> Callable[[str], Any]:
    """A converter to ``kind`` (int or float) that accepts only ``low <= value <= high`` (so never NaN or inf)."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            number = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {number} from {low:g} to {high:g}{unit}, got {_short(text)!r}")
        return value

    return convert


def seconds(text: str) -> float:
    """A time as seconds from ``"90"``, ``"1.5"``, ``"01:30"`` or ``"00:01:30.250"`` ([[HH:]MM:]SS[.mmm], >= 0)."""
    parts = text.strip().split(":")
    try:
        values = [float(p) if i == len(parts) - 1 else int(p) for i, p in enumerate(parts)]
    except ValueError:
        values = []
    ok = 1 <= len(values) <= 3 and all(p.strip() and v >= 0 for p, v in zip(parts, values))
    if not ok or any(v >= 60 for v in values[1:]) or values[-1] != values[-1] or values[-1] == float("inf"):
        raise argparse.ArgumentTypeError(f"must be seconds (e.g. 90.5) or HH:MM:SS.mmm (e.g. 00:01:30.5), got {text!r}")
    total = 0.0
    for value in values:
        total = total * 60 + value
    return total
