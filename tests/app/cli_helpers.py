"""Running the ``camfilters`` command: in a subprocess, as a user would, or in this process for the
checks that need no process of their own; and stopping what a test started."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
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
    """Run ``python -m camfilters ARGS`` (optionally with some modules made unimportable).

    Each run pays the numba, cv2 and av imports (1-3 s); use `cli_main` for what needs no process.
    """
    prefix = BLOCK_IMPORT.format(blocked=set(blocked)) if blocked else ""
    code = prefix + "import sys; from camfilters.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, cwd=cwd)


def cli_main(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``camfilters ARGS`` run by `camfilters.cli.main` in this process: its exit code, and what it wrote to
    file descriptors 1 and 2 (native libraries included), without a new interpreter and its imports.
    ``env`` adds variables (DISPLAY is unset).

    For the command's logic: argument checks, errors, short runs and renders. What only a process of
    its own shows goes through `camfilters`: signals, a crash, plugins, blocked imports.
    """
    from camfilters import cli

    root = logging.getLogger()
    saved_logging = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in ("camfilters", "filters")}
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.pop("DISPLAY", None)
    os.environ.update(env or {})
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            if cwd is not None:
                os.chdir(cwd)
            with open(1, "w", buffering=1, closefd=False) as stdout, open(2, "w", buffering=1, closefd=False) as stderr, \
                    redirect_stdout(stdout), redirect_stderr(stderr):
                try:
                    code = cli.main(list(args))
                except SystemExit as exc:  # argparse: --help, usage errors
                    code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        finally:
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            root.handlers[:], root.level = saved_logging[0], saved_logging[1]
            for name, level in saved_logging[2].items():
                logging.getLogger(name).setLevel(level)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(["camfilters", *args], int(code), out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))


def popen(command: list[str], **kwargs) -> subprocess.Popen:
    """`subprocess.Popen` in a process group of its own; end it with `stop` (or use `started`), so
    that neither it nor its children (batch workers) outlive the test."""
    return subprocess.Popen(command, start_new_session=True, **kwargs)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGKILL the process group of a `popen` process (its workers too) and reap it; harmless once it is gone.

    Its pipes stay open: a thread of the test may still be reading what it wrote."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
        pass


@contextmanager
def started(command: list[str], **kwargs) -> Iterator[subprocess.Popen]:
    """``with started([...]) as proc:`` `popen`, and `stop` when the block ends, however it ends."""
    proc = popen(command, **kwargs)
    try:
        yield proc
    finally:
        stop(proc)


def start(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
          log: Path | None = None) -> subprocess.Popen:
    """Start ``python -m camfilters ARGS`` in the background (with `popen`: end it with `stop`); stderr is
    piped, or written to ``log`` (a file to watch while it runs, with `helpers.wait_for_text`)."""
    if log is None:
        return popen([sys.executable, "-m", "camfilters", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True, env=env or cli_env(), cwd=cwd)
    with log.open("w") as stderr:
        return popen([sys.executable, "-m", "camfilters", *args], stdout=subprocess.PIPE, stderr=stderr, text=True,
                     env=env or cli_env(), cwd=cwd)


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
