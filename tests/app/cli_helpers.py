"""Running the ``camfilters`` command in a subprocess, as a user would, and reading its files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

BLOCK_IMPORT = """
import sys, importlib.abc
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, _Block())
"""


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(extra)
    return env


def camfilters(*args: str, env: dict[str, str] | None = None, blocked: set[str] = frozenset(),
               timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m camfilters ARGS`` (optionally with some modules made unimportable)."""
    prefix = BLOCK_IMPORT.format(blocked=set(blocked)) if blocked else ""
    code = prefix + "import sys; from camfilters.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, cwd=cwd)


def start(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
          log: Path | None = None) -> subprocess.Popen:
    """Start ``python -m camfilters ARGS`` in the background; stderr is piped, or written to ``log``
    (a file to watch while it runs, with `helpers.wait_for_text`)."""
    return subprocess.Popen([sys.executable, "-m", "camfilters", *args], stdout=subprocess.PIPE,
                            stderr=log.open("w") if log else subprocess.PIPE, text=True, env=env or cli_env(),
                            cwd=cwd)


def interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 60,
              log: Path | None = None) -> tuple[int, str]:
    """Send ``sig`` and wait; return (exit code, stderr), read from ``log`` when `start` wrote it there."""
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, log.read_text() if log else err


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """A user error: non-zero exit, no traceback, one line on stderr naming the problem."""
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
