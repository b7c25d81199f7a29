"""Logging: successes at INFO are shown by default, details need -v, and probing never hides stderr."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from camfilters import cli
from camfilters.capture import _quiet_opencv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in ("camfilters", "filters")}
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("verbose", [False, True], ids=["default", "-v"])
def test_cli_shows_successes_by_default_and_details_with_v(verbose, capsys, restore_logging):
    cli._configure_logging(verbose)
    logging.getLogger("camfilters.live").info("saved out.mp4 (3 frames)")
    logging.getLogger("camfilters.live").debug("status: edge")
    logging.getLogger("filters.registry").warning("filter plugin 'x' failed")
    logging.getLogger("some.library").info("library chatter")
    err = capsys.readouterr().err.splitlines()
    expected = ["camfilters: saved out.mp4 (3 frames)"] + (["camfilters: status: edge"] if verbose else [])
    assert err == expected + ["camfilters: filter plugin 'x' failed"]


def test_every_module_logs_under_its_own_name():
    """``logging.getLogger(__name__)`` everywhere in camfilters/ (so a logger says where a line comes from)."""
    named = []
    for path in (ROOT / "camfilters").rglob("*.py"):
        named += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r"getLogger\((?!__name__\))[^)]*\)",
                                                                         path.read_text())]
    # the CLI sets the level of the package loggers, the bench quiets the live session's, and a Dask batch
    # filters Dask's own lines about a lost scheduler (said in one line of ours)
    allowed = {'getLogger("camfilters")', "getLogger(name)", "getLogger()", 'getLogger("distributed")'}
    assert [n for n in named if n.split(": ", 1)[1] not in allowed] == []


def test_quieting_opencv_leaves_stderr_alone(capfd):
    """While OpenCV is quieted (camera probing), fd 2 still reaches the terminal (it used to point at /dev/null)."""
    with _quiet_opencv():
        os.write(2, b"another thread's message\n")
    assert capfd.readouterr().err == "another thread's message\n"
