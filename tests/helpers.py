"""Helpers shared by every test folder: test photos, image differences, video decoding, waiting.

Importable as ``helpers`` from any test (``tests/conftest.py`` puts this folder on ``sys.path``).
Nothing here uses camfilters, so it stays an independent reference for its tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np

__all__ = [
    "DATA",
    "MODELS",
    "decode",
    "decode_frames",
    "frame_times",
    "hidden",
    "load_photo",
    "max_diff",
    "mean_abs",
    "opencv_recipes",
    "plugin_site",
    "sha256",
    "wait_for",
    "wait_for_text",
]

#: the test photos and golden images kept in the repository (see data/README.md)
DATA = Path(__file__).resolve().parent / "data"
#: the MediaPipe models, too large for the repository: ../shared/models beside the checkout
MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
#: the OpenCV reference recipes, shared by `camfilters bench` and the filters tests (see `opencv_recipes`)
RECIPES = Path(__file__).resolve().parents[1] / "camfilters" / "bench" / "recipes.py"

T = TypeVar("T")
POLL_S = 0.05


def load_photo(name: str) -> np.ndarray:
    """``tests/data/NAME`` as (H, W, 3) uint8 BGR; a missing file is an error, never a skip."""
    image = cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"test image {DATA / name} is missing or unreadable")
    return image


def opencv_recipes():
    """``camfilters/bench/recipes.py``, how OpenCV computes what each filter computes, loaded by its path.

    That file imports only cv2 and numpy; loaded alone, it lets the filters tests check the library
    against OpenCV without importing the app (``camfilters``), as `import camfilters.bench` would.
    """
    name = "_opencv_recipes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, RECIPES)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before it runs: its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    """Largest absolute difference between two uint8 images of the same shape, in levels."""
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8, (a.shape, a.dtype, b.shape, b.dtype)
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference between two uint8 images of the same shape, in levels."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex: to show a file was left exactly as it was."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hidden(folder: Path) -> list[str]:
    """The hidden files (an unfinished writer's temporary files) anywhere under ``folder``, relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def decode(path: str | Path) -> tuple[list[np.ndarray], list[float], float]:
    """Every video frame of ``path`` decoded with PyAV: (H, W, 3) uint8 BGR images in display
    order, their times in seconds, and the stream's average fps (0.0 when unknown)."""
    frames, times = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 0)
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="bgr24"))
            times.append(float(frame.time))
    return frames, times, rate


def decode_frames(path: str | Path) -> list[np.ndarray]:
    """Every video frame of ``path`` as (H, W, 3) uint8 BGR, in display order."""
    return decode(path)[0]


def frame_times(path: str | Path) -> list[float]:
    """The display time of every video frame of ``path``, in seconds."""
    return decode(path)[1]


def wait_for(condition: Callable[[], T], timeout: float, what: str, poll: float = POLL_S) -> T:
    """Poll ``condition()`` every ``poll`` s until it returns something truthy (or an array) and return that;
    fail after ``timeout`` s.

    ``what`` names the awaited condition in the failure message. Use generous timeouts: they
    cost nothing when the condition comes early and keep the test passing on a loaded machine.
    A wait in a loop that is usually over in a millisecond wants a shorter ``poll``.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if isinstance(value, np.ndarray) or value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def wait_for_text(source: Path | Callable[[], str], needle: str, timeout: float, count: int = 1) -> str:
    """Wait until the text of ``source`` (a file, or a function returning text) holds ``needle``
    ``count`` times; return that text. The failure message shows the text."""
    read = (lambda: source.read_text() if source.exists() else "") if isinstance(source, Path) else source
    try:
        return wait_for(lambda: (text := read()).count(needle) >= count and text, timeout, f"{needle!r} x{count}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the text was:\n{read()}") from None


def plugin_site(tmp_path: Path, name: str, entry_points: str, modules: dict[str, str]) -> Path:
    """A folder to put on PYTHONPATH holding the installed distribution ``name`` (its ``entry_points.txt``
    text, dedented) and the modules ``{module name: source}``, as pip would install a plugin."""
    site = tmp_path / "site"
    dist = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for module, code in modules.items():
        (site / f"{module}.py").write_text(code)
    return site
