"""Geometry and drawing helpers of the lenses: face-mesh landmark indices, boxes, fixed-point points, blending.

Points are ``(N, 2) float32`` pixel coordinates (x, y); frames ``(H, W, 3) uint8 BGR``. cv2's
drawing takes int32 fixed-point points with `SHIFT` fractional bits (`fixed_point`), so outlines
keep sub-pixel positions under ``LINE_AA``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Landmark indices of the 478-point MediaPipe face mesh (image-left = the subject's right).
EYE_IMAGE_LEFT = (33, 133, 159, 145)   # outer corner, inner corner, top, bottom
EYE_IMAGE_RIGHT = (263, 362, 386, 374)
TEMPLE_IMAGE_LEFT, TEMPLE_IMAGE_RIGHT = 127, 356
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
SHIFT = 4  # sub-pixel bits for cv2 drawing
ONE = 1 << SHIFT


def fixed_point(points: np.ndarray) -> np.ndarray:
    """Float pixel coordinates as int32 fixed point for cv2 drawing with ``shift=SHIFT``."""
    return np.round(points * ONE).astype(np.int32)


def box_around(points: np.ndarray, margin: float, shape: tuple[int, ...]) -> tuple[slice, slice] | None:
    """The (rows, cols) slices of the bounding box of ``points`` (N, 2) plus ``margin``, clipped."""
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return slice(y0, y1), slice(x0, x1)


def blend(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray) -> None:
    """``dst = src * alpha + dst * (1 - alpha)`` in place; ``alpha`` is (h, w) float32 in [0, 1]."""
    dst[...] = cv2.blendLinear(src, dst, alpha, 1.0 - alpha)


def mesh_connections() -> tuple[np.ndarray, np.ndarray] | None:
    """(tesselation, contours) landmark index pairs from mediapipe's FaceLandmarksConnections, if present."""
    try:
        from mediapipe.tasks.python.vision import FaceLandmarksConnections as C
    except ImportError:
        return None
    pairs = lambda conns: np.array([(c.start, c.end) for c in conns], np.int32)  # noqa: E731
    contours = list(C.FACE_LANDMARKS_CONTOURS) + list(C.FACE_LANDMARKS_LEFT_IRIS) + list(C.FACE_LANDMARKS_RIGHT_IRIS)
    return pairs(C.FACE_LANDMARKS_TESSELATION), pairs(contours)


def superellipse(cx: float, cy: float, a: float, b: float, n: float = 3.0, count: int = 64) -> np.ndarray:
    """Points (count, 2) of a rounded-rectangle lens outline, a bit narrower at the bottom."""
    theta = np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
    c, s = np.cos(theta), np.sin(theta)
    x = a * np.sign(c) * np.abs(c) ** (2.0 / n)
    y = b * np.sign(s) * np.abs(s) ** (2.0 / n)
    x *= 1.0 - 0.2 * np.clip(s, 0.0, None) ** 2
    return np.stack([cx + x, cy + y], axis=1)


def head_region(box: tuple[float, float, float, float], scale: float) -> tuple[float, float, float, float]:
    """(cx, cy, a, b): centre and half-axes (px) of the head around face ``box`` (x, y, w, h), times ``scale``.

    A head is about 1.2 face boxes wide and 1.4 tall, centred 0.2 face heights above the face
    centre (hair above the brows, chin at the box's bottom edge).
    """
    x, y, w, h = box
    return x + w / 2.0, y + 0.3 * h, 0.6 * scale * w, 0.7 * scale * h


def hidden_picture(view: np.ndarray, mode: str, block: float, sigma: float, solid: tuple[int, int, int]) -> np.ndarray:
    """``view`` (h, w, 3) made unrecognisable: ``mode`` "pixelate" (blocks of at least ``block`` px), "blur"
    (Gaussian, ``sigma`` px) or "solid" (filled with BGR ``solid``); a new array of its shape."""
    rh, rw = view.shape[:2]
    if mode == "solid":
        hidden = np.empty_like(view)
        hidden[...] = solid
        return hidden
    if mode == "pixelate":
        block = max(1.0, block)  # rounded down to whole blocks: never smaller than this
        small = cv2.resize(view, (max(1, int(rw / block)), max(1, int(rh / block))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (rw, rh), interpolation=cv2.INTER_NEAREST)
    # Blur at a reduced size (sigma about 2 px there): the same look, a fraction of the cost.
    k = max(1.0, sigma / 2.0)
    small = cv2.resize(view, (max(1, round(rw / k)), max(1, round(rh / k))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / k, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)


def cover_crop(picture: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``picture`` scaled to cover ``size`` (w, h) px and centre-cropped to it, C-contiguous."""
    w, h = size
    ph, pw = picture.shape[:2]
    s = max(w / pw, h / ph)
    sw, sh = max(w, math.ceil(pw * s)), max(h, math.ceil(ph * s))
    big = cv2.resize(picture, (sw, sh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    y0, x0 = (sh - h) // 2, (sw - w) // 2
    return np.ascontiguousarray(big[y0:y0 + h, x0:x0 + w])
