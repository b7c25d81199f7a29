"""Draw the built-in lens packs (camfilters/face/packs/*/): PNG art made here with OpenCV, no third-party art.

    python scripts/make_packs.py

Each shape is drawn at 4x size with anti-aliased lines, then reduced with INTER_AREA, so
the edges of the alpha are smooth. The placement (landmarks, pivot, scale) is in each
pack's lens.json; the format is described in camfilters/face/packs.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "camfilters" / "face" / "packs"
UP = 4  # supersampling factor

log = logging.getLogger("make_packs")


class Canvas:
    """A BGRA canvas of ``(w, h)`` final pixels, drawn at `UP` times that size in final-pixel coordinates."""

    def __init__(self, w: int, h: int) -> None:
        self.image = np.zeros((h * UP, w * UP, 4), np.uint8)
        self.size = (w, h)

    @staticmethod
    def _pts(points) -> np.ndarray:
        return np.round(np.asarray(points, np.float64) * UP).astype(np.int32)

    def poly(self, points, bgr, alpha: int = 255) -> None:
        cv2.fillPoly(self.image, [self._pts(points)], (*bgr, alpha), cv2.LINE_AA)

    def ellipse(self, centre, axes, bgr, alpha: int = 255, angle: float = 0.0, start: float = 0, end: float = 360,
                thickness: int = -1) -> None:
        c = tuple(int(round(v * UP)) for v in centre)
        a = tuple(int(round(v * UP)) for v in axes)
        t = thickness if thickness < 0 else thickness * UP
        cv2.ellipse(self.image, c, a, angle, start, end, (*bgr, alpha), t, cv2.LINE_AA)

    def line(self, points, bgr, width: float, alpha: int = 255) -> None:
        cv2.polylines(self.image, [self._pts(points)], False, (*bgr, alpha), int(round(width * UP)), cv2.LINE_AA)

    def save(self, path: Path) -> None:
        small = cv2.resize(self.image, self.size, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(path), small)


def hat() -> Canvas:
    c = Canvas(300, 250)
    c.ellipse((150, 222), (148, 22), (30, 30, 34))                    # brim
    c.poly([(68, 222), (80, 20), (220, 20), (232, 222)], (36, 36, 40))  # crown
    c.ellipse((150, 20), (70, 9), (52, 52, 58))                       # top
    c.poly([(72, 170), (228, 170), (230, 205), (70, 205)], (40, 40, 170))  # red band
    c.line([(95, 40), (88, 160)], (90, 90, 98), 5, 160)               # a highlight
    return c


def cat_ears() -> Canvas:
    c = Canvas(300, 130)
    for cx, tilt in ((62, -1), (238, 1)):
        c.poly([(cx - 50, 125), (cx + 18 * tilt, 6), (cx + 50, 125)], (60, 70, 90))
        c.poly([(cx - 30, 118), (cx + 14 * tilt, 34), (cx + 30, 118)], (160, 140, 235))
    return c


def moustache() -> Canvas:
    c = Canvas(200, 70)
    for side in (-1, 1):
        pts = []
        for t in np.linspace(0.0, 1.0, 40):  # upper edge, from the centre out to the curled tip
            pts.append((100 + side * 92 * t, 24 - 16 * np.sin(np.pi * t) + 30 * t ** 4))
        for t in np.linspace(1.0, 0.0, 40):  # lower edge, back to the centre
            pts.append((100 + side * (92 * t - 8 * t ** 3), 44 - 8 * np.sin(np.pi * t) + 18 * t ** 3))
        c.poly(pts, (25, 35, 55))
    return c


def sunglasses() -> Canvas:
    c = Canvas(300, 100)
    for cx in (78, 222):
        c.ellipse((cx, 48), (66, 42), (20, 20, 22))                  # rim
        c.ellipse((cx, 48), (60, 36), (45, 30, 18), 235)             # dark lens
        c.ellipse((cx - 18, 34), (22, 8), (255, 255, 255), 70, angle=-25)  # reflection
    c.line([(140, 36), (150, 30), (160, 36)], (20, 20, 22), 7)       # bridge
    return c


PACKS = {
    "hat": ("a black top hat with a red band", hat,
            {"anchor": [10], "axis": [127, 356], "pivot": [150, 222], "scale": 1.6, "offset": [0, -0.38]}),
    "cat-ears": ("cat ears on the head", cat_ears,
                 {"anchor": [10], "axis": [127, 356], "pivot": [150, 118], "scale": 1.45, "offset": [0, -0.3]}),
    "moustache": ("a curly moustache", moustache,
                  {"anchor": [164], "axis": [127, 356], "pivot": [100, 26], "scale": 0.6, "offset": [0, 0.0]}),
    "sunglasses": ("round dark sunglasses", sunglasses,
                   {"anchor": [33, 133, 263, 362], "axis": [33, 263], "pivot": [150, 48], "scale": 1.8}),
}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, (description, draw, placement) in PACKS.items():
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        image = f"{name}.png"
        draw().save(folder / image)
        spec = {"name": name, "description": description, "layers": [{"image": image, **placement}]}
        (folder / "lens.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        log.info("wrote %s", folder)


if __name__ == "__main__":
    main()
