"""Shared fixtures: the test photos in tests/data and a seeded random generator; folder markers."""

from __future__ import annotations

import signal
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # `import helpers` from every test folder

from helpers import load_photo  # noqa: E402

# A run started in the background of a script inherits an ignored SIGINT, and so would every child a test
# starts: Python then never raises KeyboardInterrupt, and the tests that stop a child with Ctrl-C fail.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: every test in these folders gets the marker (so `make test-fast` can leave them out)
FOLDER_MARKERS = {"face": "face"}
#: the markers of tests that take seconds each (a process, a window, MediaPipe)
HEAVY_MARKERS = ("slow", "gui", "face")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Add the folder markers, then put the files with the most heavy tests first (a stable sort: each file's
    tests stay together and in order). pytest-xdist's --dist loadfile hands out whole files in this order
    (with --no-loadscope-reorder, see pyproject.toml), so the long files start first and the short ones fill
    in at the end, and both workers finish together instead of one running the last long file alone."""
    for item in items:
        parents = Path(item.path).resolve().parents
        for folder, marker in FOLDER_MARKERS.items():
            if HERE / folder in parents:
                item.add_marker(marker)
    heavy = Counter(item.path for item in items if any(item.get_closest_marker(m) for m in HEAVY_MARKERS))
    items.sort(key=lambda item: -heavy[item.path])


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
