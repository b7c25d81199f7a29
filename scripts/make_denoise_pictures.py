"""Before and after crops of ``denoise`` for the README: docs/denoise.png.

Usage: python scripts/make_denoise_pictures.py   (a development script; reads ../shared/media/astronaut.png)

Four 200x200 crops of the astronaut's face at full resolution, shown 2x (nearest
neighbour, so the grain stays visible): the frame with Gaussian noise of sigma 20, our
result on that one frame alone (what a moving part gets), our result on the 20th frame of
the still scene (time averaging), and the clean photo.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

import filters

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "media" / "astronaut.png"
CROP = (slice(40, 240), slice(150, 350))
SIGMA = 20.0
FRAMES = 20


def noisy(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.rint(clean + rng.normal(0.0, SIGMA, clean.shape)), 0, 255).astype(np.uint8)


def panel(image: np.ndarray, label: str, clean: np.ndarray) -> np.ndarray:
    crop = image[CROP]
    mse = np.mean((crop.astype(float) - clean[CROP]) ** 2)
    text = label + (f"  {10 * np.log10(255**2 / mse):.1f} dB" if mse else "")
    big = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    bar = np.full((28, big.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, big])


def main(photo: Path = PHOTO) -> None:
    clean = cv2.imread(str(photo))
    if clean is None:
        sys.exit(f"cannot read {photo}")
    rng = np.random.default_rng(0)
    flt = filters.get("denoise")
    for _ in range(FRAMES):
        frame = noisy(clean, rng)
        still = flt(frame)
    single = filters.get("denoise", temporal=False)(frame)
    gap = np.full((28 + 2 * (CROP[0].stop - CROP[0].start), 8, 3), 255, np.uint8)
    panels = [panel(frame, f"noisy, sigma {SIGMA:.0f}", clean), gap, panel(single, "denoise, one frame", clean),
              gap, panel(still, f"denoise, frame {FRAMES}, still", clean), gap, panel(clean, "clean", clean)]
    out = ROOT / "docs" / "denoise.png"
    cv2.imwrite(str(out), np.hstack(panels), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(out)


if __name__ == "__main__":
    main()
