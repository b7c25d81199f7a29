"""``cartoon`` against a golden image: any change to its look shows up here.

``tests/data/cartoon_golden.png`` is ``cartoon`` with its default options on a 128x96 crop
of ``coffee.png`` (the coffee, the cup's rim and its shaded body: edges, flat regions, shading),
generated from the implementation when the test was written. The analytic tests in
``test_cartoon.py`` check the definition; this one catches unintended drift in everything
they leave free (edge thickness, smoothing, level boundaries). Tolerance: 1 level (float32
rounding across CPUs and Numba versions).

After an intended change, look at the new picture, then regenerate it from the checkout's root:
``PYTHONPATH=$PWD python tests/filters/test_cartoon_golden.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

import filters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # helpers, when run as a script

from helpers import DATA, load_photo, max_diff  # noqa: E402

GOLDEN = DATA / "cartoon_golden.png"
CROP = (slice(150, 246), slice(230, 358))  # rows, columns of coffee.png: 96 x 128


def cartoon_of_crop() -> np.ndarray:
    """``cartoon`` (defaults) of the crop, (96, 128, 3) uint8 BGR."""
    return filters.get("cartoon")(np.ascontiguousarray(load_photo("coffee.png")[CROP]))


def test_cartoon_matches_the_golden_image():
    golden = load_photo(GOLDEN.name)
    ours = cartoon_of_crop()
    assert ours.shape == golden.shape == (96, 128, 3)
    assert max_diff(ours, golden) <= 1, f"cartoon changed its look; regenerate {GOLDEN} if intended (see docstring)"


if __name__ == "__main__":
    if not cv2.imwrite(str(GOLDEN), cartoon_of_crop(), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        sys.exit(f"could not write {GOLDEN}")
    print(f"wrote {GOLDEN}")
