"""Render every filter on ../shared/media/astronaut.png into docs/filters/<name>.png for the README.

Usage: python scripts/make_gallery.py [PHOTO]   (a development script; the package never needs ../shared)
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

import filters

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "media" / "astronaut.png"
CROP = (slice(20, 240), slice(110, 330))  # the head and shoulders, 220x220 px at full resolution


def main(photo: Path = PHOTO) -> None:
    image = cv2.imread(str(photo))
    if image is None:
        sys.exit(f"cannot read {photo}")
    out_dir = ROOT / "docs" / "filters"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in filters.available():
        result = filters.get(name)(image)[CROP]  # filtered whole, then cropped: real borders, real pixel scale
        cv2.imwrite(str(out_dir / f"{name}.png"), result, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(out_dir / f"{name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PHOTO)
