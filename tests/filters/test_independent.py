"""The filters tests check the library alone: none of them imports the app (``camfilters``)."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_IMPORT = re.compile(r"^\s*(import|from)\s+camfilters\b|-m\", \"camfilters\b", re.M)


def test_the_filters_tests_and_their_helpers_do_not_import_the_app():
    """No import of camfilters in tests/filters or the shared helpers (the OpenCV recipes load by path)."""
    files = [*HERE.glob("*.py"), HERE.parent / "helpers.py", HERE.parent / "conftest.py"]
    assert [f.name for f in files if APP_IMPORT.search(f.read_text())] == []


def test_the_recipes_file_imports_only_opencv_and_numpy():
    """`helpers.opencv_recipes` loads camfilters/bench/recipes.py alone, which works while it imports no app module."""
    from helpers import RECIPES

    imports = re.findall(r"^(?:import|from)\s+(\w+)", RECIPES.read_text(), re.M)
    assert set(imports) <= {"__future__", "dataclasses", "typing", "cv2", "numpy"}, imports
