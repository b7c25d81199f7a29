"""What the window draws over the picture: the status bar, toasts and the help panel.

Text uses the anti-aliased FreeType font that Pillow bundles, sized from the height of the
image drawn on (the window's size, see `camfilters.display`), so it stays legible at any
window size. Each distinct text is rasterised once into an alpha mask (cached) and blended
into the ``(H, W, 3) uint8 BGR`` image with integer arithmetic, so a frame's overlay costs
a fraction of a millisecond. Everything here draws in place and never on what is recorded.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .hotkeys import TOAST_SECONDS

__all__ = ["ERROR_SECONDS", "GREEN", "GREY", "RED", "WHITE", "YELLOW", "Status", "Toasts", "draw_help", "draw_message",
           "draw_status", "put_text", "status_height", "text_px", "text_size", "wrap_text"]

WHITE = (255, 255, 255)
GREY = (190, 190, 190)
RED = (60, 60, 240)
YELLOW = (80, 220, 255)
GREEN = (120, 220, 120)
#: The least time (s) an error message stays: long enough to read the fix it names.
ERROR_SECONDS = 5.0
_CACHE_SIZE = 256
_masks: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
_fonts: dict[int, ImageFont.FreeTypeFont] = {}


def text_px(image: np.ndarray, lines_on_screen: float = 26.0) -> int:
    """The font size in pixels for text on ``image``: ``lines_on_screen`` lines fill its height (11..48)."""
    return int(min(48, max(11, round(image.shape[0] / lines_on_screen))))


def _font(px: int) -> ImageFont.FreeTypeFont:
    if px not in _fonts:
        _fonts[px] = ImageFont.load_default(size=px)
    return _fonts[px]


def _mask(text: str, px: int) -> np.ndarray:
    """``text`` rasterised at ``px`` as an ``(h, w)`` uint8 coverage mask (cached)."""
    key = (text, px)
    mask = _masks.get(key)
    if mask is None:
        font = _font(px)
        ascent, descent = font.getmetrics()
        width = max(1, int(np.ceil(font.getlength(text))))
        canvas = Image.new("L", (width, ascent + descent), 0)
        ImageDraw.Draw(canvas).text((0, 0), text, fill=255, font=font)
        mask = _masks[key] = np.asarray(canvas)
        if len(_masks) > _CACHE_SIZE:
            _masks.popitem(last=False)
    else:
        _masks.move_to_end(key)
    return mask


def text_size(text: str, px: int) -> tuple[int, int]:
    """(width, height) in pixels that `put_text` covers."""
    mask = _mask(text, px)
    return mask.shape[1], mask.shape[0]


def fit_text(text: str, px: int, width: int) -> str:
    """``text``, or if wider than ``width`` px at ``px``, its start and end around an ellipsis (a path's file
    name is at its end, so the end is kept longer)."""

    def elided(keep: int) -> str:  # ``keep`` characters: a third from the start, the rest from the end
        head = keep // 3
        return text[:head] + "…" + text[len(text) - (keep - head):]

    if text_size(text, px)[0] <= width:
        return text
    low, high = 0, len(text)  # the most characters kept that fit
    while low < high:
        keep = (low + high + 1) // 2
        if text_size(elided(keep), px)[0] <= width:
            low = keep
        else:
            high = keep - 1
    return elided(low) if low else "…"


def wrap_text(text: str, px: int, width: int, most: int = 3) -> list[str]:
    """``text`` in lines at most ``width`` px wide at ``px``, broken between words; at most ``most`` lines,
    the last one elided (`fit_text`) if the text goes on."""
    lines: list[str] = []
    words = text.split(" ")
    while words and len(lines) < most:
        line = words.pop(0)
        while words and text_size(line + " " + words[0], px)[0] <= width:
            line += " " + words.pop(0)
        if len(lines) == most - 1 and words:
            line = fit_text(line + " " + " ".join(words), px, width)
            words = []
        lines.append(fit_text(line, px, width))
    return lines


def put_text(image: np.ndarray, text: str, x: int, y: int, px: int, colour: tuple[int, int, int]) -> int:
    """Blend ``text`` with its top-left corner at (x, y), clipped to the image; returns its width."""
    mask = _mask(text, px)
    h, w = mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(image.shape[1], x + w), min(image.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        alpha = mask[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.uint16)[..., None]
        roi = image[y0:y1, x0:x1]
        mixed = (roi.astype(np.uint16) * (255 - alpha) + np.array(colour, np.uint16) * alpha + 127) // 255
        roi[...] = mixed.astype(np.uint8)
    return w


def shade(image: np.ndarray, x0: int, y0: int, x1: int, y1: int, opacity: float) -> None:
    """Darken the rectangle [x0, x1) x [y0, y1) towards black by ``opacity`` (0..1), in place."""
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(image.shape[1], x1), min(image.shape[0], y1)
    if x1 > x0 and y1 > y0:
        keep = int(round(256 * (1.0 - opacity)))
        roi = image[y0:y1, x0:x1]
        roi[...] = ((roi.astype(np.uint16) * keep) >> 8).astype(np.uint8)


@dataclass
class Status:
    """What the status bar shows. ``recording`` is the seconds recorded (None when not recording)."""

    chain: str
    fps: float
    lens: str | None = None
    recording: float | None = None
    mirror: bool = False
    vcam: str | None = None  # "on", "paused", or None without a virtual camera
    paused: bool = False
    extra: list[str] = field(default_factory=list)  # e.g. per-filter timings


def status_height(image: np.ndarray) -> int:
    """The height in pixels of the status bar `draw_status` draws on ``image``."""
    px = text_px(image)
    return px + 2 * max(3, px // 3) + px // 4


def draw_status(image: np.ndarray, status: Status) -> dict[str, tuple[int, int, int, int]]:
    """The status bar along the bottom: REC dot and time, chain, fps, lens, mirror / vcam / paused badges.

    Returns where the chain and the lens items are, (x0, y0, x1, y1) by "chain" and "lens", for clicks.
    """
    px = text_px(image)
    pad = max(3, px // 3)
    top = image.shape[0] - status_height(image)
    shade(image, 0, top, image.shape[1], image.shape[0], 0.7)
    x, y = pad, top + pad
    if status.recording is not None:
        radius = max(3, px // 3)
        cv2.circle(image, (x + radius, y + px // 2 + 1), radius, RED, -1, cv2.LINE_AA)
        x += 2 * radius + pad
        seconds = int(status.recording)
        x += put_text(image, f"REC {seconds // 60:02d}:{seconds % 60:02d}", x, y, px, RED) + 2 * pad
    parts = [(status.chain, WHITE, "chain"), (f"{status.fps:.0f} fps", GREY, "")]
    if status.lens:
        parts.append((f"lens {status.lens}", GREEN, "lens"))
    parts += [(text, GREY, "") for text in status.extra]
    badges = [("MIRROR", WHITE)] if status.mirror else []
    if status.vcam:
        badges.append(("VCAM" if status.vcam == "on" else "VCAM paused", YELLOW if status.vcam == "on" else GREY))
    if status.paused:
        badges.append(("PAUSED", YELLOW))
    items = {}
    for text, colour, item in parts:
        width = put_text(image, text, x, y, px, colour)
        if item:
            items[item] = (x - pad, top, x + width + pad, image.shape[0])
        x += width + 2 * pad
    right = image.shape[1] - pad
    for text, colour in reversed(badges):
        width = text_size(text, px)[0]
        right -= width
        if right <= x:
            break
        put_text(image, text, right, y, px, colour)
        right -= 2 * pad
    return items


class Toasts:
    """Short messages shown at the top centre for ``seconds`` each (errors in red, for at least
    `ERROR_SECONDS`), newest first; a long one wraps onto up to three lines.

    ``clock`` gives the time in seconds (injectable for tests).
    """

    def __init__(self, seconds: float = TOAST_SECONDS, *, most: int = 3, clock=time.monotonic) -> None:
        self.seconds = seconds
        self.most = most
        self.clock = clock
        self._items: list[tuple[float, str, bool]] = []  # (shown until, text, error)

    def add(self, text: str, *, error: bool = False) -> None:
        seconds = max(self.seconds, ERROR_SECONDS) if error else self.seconds
        self._items.insert(0, (self.clock() + seconds, text, error))
        del self._items[self.most:]

    @property
    def active(self) -> list[str]:
        """The texts on screen now, newest first."""
        now = self.clock()
        self._items = [item for item in self._items if item[0] > now]
        return [text for _, text, _ in self._items]

    def draw(self, image: np.ndarray, top: int = 0) -> None:
        """Draw the active messages, the first one ``top`` px down (below what must stay visible)."""
        self.active  # noqa: B018 - drops the expired ones
        px = int(text_px(image) * 1.15)
        pad = max(4, px // 2)
        y = top + pad
        for _, text, error in self._items:
            lines = wrap_text(text, px, image.shape[1] - 4 * pad)
            sizes = [text_size(line, px) for line in lines]
            width, height = max(w for w, _ in sizes), sum(h for _, h in sizes)
            x = (image.shape[1] - width) // 2
            shade(image, x - pad, y, x + width + pad, y + height + pad, 0.8)
            line_y = y + pad // 2
            for line, (w, h) in zip(lines, sizes):
                put_text(image, line, (image.shape[1] - w) // 2, line_y, px, RED if error else WHITE)
                line_y += h
            y += height + pad + pad // 2


def _rows(sections: list) -> int:
    return sum(len(items) + 1 for _, items in sections) + len(sections) - 1


def _column_width(sections: list, px: int) -> tuple[int, int]:
    """(width of the left column, width of the whole) of ``sections`` at ``px``."""
    left_w = max((text_size(left, px)[0] for _, items in sections for left, _ in items), default=0)
    right_w = max((text_size(right, px)[0] for _, items in sections for _, right in items), default=0)
    title_w = max((text_size(title, px)[0] for title, _ in sections), default=0)
    return left_w, max(title_w, left_w + px + right_w)


def draw_help(image: np.ndarray, sections: list[tuple[str, list[tuple[str, str]]]], bottom: int = 0) -> None:
    """An opaque panel centred above the bottom ``bottom`` px (the status bar) with aligned two-column
    sections: ``[(title, [(left, right), ...]), ...]``.

    The sections go in one column, or the first beside the others, or the first, the middle ones and the
    last in three: whichever lets the biggest font fit the area, in height and in width.
    """
    area_h = image.shape[0] - bottom
    fit = lambda rows: int(area_h * 0.94 / max(1, rows + 1.6) / 1.25)  # noqa: E731 - the px that fits rows
    layouts = [[sections]]
    if len(sections) > 1:
        layouts.append([sections[:1], sections[1:]])
    if len(sections) > 2:
        layouts.append([sections[:1], sections[1:-1], sections[-1:]])
    best = None
    for columns in layouts:
        px = max(6, min(text_px(image, 30.0), fit(max(_rows(c) for c in columns))))
        while True:
            widths = [_column_width(c, px) for c in columns]
            width = sum(w for _, w in widths) + (len(columns) + 1) * px * 2
            if px <= 6 or width <= image.shape[1]:
                break
            px -= 1
        if best is None or px > best[0]:
            best = px, columns, widths, width
    px, columns, widths, width = best
    rows = max(_rows(c) for c in columns)
    line, pad = int(px * 1.25), px
    width = min(image.shape[1], width)
    height = min(area_h, rows * line + 2 * pad)
    x0, y0 = (image.shape[1] - width) // 2, max(0, (area_h - height) // 2)
    shade(image, x0, y0, x0 + width, y0 + height, 0.92)
    x = x0 + 2 * pad
    for column, (left_w, column_w) in zip(columns, widths):
        _draw_column(image, column, x, y0 + pad, y0 + height, left_w, px)
        x += column_w + 2 * pad


def _draw_column(image: np.ndarray, sections: list, x: int, y: int, end: int, left_w: int, px: int) -> None:
    line = int(px * 1.25)
    for index, (title, items) in enumerate(sections):
        if index:
            y += line
        put_text(image, title, x, y, px, YELLOW)
        y += line
        for left, right in items:
            if y + line > end:  # a window too small for every line: the panel stays in its area
                return
            put_text(image, left, x, y, px, WHITE)
            put_text(image, right, x + left_w + px, y, px, GREY)
            y += line


def draw_message(image: np.ndarray, text: str, progress: float | None = None) -> None:
    """``text`` centred on ``image`` (e.g. while starting), with a progress bar below it at ``progress`` (0..1)."""
    px = int(text_px(image) * 1.3)
    width, height = text_size(text, px)
    x, y = max(0, (image.shape[1] - width) // 2), (image.shape[0] - height) // 2
    put_text(image, text, x, y, px, WHITE)
    if progress is not None:
        bar_w, bar_h = min(image.shape[1] - 2 * px, max(width, 10 * px)), max(4, px // 3)
        bx, by = (image.shape[1] - bar_w) // 2, y + height + px
        cv2.rectangle(image, (bx, by), (bx + bar_w, by + bar_h), GREY, 1)
        filled = int(round(bar_w * min(1.0, max(0.0, progress))))
        if filled:
            cv2.rectangle(image, (bx, by), (bx + filled, by + bar_h), WHITE, -1)
