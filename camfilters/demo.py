"""The built-in animated demo scene, shown when there is no camera.

`DemoScene` draws a frame for a given time: a scrolling colour-gradient test card
(grid lines, rings, a checker strip) under bouncing balls, a spinning star, a
moving checkerboard tile, a title banner and a clock, so every filter has edges,
flat areas and saturated colours to act on. Everything expensive is pre-rendered
once (the background, the banner, the clock face); a frame costs one full-frame
copy plus a few small drawing calls (about 1-2 ms at 1280x720). The threaded,
latest-frame-wins source around it is `camfilters.capture.DemoSource`.
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np

from .errors import ParameterError

__all__ = ["DemoScene", "TITLE"]

TITLE = "camfilters demo — no camera found"
_FONT = cv2.FONT_HERSHEY_DUPLEX
# Ball colours (BGR) and motion: (speed x, speed y in frame sizes per second, phase, radius in px at 720p).
_BALLS = [
    ((40, 40, 230), 0.21, 0.17, 0.10, 70),
    ((40, 200, 60), 0.13, 0.23, 0.55, 55),
    ((230, 120, 30), 0.17, 0.11, 0.80, 85),
    ((200, 40, 200), 0.25, 0.19, 0.35, 45),
]


def _triangle(x: float) -> float:
    """Triangle wave in [0, 1] with period 1 (bouncing motion)."""
    x %= 1.0
    return 2.0 * x if x < 0.5 else 2.0 - 2.0 * x


def _put_text(image: np.ndarray, text: str, org: tuple[int, int], scale: float, color: tuple[int, int, int],
              thickness: int) -> None:
    """cv2.putText that also draws "—" (Hershey fonts are ASCII only) as a line."""
    x, y = org
    dash_w = cv2.getTextSize("M", _FONT, scale, thickness)[0][0]
    space_w = cv2.getTextSize(" ", _FONT, scale, thickness)[0][0]
    for k, part in enumerate(text.split("—")):
        if k:
            mid = y - int(12 * scale)
            cv2.line(image, (x, mid), (x + dash_w, mid), color, thickness, cv2.LINE_AA)
            x += dash_w
        cv2.putText(image, part, (x, y), _FONT, scale, color, thickness, cv2.LINE_AA)
        x += cv2.getTextSize(part, _FONT, scale, thickness)[0][0] if part.strip() else space_w * len(part)


def _sprite(width: int, height: int, draw) -> tuple[np.ndarray, np.ndarray]:
    """Pre-render a sprite for `_blend`: (premultiplied BGR, 255 - alpha as 3 channels), both uint8."""
    color = np.zeros((height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    draw(color, alpha)
    premult = cv2.multiply(color, cv2.merge([alpha] * 3), scale=1.0 / 255)
    return premult, cv2.merge([255 - alpha] * 3)


def _blend(image: np.ndarray, sprite: tuple[np.ndarray, np.ndarray], x: int, y: int) -> None:
    """Alpha-composite a `_sprite` onto ``image`` in place with its top-left corner at (x, y)."""
    premult, inv_alpha = sprite
    sx, sy = max(0, -x), max(0, -y)  # the part of the sprite that falls inside the image
    x, y = max(0, x), max(0, y)
    h = min(premult.shape[0] - sy, image.shape[0] - y)
    w = min(premult.shape[1] - sx, image.shape[1] - x)
    if h <= 0 or w <= 0:
        return
    roi = image[y : y + h, x : x + w]
    cv2.multiply(roi, inv_alpha[sy : sy + h, sx : sx + w], dst=roi, scale=1.0 / 255)
    cv2.add(roi, premult[sy : sy + h, sx : sx + w], dst=roi)


class DemoScene:
    """Renders the demo animation at ``width`` x ``height``; `render` draws time ``t`` into a buffer."""

    def __init__(self, width: int = 1280, height: int = 720) -> None:
        if width < 16 or height < 16:
            raise ParameterError(f"demo size must be at least 16x16, got {width}x{height}")
        self.width, self.height = width, height
        self.scale = s = min(width / 1280, height / 720)
        self._period = max(32, (width // 2) // 32 * 32)  # background repeats every _period px in x
        self._background = self._make_background()
        self._checker = self._make_checker(max(1, min(int(20 * s), min(width, height) // 16)))
        self._banner = self._make_banner()
        self._clock_r = max(12, int(60 * s))
        self._clock_face = self._make_clock_face()
        self._star = np.array([[math.cos(a), math.sin(a)] for a in np.linspace(0, 2 * np.pi, 11)[:-1]])
        self._star *= np.where(np.arange(10) % 2 == 0, 1.0, 0.45)[:, None] * max(10, int(75 * s))

    # -- pre-rendered parts ---------------------------------------------------------------
    def _make_background(self) -> np.ndarray:
        """(H, W + period, 3) uint8 BGR test card, periodic in x so a window of it can scroll."""
        h, p = self.height, self._period
        x = np.arange(p, dtype=np.float32)
        y = np.arange(h, dtype=np.float32)[:, None]
        hsv = np.empty((h, p, 3), np.uint8)
        hsv[..., 0] = (x * (180.0 / p)).astype(np.uint8)[None, :]
        hsv[..., 1] = (110 + 50 * np.cos(y / h * np.pi)).astype(np.uint8)
        hsv[..., 2] = (205 - 95 * y / h).astype(np.uint8)
        tile = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        # Rings around the tile centre, drawn on three copies side by side so they wrap seamlessly.
        wide = np.concatenate([tile, tile, tile], axis=1)
        rings = wide.copy()
        t = max(1, round(2 * self.scale))
        for r in range(max(8, int(40 * self.scale)), int(0.6 * max(p, h)), max(8, int(56 * self.scale))):
            for cx in (p // 2, p + p // 2, 2 * p + p // 2):
                cv2.circle(rings, (cx, h // 2), r, (250, 250, 250), t, cv2.LINE_AA)
        tile = cv2.addWeighted(wide, 0.45, rings, 0.55, 0)[:, p : 2 * p].copy()
        step = max(8, p // 8)
        tile[:, ::step] //= 2
        tile[:: max(8, h // 9), :] //= 2
        sq = max(4, step // 4)  # checker strip along the bottom
        strip = ((np.arange(sq * 2)[:, None] // sq + np.arange(p)[None, :] // sq) % 2 * 230 + 15).astype(np.uint8)
        tile[h - 2 * sq :] = strip[..., None]
        reps = -(-(self.width + p) // p)
        return np.ascontiguousarray(np.tile(tile, (1, reps, 1))[:, : self.width + p])

    def _make_checker(self, sq: int) -> np.ndarray:
        """An 8x8-square black/white checkerboard tile with a coloured border, (8 sq, 8 sq, 3) uint8."""
        n = 8 * sq
        board = ((np.arange(n)[:, None] // sq + np.arange(n)[None, :] // sq) % 2 * 255).astype(np.uint8)
        tile = cv2.merge([board, board, board])
        cv2.rectangle(tile, (0, 0), (n - 1, n - 1), (0, 200, 255), max(2, sq // 4))
        return tile

    def _make_banner(self) -> tuple[np.ndarray, np.ndarray]:
        scale = 1.1 * self.scale
        thick = max(1, round(2 * self.scale))
        (tw, th), _ = cv2.getTextSize(TITLE.replace("—", "M"), _FONT, scale, thick)
        pad = max(4, int(16 * self.scale))
        w, h = min(tw + 2 * pad, self.width - 2), th + 2 * pad

        def draw(color: np.ndarray, alpha: np.ndarray) -> None:
            alpha[:] = 150
            _put_text(color, TITLE, (pad, pad + th), scale, (255, 255, 255), thick)
            text = cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
            np.maximum(alpha, text, out=alpha)

        return _sprite(w, h, draw)

    def _make_clock_face(self) -> tuple[np.ndarray, np.ndarray]:
        r = self._clock_r
        n = 2 * r + 4

        def draw(color: np.ndarray, alpha: np.ndarray) -> None:
            c = (n // 2, n // 2)
            cv2.circle(color, c, r, (250, 250, 250), -1, cv2.LINE_AA)
            cv2.circle(alpha, c, r, 230, -1, cv2.LINE_AA)
            cv2.circle(color, c, r, (30, 30, 30), max(1, r // 20), cv2.LINE_AA)
            for k in range(12):
                a = k * np.pi / 6
                p0 = (int(c[0] + 0.8 * r * math.cos(a)), int(c[1] + 0.8 * r * math.sin(a)))
                p1 = (int(c[0] + 0.93 * r * math.cos(a)), int(c[1] + 0.93 * r * math.sin(a)))
                cv2.line(color, p0, p1, (30, 30, 30), max(1, r // 20), cv2.LINE_AA)

        return _sprite(n, n, draw)

    # -- per frame ------------------------------------------------------------------------
    def render(self, out: np.ndarray, t: float, *, index: int = 0, wall: float | None = None) -> np.ndarray:
        """Draw the scene at ``t`` seconds into ``out`` ((H, W, 3) uint8 BGR) and return ``out``.

        ``index`` is printed as the frame number, ``wall`` (seconds since the epoch,
        default now) sets the clock.
        """
        w, h, s = self.width, self.height, self.scale
        offset = int(t * 60 * s) % self._period
        np.copyto(out, self._background[:, offset : offset + w])

        cw = self._checker.shape[1]
        cx = int((w - cw) * (0.5 + 0.4 * math.sin(0.5 * t)))
        cy = int((h - cw) * (0.55 + 0.3 * math.sin(0.8 * t + 1.0)))
        out[cy : cy + cw, cx : cx + cw] = self._checker

        for color, vx, vy, phase, radius in _BALLS:
            r = max(4, int(radius * s))
            x = int(r + (w - 2 * r) * _triangle(vx * t + phase))
            y = int(r + (h - 2 * r) * _triangle(vy * t + phase * 0.7))
            cv2.circle(out, (x, y), r, color, -1, cv2.LINE_AA)
            cv2.circle(out, (x, y), r, (255, 255, 255), max(1, r // 16), cv2.LINE_AA)
            cv2.circle(out, (x - r // 3, y - r // 3), max(2, r // 5), (255, 255, 255), -1, cv2.LINE_AA)

        a = 0.9 * t
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        centre = np.array([w * (0.5 + 0.3 * math.cos(0.3 * t)), h * 0.5])
        star = (self._star @ rot.T + centre).astype(np.int32)
        cv2.fillPoly(out, [star], (0, 215, 255), cv2.LINE_AA)
        cv2.polylines(out, [star], True, (20, 20, 20), max(1, round(3 * s)), cv2.LINE_AA)

        margin = max(2, int(20 * s))
        _blend(out, self._banner, margin, margin)
        self._draw_clock(out, index, time.time() if wall is None else wall, margin)
        return out

    def _draw_clock(self, out: np.ndarray, index: int, wall: float, margin: int) -> None:
        r, s = self._clock_r, self.scale
        n = self._clock_face[0].shape[0]
        x0, y0 = self.width - n - margin, margin
        _blend(out, self._clock_face, x0, y0)
        c = (x0 + n // 2, y0 + n // 2)
        local = time.localtime(wall)
        sec = local.tm_sec + wall % 1.0
        hands = [  # (angle in turns, length, thickness, colour)
            (((local.tm_hour % 12) + local.tm_min / 60) / 12, 0.5, max(2, r // 12), (30, 30, 30)),
            ((local.tm_min + sec / 60) / 60, 0.75, max(2, r // 16), (30, 30, 30)),
            (sec / 60, 0.85, max(1, r // 30), (20, 20, 220)),
        ]
        for turns, length, thick, color in hands:
            a = 2 * np.pi * turns - np.pi / 2
            tip = (int(c[0] + length * r * math.cos(a)), int(c[1] + length * r * math.sin(a)))
            cv2.line(out, c, tip, color, thick, cv2.LINE_AA)
        label = f"{time.strftime('%H:%M:%S', local)}.{int(wall % 1 * 10)}  frame {index}"
        scale = 0.6 * s
        (tw, th), _ = cv2.getTextSize(label, _FONT, scale, 1)
        org = (self.width - tw - margin, y0 + n + th + max(2, int(8 * s)))
        cv2.putText(out, label, org, _FONT, scale, (0, 0, 0), max(2, round(4 * s)), cv2.LINE_AA)
        cv2.putText(out, label, org, _FONT, scale, (255, 255, 255), max(1, round(1.5 * s)), cv2.LINE_AA)
