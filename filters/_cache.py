"""Where Numba caches the compiled kernels, and a fallback when nowhere is writable.

Numba caches ``cache=True`` kernels in the package's ``__pycache__`` or, when that is read-only (a
system install), in the user's cache folder. When neither can be written (a read-only install and an
unwritable ``HOME``) it raises while *decorating* each kernel, so importing `filters` failed. Then
the kernels are cached in a new temporary folder instead (removed at exit), with one warning: they
work, but each start compiles them again. ``NUMBA_CACHE_DIR``, when set, is Numba's to handle.
Importing this module does the check (`filters` imports it first).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: The packages holding ``cache=True`` kernels.
_KERNEL_DIRS = (Path(__file__).resolve().parent, Path(__file__).resolve().parent / "_kernels")


def ensure_cache_dir() -> str | None:
    """Point Numba at a temporary cache folder when it has nowhere to cache; returns that folder, or None."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    from numba.core import config
    from numba.misc.appdirs import AppDirs

    if all(_writable(d / "__pycache__") for d in _KERNEL_DIRS):
        return None
    user_cache = AppDirs(appname="numba", appauthor=False).user_cache_dir
    if _writable(Path(user_cache)):
        return None
    folder = tempfile.mkdtemp(prefix="camfilters-numba-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # child processes have ended by then
    os.environ["NUMBA_CACHE_DIR"] = config.CACHE_DIR = folder  # the environment too: for child processes
    log.warning("Numba cannot cache compiled filters beside them (%s) or in %s; compiling into %s, so each start "
                "compiles again (set NUMBA_CACHE_DIR to a writable folder to keep them)",
                _KERNEL_DIRS[1] / "__pycache__", user_cache, folder)
    return folder


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and takes a new file (what Numba's locators try)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


ensure_cache_dir()
