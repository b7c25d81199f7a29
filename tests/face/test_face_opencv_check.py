"""The OpenCV install check: for real in this venv, and with injected distribution lists."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from camfilters.opencv_check import installed_opencv, opencv_problem

pytestmark = pytest.mark.face


def test_this_environment_is_consistent():
    """Here opencv-python and opencv-contrib-python are the same build: no problem, cv2 fully works."""
    import cv2

    installed = installed_opencv()
    assert installed, "no OpenCV wheel found by importlib.metadata"
    assert len(set(installed.values())) == 1
    assert opencv_problem() is None
    assert next(iter(installed.values())).startswith(cv2.__version__)
    # highgui and contrib functions of the overlaid cv2 are present and callable.
    for name in ("imshow", "namedWindow", "waitKey", "destroyAllWindows"):
        assert callable(getattr(cv2, name))
    assert cv2.getBuildInformation()


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="mediapipe is not installed")
def test_mediapipe_imports_next_to_cv2():
    """mediapipe (which pulls opencv-contrib-python) and cv2 import together in a fresh interpreter."""
    code = "import cv2, mediapipe; from mediapipe.tasks.python import vision; print(cv2.__version__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import cv2

    assert done.stdout.strip() == cv2.__version__


def test_mismatched_wheels_are_reported_with_the_fix():
    problem = opencv_problem({"opencv-python": "4.10.0.84", "opencv-contrib-python": "4.14.0.94"},
                             cv2_version=lambda: "4.14.0")
    assert problem is not None and "\n" not in problem
    assert "opencv-python 4.10.0.84" in problem and "opencv-contrib-python 4.14.0.94" in problem
    assert 'pip install --force-reinstall --no-deps "opencv-python==4.14.0.94" "opencv-contrib-python==4.14.0.94"' in problem


def test_headless_mix_is_reported():
    problem = opencv_problem({"opencv-python-headless": "4.9.0.80", "opencv-contrib-python": "4.14.0.94"},
                             cv2_version=lambda: "4.9.0")
    assert problem is not None and '"opencv-python-headless==4.14.0.94"' in problem


def test_same_versions_are_fine():
    assert opencv_problem({"opencv-python": "4.14.0.94", "opencv-contrib-python": "4.14.0.94"},
                          cv2_version=lambda: "4.14.0") is None


def test_cv2_import_failure_is_reported():
    def broken() -> str:
        raise ImportError("libGL.so.1: cannot open shared object file")

    problem = opencv_problem({"opencv-python": "4.14.0.94"}, cv2_version=broken)
    assert problem is not None and "cv2 fails to import (ImportError: libGL.so.1" in problem
    assert '"opencv-python==4.14.0.94"' in problem


def test_cv2_version_differs_from_wheels():
    problem = opencv_problem({"opencv-python": "4.14.0.94"}, cv2_version=lambda: "4.8.1")
    assert problem is not None and "cv2 reports version 4.8.1" in problem
