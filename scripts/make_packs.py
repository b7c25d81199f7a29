"""Draw the built-in lens packs (camfilters/face/packs/*/): PNG art made here, no third-party art.

    python scripts/make_packs.py

Shapes are filled with Pillow at 4x size and area-averaged down, so every edge is
anti-aliased; NumPy shades them (cylinder and radial light from the upper left, with a
specular highlight), a dark outline is the shape grown by a few pixels and drawn under it,
and a soft contact shadow (Gaussian-blurred) sits where the sticker meets the head. The
placement (landmarks, pivot, scale) is in each pack's lens.json; the format is described in
camfilters/face/packs.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "camfilters" / "face" / "packs"
SS = 4  # supersampling factor of the shape fills

log = logging.getLogger("make_packs")


def rgb(hex_colour: str) -> np.ndarray:
    """``"#rrggbb"`` as three floats in [0, 1]."""
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], np.float32) / 255.0


class Art:
    """A premultiplied RGBA float canvas of ``(w, h)`` px; shapes are ``(h * SS, w * SS) uint8`` masks."""

    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.rgba = np.zeros((h, w, 4), np.float32)
        self.y, self.x = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5  # pixel centres

    def mask(self, paint: Callable[[ImageDraw.ImageDraw], None]) -> np.ndarray:
        """The supersampled mask that ``paint`` fills (coordinates given in final px, scaled here)."""
        image = Image.new("L", (self.w * SS, self.h * SS), 0)
        draw = ImageDraw.Draw(image)
        paint(_Scaled(draw))
        return np.asarray(image)

    def polygon(self, points) -> np.ndarray:
        return self.mask(lambda d: d.polygon(points))

    def ellipse(self, cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
        return self.mask(lambda d: d.ellipse((cx - ax, cy - ay, cx + ax, cy + ay)))

    def cover(self, mask: np.ndarray) -> np.ndarray:
        """Coverage ``(h, w) float32`` in [0, 1] of a supersampled mask (area average)."""
        return np.asarray(Image.fromarray(mask).resize((self.w, self.h), Image.BOX), np.float32) / 255.0

    @staticmethod
    def grow(mask: np.ndarray, px: float) -> np.ndarray:
        """``mask`` dilated by a disc of radius ``px`` final pixels: the outline's outer edge."""
        r = max(1, round(px * SS))
        return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))

    def shadow(self, mask: np.ndarray, sigma: float, opacity: float, dy: float = 0.0) -> None:
        """A soft black shadow of ``mask``, blurred by ``sigma`` px and moved down ``dy`` px."""
        soft = Image.fromarray(np.clip(self.cover(mask) * 255, 0, 255).astype(np.uint8))
        soft = soft.transform(soft.size, Image.AFFINE, (1, 0, 0, 0, 1, -dy), Image.BILINEAR)
        a = np.asarray(soft.filter(ImageFilter.GaussianBlur(sigma)), np.float32) / 255.0
        self.paint(np.zeros(3, np.float32), a * opacity)

    def paint(self, colour: np.ndarray, alpha: np.ndarray) -> None:
        """Composite ``colour`` ((3,) or (h, w, 3) RGB in [0, 1]) with coverage ``alpha`` (h, w) over the canvas."""
        a = np.clip(alpha, 0.0, 1.0)[..., None]
        self.rgba[..., :3] = np.clip(colour, 0.0, 1.0) * a + self.rgba[..., :3] * (1.0 - a)
        self.rgba[..., 3:] = a + self.rgba[..., 3:] * (1.0 - a)

    def part(self, mask: np.ndarray, colour: np.ndarray, outline: np.ndarray, width: float) -> None:
        """A shaded part with its own dark outline ``width`` px wide (drawn first, so it shows at the seams)."""
        self.paint(outline, self.cover(self.grow(mask, width)))
        self.paint(colour, self.cover(mask))

    def save(self, path: Path) -> None:
        a = self.rgba[..., 3:]
        straight = np.where(a > 1e-4, self.rgba[..., :3] / np.maximum(a, 1e-4), 0.0)
        out = np.concatenate([straight, a], axis=2)
        Image.fromarray(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8), "RGBA").save(path, optimize=True)


