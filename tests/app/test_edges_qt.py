"""``QT_QPA_PLATFORM`` naming a platform OpenCV's Qt lacks (it ships xcb only): no abort (SIGABRT, exit 134).

With an X display the window falls back to xcb and says so in one line; without one the run is
refused in one line saying what to set.
"""

from __future__ import annotations

import shutil

import pytest
from test_window import display  # noqa: F401  (the private Xvfb server fixture)

from camfilters.errors import ExitCode

from cli_helpers import assert_one_line_error, camfilters, cli_env

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240),
              pytest.mark.skipif(not shutil.which("Xvfb"), reason="needs Xvfb")]


@pytest.mark.parametrize("platform", ["wayland", "offscreen", "nosuchplatform", "wayland;xcb"])
def test_other_qt_platform_falls_back_to_xcb(display, platform):  # noqa: F811
    proc = camfilters("run", "--source", "demo", "--size", "320x180", "--max-frames", "5",
                      env=cli_env(DISPLAY=display, QT_QPA_PLATFORM=platform))
    assert proc.returncode == ExitCode.OK, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0] == (f"camfilters: QT_QPA_PLATFORM={platform}: OpenCV's window has only the xcb platform; "
                        f"using xcb on the X display {display}"), proc.stderr
    assert lines[1:] == ["camfilters: 5 frames" + lines[-1].partition("5 frames")[2]], proc.stderr  # no Qt noise


def test_other_qt_platform_without_x_display_is_one_line():
    proc = camfilters("run", "--source", "demo", "--size", "320x180", "--max-frames", "5",
                      env=cli_env(QT_QPA_PLATFORM="wayland"))
    assert proc.returncode == ExitCode.ERROR, (proc.returncode, proc.stderr)
    assert_one_line_error(proc, "QT_QPA_PLATFORM=wayland", "only the xcb platform", "DISPLAY", "--no-window")
