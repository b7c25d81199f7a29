"""The ``autoframe`` lens: a digital pan and zoom keeping the face, or all faces, framed with headroom.

Each frame's target is a crop of the frame's aspect ratio around the faces scored at least
``threshold`` (`AutoframeLens.target`; the whole frame with none). The crop's goal holds while
the target stays within `DEAD_ZONE` (centre) and `ZOOM_ZONE` (height) of it: a still face's box
jitters by a pixel or two, its size by 10 %. Once the target's centre leaves it, the goal follows
until still for `FOLLOW` s. Its centre is smoothed by a One Euro filter (a still face gives a still
picture, a moving one is followed with little lag), its height by a low-pass. The frame is then
replaced, in place, by that crop resized to the frame size (bilinear, sub-pixel), so it composes
with every filter, recording and the virtual camera; it draws after the other lenses
(``reframes``), which draw in the uncropped frame's coordinates.
"""

from __future__ import annotations

import cv2
import numpy as np

from filters.base import Option, in_range

from .lenses import Lens, Scene, register_lens
from .tracking import OneEuroFilter

FRAMING = 3.5  # crop height in face-box heights (head and shoulders)
SPREAD = 1.6  # crop width in widths of the union of the face boxes, at least
HEADROOM = 0.05  # the faces' centre sits this share of the crop height above the crop's centre
DEAD_ZONE = 0.03  # the goal's centre moves only when the target's leaves it by this share of the height
ZOOM_ZONE = 0.25  # ... and its height when the target's differs by this share (a box's size jitters by 10 %)
STILL = 0.02  # while following, the centre counts as still when it moves less than this share of the height
FOLLOW = 0.5  # s: after leaving the dead zone the goal follows the target until its centre is still this long
MIN_CUTOFF = 0.4  # Hz: One Euro smoothing of a still crop (lower: steadier)
BETA = 0.05  # 1 / (px/s): how fast the cutoff rises with the crop's speed (higher: less lag)
ZOOM_CUTOFF = 1.0  # Hz: the crop height is low-passed (a zoom eases in and out over about 0.5 s)


def _clamp(cx: float, cy: float, ch: float, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The crop (x, y, w, h) px of height ``ch`` and the frame's aspect ratio centred as near (cx, cy) as fits."""
    w, h = size
    ch = min(max(ch, 1.0), float(h))
    cw = ch * w / h
    x = min(max(cx - cw / 2.0, 0.0), w - cw)
    y = min(max(cy - ch / 2.0, 0.0), h - ch)
    return x, y, cw, ch


@register_lens("autoframe")
class AutoframeLens(Lens):
    help = "pan and zoom to keep the faces framed (a crop of the frame, smoothed)"
    needs_landmarks = False
    reframes = True  # a crop of the whole frame: drawn after every other lens
    options = (
        Option("zoom", float, 2.0, "the maximum zoom (1: never zoom)", in_range(1.0, 8.0)),
        Option("threshold", float, 0.7, "lowest detection score framed (higher: fewer false faces)",
               in_range(0.3, 0.95)),
    )

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._pan = OneEuroFilter(MIN_CUTOFF, BETA)
        self._zoom = OneEuroFilter(ZOOM_CUTOFF, 0.0)
        self._goal: np.ndarray | None = None  # (cx, cy, height) px
        self._follow_until = -np.inf  # s: the goal's centre follows the target until then
        self._centre = np.zeros(2, np.float32)
        self._height = 0.0
        self._t: float | None = None
        self.crop: tuple[float, float, float, float] | None = None  # (x, y, w, h) px of the last frame

    def target(self, boxes: list[tuple[float, float, float, float]], size: tuple[int, int]) -> np.ndarray:
        """The wanted (cx, cy, crop height) px for the face ``boxes`` (x, y, w, h) in a frame of ``size`` (W, H).

        The union of the boxes, `FRAMING` face heights tall (at least ``1 / zoom`` of the frame, at
        most all of it), wide enough for every face, with the faces' centre `HEADROOM` of the crop
        height above the crop's centre, kept inside the frame.
        """
        w, h = size
        if not boxes:
            return np.array([w / 2.0, h / 2.0, h], np.float32)
        b = np.array(boxes, np.float64)
        x0, y0 = b[:, 0].min(), b[:, 1].min()
        x1, y1 = (b[:, 0] + b[:, 2]).max(), (b[:, 1] + b[:, 3]).max()
        ch = max(FRAMING * float(b[:, 3].max()), (y1 - y0) * 1.5, SPREAD * (x1 - x0) * h / w)
        ch = min(max(ch, h / self.zoom), float(h))
        x, y, cw, ch = _clamp((x0 + x1) / 2.0, (y0 + y1) / 2.0 + HEADROOM * ch, ch, size)
        return np.array([x + cw / 2.0, y + ch / 2.0, ch], np.float32)

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        h, w = frame.shape[:2]
        wanted = self.target([face.box for face in scene.faces if face.score >= self.threshold], (w, h))
        t = scene.timestamp
        if self._goal is None:
            self._goal = wanted.copy()
        move = np.abs(wanted[:2] - self._goal[:2]) / self._goal[2]
        if (move > DEAD_ZONE).any() or (t <= self._follow_until and (move > STILL).any()):
            self._follow_until = t + FOLLOW
        if t <= self._follow_until:
            self._goal[:2] = wanted[:2]
        if abs(wanted[2] - self._goal[2]) > ZOOM_ZONE * self._goal[2]:
            self._goal[2] = wanted[2]
        if self._t is None or t > self._t:
            self._centre, self._height = self._pan(self._goal[:2], t), float(self._zoom(self._goal[2:], t)[0])
            self._t = t
        height = h if self._height > h - 0.5 else self._height  # the last half pixel of an ease-out
        x, y, cw, ch = _clamp(float(self._centre[0]), float(self._centre[1]), height, (w, h))
        self.crop = (x, y, cw, ch)
        if ch >= h:
            return
        s = h / ch
        # Pixel centres: output pixel i (centre i + 0.5) shows source point x + (i + 0.5) / s.
        m = np.array([[s, 0.0, s * (0.5 - x) - 0.5], [0.0, s, s * (0.5 - y) - 0.5]])
        frame[...] = cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