class _Scaled:
    """An ImageDraw whose polygon and ellipse take final-pixel coordinates and draw at SS x."""

    def __init__(self, draw: ImageDraw.ImageDraw) -> None:
        self.draw = draw

    def polygon(self, points) -> None:
        self.draw.polygon([(x * SS, y * SS) for x, y in points], fill=255)

    def ellipse(self, box) -> None:
        self.draw.ellipse([v * SS for v in box], fill=255)

    def line(self, points, width: float) -> None:
        self.draw.line([(x * SS, y * SS) for x, y in points], fill=255, width=round(width * SS), joint="curve")


LIGHT = np.array([-0.55, -0.35, 0.76], np.float32)  # towards the light: left, up, out of the picture


def cylinder(x: np.ndarray, left: float, right: float, base: np.ndarray, shine: float = 0.5) -> np.ndarray:
    """A vertical cylinder between columns ``left`` and ``right`` lit from `LIGHT`: (h, w, 3) RGB."""
    n = np.clip((x - (left + right) / 2) / ((right - left) / 2), -0.999, 0.999)
    nz = np.sqrt(1.0 - n * n)
    diffuse = np.clip(n * LIGHT[0] + nz * LIGHT[2], 0.0, 1.0)
    half = np.array([LIGHT[0], 0.0, LIGHT[2] + 1.0]) / np.linalg.norm([LIGHT[0], 0.0, LIGHT[2] + 1.0])
    spec = np.clip(n * half[0] + nz * half[2], 0.0, 1.0) ** 40
    return base * (0.35 + 0.75 * diffuse)[..., None] + shine * spec[..., None]


def dome(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float, base: np.ndarray,
         shine: float = 0.35) -> np.ndarray:
    """An ellipsoid bump centred (cx, cy), radii (rx, ry) px, lit from `LIGHT`: (h, w, 3) RGB."""
    u, v = (x - cx) / rx, (y - cy) / ry
    nz = np.sqrt(np.clip(1.0 - u * u - v * v, 0.0, 1.0))
    diffuse = np.clip(u * LIGHT[0] + v * LIGHT[1] + nz * LIGHT[2], 0.0, 1.0)
    half = (LIGHT + [0, 0, 1]) / np.linalg.norm(LIGHT + [0, 0, 1])
    spec = np.clip(u * half[0] + v * half[1] + nz * half[2], 0.0, 1.0) ** 30
    return base * (0.4 + 0.7 * diffuse)[..., None] + shine * spec[..., None]


def hat() -> Art:
    """A felt top hat with a red band, seen a little from above; the shadow falls on the forehead."""
    art = Art(300, 260)
    x, y = art.x, art.y
    ink = rgb("#0c0c10")
    brim = art.ellipse(150, 222, 146, 24)
    crown = art.polygon([(74 + 3 * s, 22 + 190 * s) for s in np.linspace(0, 1, 12)]  # flared a little at the top
                        + [(150 - 73 * np.cos(t), 212 + 12 * np.sin(t)) for t in np.linspace(0, np.pi, 48)]
                        + [(223 + 3 * s, 212 - 190 * s) for s in np.linspace(0, 1, 12)])
    top = art.ellipse(150, 22, 76, 11)
    band = np.minimum(crown, art.polygon(
        [(150 - 74 * np.cos(t), 172 + 12 * np.sin(t)) for t in np.linspace(0, np.pi, 48)]
        + [(150 + 74 * np.cos(t), 206 + 12 * np.sin(t)) for t in np.linspace(0, np.pi, 48)]))
    art.shadow(art.ellipse(150, 236, 134, 16), sigma=7, opacity=0.55, dy=4)  # on the forehead
    felt = rgb("#2c2c34")
    brim_shade = felt * (1.15 - 0.55 * np.clip((y - 200) / 46, 0, 1))[..., None]
    art.part(brim, brim_shade + 0.25 * np.exp(-((y - 238) / 3.0) ** 2)[..., None] * (np.abs(x - 150) < 120)[..., None],
             ink, 3.0)
    art.part(crown, cylinder(x, 74, 226, felt, shine=0.35), ink, 3.0)
    art.paint(cylinder(x, 74, 226, rgb("#b01e28"), shine=0.45), art.cover(band))
    art.paint(ink * 0.5, art.cover(art.grow(band, 1.2)) - art.cover(band))  # the band's seams
    art.part(top, dome(x, y, 130, 10, 100, 40, felt * 1.2, shine=0.15), ink, 2.5)
    return art


