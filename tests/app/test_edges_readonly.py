"""A read-only install with an unwritable HOME: Numba cannot cache there, so it compiles into a temporary
folder with one warning (every command used to die in Numba's cache locator, ``list`` included).

Tests run as root, whom permissions do not stop, so "unwritable" is made of files standing where Numba
would create its folders: ``__pycache__`` in the installed packages and ``HOME``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]  # each test a process of its own, compiling afresh


@pytest.fixture
def readonly_env(tmp_path):
    site = tmp_path / "site"
    for package in ("filters", "camfilters"):
        shutil.copytree(ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in site.rglob("*"):
        if folder.is_dir() and (folder / "__init__.py").exists():
            (folder / "__pycache__").write_text("not a folder")
    home = tmp_path / "home"
    home.write_text("not a folder")
    (tmp_path / "home.cwd").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "DISPLAY")}
    (tmp_path / "tmp").mkdir()
    env.update(PYTHONPATH=str(site), HOME=str(home), PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(tmp_path / "tmp"))
    return env


def cli(env, *args):
    """``camfilters ARGS`` from the read-only copy (run elsewhere than the worktree, which ``-m`` would import)."""
    return subprocess.run([sys.executable, "-m", "camfilters", *args], capture_output=True, text=True, env=env,
                          timeout=240, cwd=env["HOME"] + ".cwd")


def test_list_works_with_one_warning(readonly_env):
    proc = cli(readonly_env, "list")
    assert proc.returncode == 0, proc.stderr
    assert "edge" in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Numba cannot cache compiled filters" in lines[0], proc.stderr
    assert "NUMBA_CACHE_DIR" in lines[0]
    assert not any(Path(readonly_env["TMPDIR"]).iterdir())  # the temporary cache is removed at exit


def test_explain_compiles_and_runs(readonly_env):
    proc = cli(readonly_env, "explain", "--kernel", "0 1; 1 0")
    assert proc.returncode == 0, proc.stderr
    assert "out[0, 0] = 1*0 + 2*1 + 4*1 + 5*0 = 6" in proc.stdout
    assert "Traceback" not in proc.stderr
