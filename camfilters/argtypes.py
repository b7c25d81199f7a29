"""argparse value types shared by the commands: frame sizes and positive numbers."""

from __future__ import annotations

import argparse
from typing import Any, Callable


def frame_size_at_least(min_width: int, min_height: int) -> Callable[[str], tuple[int, int]]:
    """A converter of ``"1280x720"`` to ``(1280, 720)`` (width, height in pixels) with a minimum size."""

    def convert(text: str) -> tuple[int, int]:
        w, sep, h = text.lower().partition("x")
        if not (sep and w.isdigit() and h.isdigit() and int(w) >= min_width and int(h) >= min_height):
            least = f" (at least {min_width}x{min_height})" if (min_width, min_height) != (1, 1) else ""
            raise argparse.ArgumentTypeError(f"size must look like 1280x720{least}, got {text!r}")
        return int(w), int(h)

    return convert


frame_size = frame_size_at_least(1, 1)


def positive(kind: type) -> Callable[[str], Any]:
    """A converter to ``kind`` (int or float) that accepts only values > 0."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
        return value

    return convert


def between(kind: type, low: float, high: float, unit: str = "") -> Callable[[str], Any]:
    """A converter to ``kind`` (int or float) that accepts only ``low <= value <= high`` (so never NaN or inf)."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a number from {low:g} to {high:g}{unit}, got {text!r}")
        return value

    return convert