def cat_ears() -> Art:
    """Two furry cat ears with pink insides, standing in the hair (shadow at their base)."""
    art = Art(300, 160)
    x, y = art.x, art.y
    ink = rgb("#2a1c14")
    for cx, lean in ((62, -1), (238, 1)):
        def ear(shrink: float, lift: float) -> list[tuple[float, float]]:
            tip = (cx + 16 * lean * shrink, 10 + lift)
            left, right = (cx - 54 * shrink, 130), (cx + 54 * shrink, 130)
            pts = []
            for s in np.linspace(0, 1, 24):  # outer edges bulge a little (quadratic curves)
                pts.append(((1 - s) ** 2 * left[0] + 2 * s * (1 - s) * (cx - 40 * shrink + 8 * lean) + s * s * tip[0],
                            (1 - s) ** 2 * left[1] + 2 * s * (1 - s) * 50 + s * s * tip[1]))
            for s in np.linspace(0, 1, 24):
                pts.append(((1 - s) ** 2 * tip[0] + 2 * s * (1 - s) * (cx + 40 * shrink + 8 * lean) + s * s * right[0],
                            (1 - s) ** 2 * tip[1] + 2 * s * (1 - s) * 50 + s * s * right[1]))
            return pts

        outer, inner = art.polygon(ear(1.0, 0)), art.polygon(ear(0.58, 30))
        art.shadow(art.ellipse(cx, 132, 58, 10), sigma=5, opacity=0.5, dy=2)
        fur = rgb("#8a6a50") * (1.25 - 0.6 * np.clip((y - 10) / 120, 0, 1))[..., None]
        art.part(outer, dome(x, y, cx + 16 * lean, 80, 70, 90, fur, shine=0.12), ink, 3.0)
        pink = rgb("#f2a0b4") * (1.05 - 0.35 * np.clip((y - 40) / 90, 0, 1))[..., None]
        art.paint(pink, art.cover(inner))
        tufts = art.mask(lambda d: [d.line([(cx + dx, 128), (cx + dx * 1.6 + lean * 4, 92 - abs(dx) * 0.3)], 2.2)
                                    for dx in (-18, -8, 2, 12, 20)])
        art.paint(rgb("#fff6ee"), 0.85 * art.cover(tufts) * art.cover(inner))
        art.paint(ink * 0.6, 0.35 * (art.cover(art.grow(inner, 1.0)) - art.cover(inner)))
    return art


def moustache() -> Art:
    """A curly moustache with combed hair strokes; its shadow falls on the upper lip."""
    art = Art(200, 76)
    x, y = art.x, art.y
    ink = rgb("#140c06")
    shape = np.zeros((art.h * SS, art.w * SS), np.uint8)
    for side in (-1, 1):
        pts = []
        for t in np.linspace(0.0, 1.0, 60):  # upper edge, from the centre out to the curled tip
            pts.append((100 + side * 90 * t, 26 - 16 * np.sin(np.pi * t) + 30 * t ** 4))
        for t in np.linspace(1.0, 0.0, 60):  # lower edge, back to the centre
            pts.append((100 + side * (90 * t - 8 * t ** 3), 46 - 8 * np.sin(np.pi * t) + 18 * t ** 3))
        shape = np.maximum(shape, art.polygon(pts))
    art.shadow(shape, sigma=3.5, opacity=0.5, dy=4)
    hair = rgb("#4a2e1a") * (1.3 - 0.7 * np.clip((y - 10) / 40, 0, 1))[..., None]
    art.part(shape, hair, ink, 2.0)
    strokes = art.mask(lambda d: [d.line([(100 + side * (6 + 9 * k), 30 - (k % 3)),
                                          (100 + side * (16 + 10 * k), 22 + 0.3 * k * k)], 1.3)
                                  for side in (-1, 1) for k in range(7)])
    art.paint(rgb("#a87a52"), 0.55 * art.cover(strokes) * art.cover(shape))
    art.paint(rgb("#ffffff"), 0.22 * np.exp(-((y - 21) / 3.0) ** 2) * art.cover(shape) * (np.abs(x - 100) > 8))
    return art


