"""Badly lit still clips for the ``light`` lens, built from real photos, and the face's true box in them.

The scene: the whole astronaut photo, 0.9 of the frame high, a little left of centre, over
coffee.png. Two lightings of it (both as a camera would give them, in 8-bit sRGB):

- ``dark``: every pixel ``255 * GAIN * (x / 255) ** GAMMA``, a third of the scene's mean luma;
- ``backlit``: the photo's person-and-studio rectangle at `SUBJECT` of its levels, the coffee
  background lifted to white by `LIFT` (``255 - LIFT * (255 - x)``): the face darker than what is
  behind it, as in front of a window.

Each frame gets its own Gaussian sensor noise (``noise`` levels, seeded), so a still clip jitters
as a webcam's does. Nothing here uses camfilters: it is the reference the tests and
``benchmarks/light.py`` measure against.
"""

from __future__ import annotations

import cv2
import numpy as np

from clips import ASTRONAUT_FACE, background, load_photo

GAMMA, GAIN = 1.8, 0.5  # the dark clip: mean luma 0.33 of the scene's, the face at 0.27 of full scale
SUBJECT, LIFT = 0.4, 0.35  # the back-lit clip's subject scale and background lift
CENTRE = 0.45  # the photo's centre, share of the frame width


def scene(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """The well-lit scene at ``size`` (W, H): (frame (H, W, 3) uint8 BGR, the photo's (H, W) bool footprint,
    the face box (x, y, w, h) px)."""
    width, height = size
    photo = load_photo("astronaut.png")
    s = 0.9 * height / photo.shape[0]
    x0, y0 = CENTRE * width - s * photo.shape[1] / 2, 0.05 * height
    m = np.float32([[s, 0, x0], [0, s, y0]])
    frame = cv2.warpAffine(photo, m, (width, height), dst=background(size), flags=cv2.INTER_AREA,
                           borderMode=cv2.BORDER_TRANSPARENT)
    footprint = cv2.warpAffine(np.ones(photo.shape[:2], np.uint8), m, (width, height), flags=cv2.INTER_NEAREST) > 0
    fx, fy, fw, fh = ASTRONAUT_FACE
    return frame, footprint, (x0 + s * fx, y0 + s * fy, s * fw, s * fh)


def lit(frame: np.ndarray, footprint: np.ndarray, lighting: str) -> np.ndarray:
    """``frame`` under ``lighting`` ("dark", "backlit" or "even": unchanged), float32 levels."""
    x = frame.astype(np.float32)
    if lighting == "dark":
        return 255.0 * GAIN * (x / 255.0) ** GAMMA
    if lighting == "backlit":
        return np.where(footprint[..., None], SUBJECT * x, 255.0 - LIFT * (255.0 - x))
    return x


def clip(lighting: str, frames: int, *, size: tuple[int, int] = (640, 360), noise: float = 2.0,
         cast: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> tuple[list[np.ndarray], tuple[float, float, float, float]]:
    """``frames`` frames of the still scene under ``lighting`` (`lit`), each channel times ``cast`` (BGR: a
    coloured light), with fresh noise; and the face box (x, y, w, h) px."""
    frame, footprint, box = scene(size)
    base = lit(frame, footprint, lighting) * np.float32(cast)
    rng = np.random.default_rng(23)
    out = [np.clip(base + rng.normal(0.0, noise, base.shape) + 0.5, 0, 255).astype(np.uint8) for _ in range(frames)]
    return out, box


def face_region(box: tuple[float, float, float, float]) -> tuple[slice, slice]:
    """The central 60 % of the face box (width and height): skin, eyes, nose and mouth, no hair or background."""
    x, y, w, h = box
    return slice(round(y + 0.2 * h), round(y + 0.8 * h)), slice(round(x + 0.2 * w), round(x + 0.8 * w))


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma (cv2.COLOR_BGR2GRAY) as float32 levels."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
