"""Diagnose a broken OpenCV install: several OpenCV wheels overlaying one ``cv2/`` folder.

opencv-python, opencv-contrib-python and their -headless variants all install into the
same ``cv2/`` package. camfilters depends on opencv-contrib-python alone (a superset,
and the wheel mediapipe pulls in), but another package or an older camfilters may have
added a second wheel: two builds of different versions leave a mix of files from both,
which fails in odd ways (missing highgui functions, import errors). The fix this module
prints goes back to the one contrib wheel.
"""

from __future__ import annotations

import importlib.metadata
from typing import Callable, Mapping

WHEEL = "opencv-contrib-python"  # the one OpenCV wheel camfilters depends on

OPENCV_DISTRIBUTIONS = (
    "opencv-python",
    "opencv-contrib-python",
    "opencv-python-headless",
    "opencv-contrib-python-headless",
)


def installed_opencv() -> dict[str, str]:
    """{distribution name: version} of the OpenCV wheels installed in this environment."""
    found = {}
    for name in OPENCV_DISTRIBUTIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _cv2_version() -> str:
    import cv2

    return cv2.__version__


def _fix(versions: Mapping[str, str]) -> str:
    """The one-line command that leaves only opencv-contrib-python, at the newest installed build."""
    others = " ".join(name for name in versions if name != WHEEL)
    target = max(versions.values(), key=_version_key)
    install = f'pip install --force-reinstall --no-deps "{WHEEL}=={target}"'
    return f"pip uninstall -y {others} && {install}" if others else install


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def opencv_problem(
    distributions: Mapping[str, str] | None = None,
    cv2_version: Callable[[], str] = _cv2_version,
) -> str | None:
    """A one-line description of what is wrong with the OpenCV install and its fix, or None.

    ``distributions`` ({name: version}, default: read with importlib.metadata) and
    ``cv2_version`` (returns ``cv2.__version__``) can be injected for tests.
    """
    versions = installed_opencv() if distributions is None else dict(distributions)
    if len(set(versions.values())) > 1:
        listed = ", ".join(f"{n} {v}" for n, v in versions.items())
        return f"conflicting OpenCV wheels share the cv2 folder ({listed}); fix: {_fix(versions)}"
    try:
        loaded = cv2_version()
    except Exception as exc:  # any import failure of cv2 is the problem being reported
        fix = _fix(versions) if versions else f'pip install "{WHEEL}"'
        return f"cv2 fails to import ({type(exc).__name__}: {exc}); fix: {fix}"
    if not versions:
        return None  # cv2 built from source or installed by the system: nothing to compare
    installed = next(iter(versions.values()))
    if _version_key(installed)[:3] != _version_key(loaded)[:3]:
        return (
            f"cv2 reports version {loaded} but the installed wheels are {installed}; "
            f"another cv2 shadows them or the install is half-done; fix: {_fix(versions)}"
        )
    return None
