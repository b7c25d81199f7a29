"""The mouse wheel over the window steps the strength and does not zoom the picture.

OpenCV's Qt zooms its view 1.1x per notch on its own (the view overview box appears in a
corner); the window grabs the wheel buttons so only our handler sees them. Checked with
xdotool ``click 4`` / ``click 5`` on the real window under Xvfb and screenshots: a paused
identity picture must come back pixel for pixel once the "no strength" toasts are gone
(three notches of Qt zoom would be 1.33x, changing most pixels).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from test_window import QUICK_TOAST_S, H, W, app_factory, display, still_picture  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.gui, pytest.mark.timeout(300)]


def test_wheel_steps_the_strength_without_zooming(app_factory):  # noqa: F811
    app = app_factory("--toast-seconds", QUICK_TOAST_S)
    app.key("i")  # hide the status bar: it changes every frame (fps)
    app.wait_log("status bar off")
    app.key("space")
    app.wait_log("paused")
    before = still_picture(app)
    xdotool = lambda *args: subprocess.run(["xdotool", *args], env=app.env, check=True, timeout=30)  # noqa: E731
    xdotool("mousemove", "--window", app.window, str(W // 3), str(H // 3))
    for button in ("4", "4", "4", "5", "5"):
        xdotool("click", button)
    app.wait_log("has no strength to change", count=5)  # every notch reached the handler, once
    after = still_picture(app)
    changed = np.abs(after.astype(np.int16) - before).max(axis=2) > 0
    assert after.shape == before.shape == (H, W, 3)
    assert changed.mean() == 0.0, f"{changed.mean():.1%} of the pixels changed: the view zoomed"
    assert app.text().count("has no strength to change") == 5
    assert app.quit() == 0
