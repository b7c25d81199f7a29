"""Shared fixtures: test photos from ../shared/media and a seeded random generator."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MEDIA = SHARED / "media"
MODELS = SHARED / "models"


def load_photo(name: str) -> np.ndarray:
    """A test photo from ../shared/media as (H, W, 3) uint8 BGR."""
    image = cv2.imread(str(MEDIA / name), cv2.IMREAD_COLOR)
    if image is None:
        pytest.skip(f"test photo {MEDIA / name} is missing")
    return image


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """512x512 photo with one frontal face, (512, 512, 3) uint8 BGR."""
    return load_photo("astronaut.png")


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """600x400 textured photo without a face, (400, 600, 3) uint8 BGR."""
    return load_photo("coffee.png")


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    """451x300 photo of a cat (no human face), (300, 451, 3) uint8 BGR."""
    return load_photo("chelsea.png")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