def halo() -> Art:
    """A glowing golden ring, tilted; drawn behind the head (``behind``), so the head hides its lower arc."""
    art = Art(300, 120)
    x, y = art.x, art.y
    outer, inner = art.ellipse(150, 60, 128, 38), art.ellipse(150, 60, 110, 26)
    ring = np.clip(outer.astype(np.int16) - inner, 0, 255).astype(np.uint8)
    glow = Image.fromarray((art.cover(ring) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(7))
    art.paint(rgb("#ffe27a"), 0.7 * np.asarray(glow, np.float32) / 255.0)
    gold = rgb("#e8b030")
    # Light on the ring's tube: brighter on its upper edge, where it faces the light.
    r = np.hypot((x - 150) / 119, (y - 60) / 32)
    across = np.clip((r - 0.93) / 0.14, -1, 1) * np.sign(y - 60 + 1e-3)
    shade = gold * (1.05 - 0.45 * across)[..., None] + 0.45 * np.exp(-((across + 0.5) / 0.25) ** 2)[..., None]
    art.part(ring, shade, rgb("#7a4a08"), 1.5)
    return art


def sunglasses() -> Art:
    """Round dark sunglasses (the glasses lens draws its own; this pack is the simple example)."""
    art = Art(300, 100)
    x, y = art.x, art.y
    ink = rgb("#16161a")
    bridge = art.mask(lambda d: d.line([(140, 36), (150, 30), (160, 36)], 7))
    art.paint(ink, art.cover(bridge))
    for cx in (78, 222):
        rim, lens = art.ellipse(cx, 48, 66, 42), art.ellipse(cx, 48, 59, 35)
        art.paint(ink, art.cover(rim))
        art.paint(dome(x, y, cx - 10, 38, 80, 60, rgb("#1e2a3c"), shine=0.25), 0.94 * art.cover(lens))
    return art


PACKS = {
    "hat": ("a black top hat with a red band", [(hat, {"anchor": [10], "axis": [127, 356], "pivot": [150, 222],
                                                       "scale": 1.6, "offset": [0, -0.2]})]),
    "cat-ears": ("cat ears on the head", [(cat_ears, {"anchor": [10], "axis": [127, 356], "pivot": [150, 126],
                                                      "scale": 1.45, "offset": [0, -0.24]})]),
    "moustache": ("a curly moustache", [(moustache, {"anchor": [164], "axis": [127, 356], "pivot": [100, 28],
                                                     "scale": 0.6, "offset": [0, 0.0]})]),
    "halo": ("a golden halo behind the head", [(halo, {"anchor": [10], "axis": [127, 356], "pivot": [150, 60],
                                                       "scale": 1.7, "offset": [0, -0.58], "behind": True})]),
    "sunglasses": ("round dark sunglasses", [(sunglasses, {"anchor": [33, 133, 263, 362], "axis": [33, 263],
                                                           "pivot": [150, 48], "scale": 1.8})]),
}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, (description, layers) in PACKS.items():
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        specs = []
        for draw, placement in layers:
            image = f"{draw.__name__.replace('_', '-')}.png"
            draw().save(folder / image)
            specs.append({"image": image, **placement})
        spec = {"name": name, "description": description, "layers": specs}
        (folder / "lens.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        log.info("wrote %s", folder)


if __name__ == "__main__":
    main()
