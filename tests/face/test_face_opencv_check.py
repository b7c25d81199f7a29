"""The OpenCV install check: for real in this venv, and with injected distribution lists."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from camfilters.opencv_check import installed_opencv, opencv_problem


def _installed_build() -> str:
    """The version of the OpenCV wheel installed here (e.g. ``4.14.0.94``)."""
    return next(iter(installed_opencv().values()))


def _older(version: str) -> str:
    """A version string older than ``version`` (minor version one lower)."""
    major, minor, *rest = version.split(".")
    return ".".join([major, str(int(minor) - 1), *rest])


def test_this_environment_is_consistent():
    """Every OpenCV wheel here is the same build as the cv2 that imports: no problem, cv2 fully works."""
    import cv2

    installed = installed_opencv()
    assert installed, "no OpenCV wheel found by importlib.metadata"
    assert len(set(installed.values())) == 1
    assert opencv_problem() is None
    assert _installed_build().startswith(cv2.__version__)
    # highgui functions and a contrib module (the wheel is opencv-contrib-python) are present.
    for name in ("imshow", "namedWindow", "waitKey", "destroyAllWindows"):
        assert callable(getattr(cv2, name))
    assert callable(cv2.ximgproc.guidedFilter)
    assert cv2.getBuildInformation()


def test_the_project_depends_on_one_opencv_wheel_with_a_range():
    """pyproject names opencv-contrib-python alone, with a range (no ==), and numpy >= 2."""
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    wanted = [line.strip().strip('",') for line in text.splitlines() if '"opencv' in line]
    assert len(wanted) == 1 and wanted[0].startswith("opencv-contrib-python>="), wanted
    assert "==" not in wanted[0]
    assert '"numpy>=2"' in text


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="mediapipe is not installed")
def test_mediapipe_imports_next_to_cv2():
    """mediapipe (which pulls opencv-contrib-python) and cv2 import together in a fresh interpreter."""
    code = "import cv2, mediapipe; from mediapipe.tasks.python import vision; print(cv2.__version__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import cv2

    assert done.stdout.strip() == cv2.__version__


def test_mismatched_wheels_are_reported_with_the_fix():
    new = _installed_build()
    old = _older(new)
    problem = opencv_problem({"opencv-python": old, "opencv-contrib-python": new},
                             cv2_version=lambda: new)
    assert problem is not None and "\n" not in problem
    assert f"opencv-python {old}" in problem and f"opencv-contrib-python {new}" in problem
    assert problem.endswith(f'fix: pip uninstall -y opencv-python && '
                            f'pip install --force-reinstall --no-deps "opencv-contrib-python=={new}"')


def test_headless_mix_is_reported():
    new = _installed_build()
    problem = opencv_problem({"opencv-python-headless": _older(new), "opencv-contrib-python": new},
                             cv2_version=lambda: _older(new))
    assert problem is not None
    assert f'pip uninstall -y opencv-python-headless && pip install --force-reinstall --no-deps "opencv-contrib-python=={new}"' in problem


def test_same_versions_are_fine():
    """Identical builds overlaying each other (the old two-wheel setup) still work: no problem."""
    new = _installed_build()
    assert opencv_problem({"opencv-python": new, "opencv-contrib-python": new},
                          cv2_version=lambda: new.rsplit(".", 1)[0]) is None


def test_cv2_import_failure_is_reported():
    def broken() -> str:
        raise ImportError("libGL.so.1: cannot open shared object file")

    new = _installed_build()
    problem = opencv_problem({"opencv-contrib-python": new}, cv2_version=broken)
    assert problem is not None and "cv2 fails to import (ImportError: libGL.so.1" in problem
    assert problem.endswith(f'fix: pip install --force-reinstall --no-deps "opencv-contrib-python=={new}"')
    assert opencv_problem({}, cv2_version=broken).endswith('fix: pip install "opencv-contrib-python"')


def test_cv2_version_differs_from_wheels():
    new = _installed_build()
    problem = opencv_problem({"opencv-contrib-python": new}, cv2_version=lambda: _older(new))
    assert problem is not None and f"cv2 reports version {_older(new)}" in problem
