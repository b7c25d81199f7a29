"""On-screen text drawn over the preview: the status bar and the hotkey help."""

from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _scale(image: np.ndarray) -> float:
    """Text scale that stays readable from 320 px to 4K wide frames."""
    return max(0.4, min(1.2, image.shape[1] / 1280 * 0.7))


def _panel(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Darken the rectangle [x0, x1) x [y0, y1) in place so text over it is readable."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = image[y0:y1, x0:x1]
        np.right_shift(roi, 2, out=roi)  # quarter brightness, no float round trip


def draw_lines(image: np.ndarray, lines: list[tuple[str, tuple[int, int, int]]], *, where: str = "bottom") -> None:
    """Draw ``(text, BGR colour)`` lines in place on a darkened panel at the bottom-left or the centre."""
    if not lines:
        return
    scale = _scale(image)
    thickness = 1 if scale < 0.8 else 2
    sizes = [cv2.getTextSize(text, FONT, scale, thickness)[0] for text, _ in lines]
    line_h = int(max(h for _, h in sizes) * 1.8)
    pad = int(8 * scale) + 2
    width = max(w for w, _ in sizes) + 2 * pad
    height = line_h * len(lines) + pad
    if where == "bottom":
        x0, y0 = 0, max(0, image.shape[0] - height)
    else:
        x0 = max(0, (image.shape[1] - width) // 2)
        y0 = max(0, (image.shape[0] - height) // 2)
    _panel(image, x0, y0, x0 + width, y0 + height)
    for i, (text, colour) in enumerate(lines):
        y = y0 + pad + line_h * i + sizes[i][1]
        cv2.putText(image, text, (x0 + pad, y), FONT, scale, colour, thickness, cv2.LINE_AA)


WHITE = (255, 255, 255)
RED = (40, 40, 255)
GREY = (200, 200, 200)
