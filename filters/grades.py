"""The built-in colour grades as functions on RGB values in 0..1, baked into 3D tables by `table_of`.

Each grade maps an ``(..., 3)`` float64 RGB array to one of the same shape; it is
evaluated once on a 33-point lattice and applied per pixel by the 3D-table kernel of
`filters.lut`, so a grade costs the same whatever its formula.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["GRADES", "table_of"]

LUMA = np.array([0.299, 0.587, 0.114])  # BT.601, RGB order
LATTICE = 33


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb @ LUMA)[..., None]


def _saturate(rgb: np.ndarray, amount: float) -> np.ndarray:
    """Scale the distance from grey by ``amount`` (0: grey, 1: unchanged)."""
    return _luma(rgb) + amount * (rgb - _luma(rgb))


def _s_curve(x: np.ndarray, amount: float) -> np.ndarray:
    """Blend ``x`` with smoothstep(x) by ``amount``: more contrast in the mid-tones, ends kept."""
    return x + amount * (x * x * (3.0 - 2.0 * x) - x)


def sepia(rgb: np.ndarray) -> np.ndarray:
    """The classic sepia-tone matrix (Microsoft's), warm brown from the luma."""
    matrix = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return rgb @ matrix.T


def noir(rgb: np.ndarray) -> np.ndarray:
    """Black and white with punchy contrast: BT.601 luma through an S-curve."""
    return np.repeat(_s_curve(_luma(rgb), 0.8), 3, axis=-1)


def warm(rgb: np.ndarray) -> np.ndarray:
    """Golden-hour white balance: reds up, blues down, a little more saturation."""
    return _saturate(rgb * np.array([1.10, 1.02, 0.85]) + np.array([0.02, 0.01, 0.0]), 1.1)


def cool(rgb: np.ndarray) -> np.ndarray:
    """Overcast white balance: blues up, reds down."""
    return rgb * np.array([0.88, 0.98, 1.08]) + np.array([0.0, 0.01, 0.04])


def vintage(rgb: np.ndarray) -> np.ndarray:
    """Faded film: lifted blacks, softened whites, muted colours with a warm-yellow cast."""
    faded = 0.10 + 0.80 * _s_curve(rgb, 0.4)
    return _saturate(faded, 0.7) * np.array([1.04, 1.0, 0.88]) + np.array([0.01, 0.01, 0.0])


GRADES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "cool": cool, "noir": noir, "sepia": sepia, "vintage": vintage, "warm": warm,
}


def table_of(grade: Callable[[np.ndarray], np.ndarray], size: int = LATTICE) -> np.ndarray:
    """``grade`` on a ``size``-point lattice: ``(size, size, size, 3)`` RGB in 0..1, indexed [b, g, r]."""
    axis = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.clip(grade(np.stack([r, g, b], axis=-1)), 0.0, 1.0)
