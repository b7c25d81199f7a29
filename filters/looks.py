"""Instagram-style looks: colour grades (``sepia``, ``noir``, ``warm``, ``cool``, ``vintage``),
``vignette`` and film ``grain``, each with a ``strength``."""

from __future__ import annotations

import numpy as np

from ._kernels import looks as kernels
from .base import Filter, Option, in_range
from .grades import GRADES, table_of
from .lut import BYTES, STRENGTH, Graded, Table3D
from .registry import register_filter


class Look(Graded):
    """A built-in colour grade (``grade`` names one of `filters.grades.GRADES`) blended by ``strength``."""

    grade = ""
    options = (STRENGTH,)

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._table = Table3D(table_of(GRADES[self.grade]), np.tile(BYTES, (3, 1)), self.strength, False)


def _look(name: str, doc: str) -> type[Look]:
    cls = type(name.capitalize(), (Look,), {"grade": name, "__doc__": doc, "__module__": __name__})
    return register_filter(name)(cls)


for _name, _grade in sorted(GRADES.items()):
    _look(_name, f"{_grade.__doc__} Blended with the original by ``strength`` (0..1).")


@register_filter("vignette")
class Vignette(Filter):
    """Darkened corners: the gain falls smoothly from 1 inside ``radius`` to ``1 - strength`` at the corners.

    The distance is measured on an ellipse fitted to the frame (0 at the centre, 1 at
    the corners), so the vignette follows the frame's aspect ratio.
    """

    summary = "darkened corners that draw the eye to the middle"

    options = (
        Option("strength", float, 0.6, "darkening at the corners: 0 none .. 1 black", in_range(0.0, 1.0)),
        Option("radius", float, 0.4, "where the darkening starts, as a fraction of the centre-to-corner distance",
               in_range(0.0, 0.95)),
    )

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height, width, _ = src.shape
        gain = self._buffers.get("gain")
        if gain is None or gain.shape != (height, width):
            gain = self._buffers["gain"] = self._gain(height, width)
        kernels.scale_by(src.reshape(height, -1), gain, out.reshape(height, -1))

    def _gain(self, height: int, width: int) -> np.ndarray:
        """``(H, W)`` uint16 gains in 1/32768 units."""
        y = (np.arange(height) + 0.5) / height * 2.0 - 1.0
        x = (np.arange(width) + 0.5) / width * 2.0 - 1.0
        distance = np.sqrt((x[None, :] ** 2 + y[:, None] ** 2) / 2.0)
        t = np.clip((distance - self.radius) / (1.0 - self.radius), 0.0, 1.0)
        gain = 1.0 - self.strength * t * t * (3.0 - 2.0 * t)
        return np.round(gain * 32768.0).astype(np.uint16)


@register_filter("grain")
class Grain(Filter):
    """Film grain: zero-mean luminance noise, new on every frame, reproducible from ``seed``.

    Each pixel gets the same offset on its three channels, triangular in
    ``(-amplitude, amplitude)`` with ``amplitude = 48 * strength`` levels, from a hash of
    the pixel, the frame number and ``seed``.
    """

    summary = "film grain: fine moving noise"

    options = (
        Option("strength", float, 0.5, "grain amplitude: 0 none .. 1 strong (48 levels)", in_range(0.0, 1.0)),
        Option("seed", int, 0, "seed of the noise; the same seed gives the same frames", in_range(0, 2**31 - 1)),
    )

    temporal = True

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.frame = 0  # frames filtered so far; each gets new grain

    def _apply(self, src: np.ndarray, out: np.ndarray) -> None:
        height = src.shape[0]
        kernels.add_grain(src.reshape(height, -1), np.float32(48.0 * self.strength), self.seed, self.frame,
                          out.reshape(height, -1))
        self.frame += 1
