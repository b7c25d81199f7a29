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
SIZE = 256  # px, keeps each PNG small enough to commit


def main(photo: Path = PHOTO) -> None:
    image = cv2.imread(str(photo))
    if image is None:
        sys.exit(f"cannot read {photo}")
    out_dir = ROOT / "docs" / "filters"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in filters.available():
        result = filters.get(name)(image)
        small = cv2.resize(result, (SIZE, SIZE * image.shape[0] // image.shape[1]), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(out_dir / f"{name}.png"), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(out_dir / f"{name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PHOTO)
