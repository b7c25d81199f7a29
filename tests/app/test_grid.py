"""The effects grid and the mouse in the real window on Xvfb, driven with xdotool (keys, clicks, the wheel)."""

from __future__ import annotations

import numpy as np
import test_window
from test_window import App, edge_like

from camfilters.grid import pane_rects

pytestmark = test_window.pytestmark
display, app_factory = test_window.display, test_window.app_factory  # the private Xvfb and the app, as fixtures


def click(app: App, x: int, y: int, button: int = 1) -> None:
    app._xdotool("mousemove", "--window", app.window, str(x), str(y))
    app._xdotool("click", str(button))


def panes(image: np.ndarray) -> list[np.ndarray]:
    """The nine panes of a grid screenshot, each without its label (top) and the status bar (bottom row's foot)."""
    h, w = image.shape[:2]
    rects = pane_rects(w, h)
    ph, pw = min(r[3] for r in rects) - h // 6, min(r[2] for r in rects) - 8
    return [image[y + h // 12:y + h // 12 + ph, x + 4:x + 4 + pw] for x, y, _, _ in rects]


def nine_distinct(image: np.ndarray) -> bool:
    parts = [p.astype(np.int16) for p in panes(image)]
    return all(np.abs(parts[i] - parts[j]).mean() > 2.0 for i in range(9) for j in range(i))


def test_the_grid_shows_nine_effects_and_a_click_picks_one(app_factory):
    app = app_factory()
    app.wait_picture(lambda image: image.mean() > 40, "the first demo frame")
    app.key("g")
    app.wait_log("grid: filters and looks 1/2")
    grid = app.wait_picture(nine_distinct, "nine different panes")
    x, y, w, h = pane_rects(grid.shape[1], grid.shape[0])[1]  # pane 2: edge
    click(app, x + w // 2, y + h // 2)
    app.wait_log("filter: edge")
    app.key("i")  # no status bar: the bare picture
    app.wait_picture(edge_like, "the edge filter, full size, after the click")
    app.key("g")
    app.wait_log("grid: filters and looks 1/2", 2)
    app.key("Next")
    app.wait_log("grid: filters and looks 2/2")
    app.key("Escape")  # closes the grid, does not quit
    app.wait_log("grid closed")
    app.wait_picture(edge_like, "the picture unchanged after Esc")
    assert app.quit() == 0


def sharpness(image: np.ndarray) -> float:
    """Mean horizontal step between neighbours: lower the more a picture is blurred."""
    return float(np.abs(np.diff(image[40:-40].astype(np.int16), axis=1)).mean())


def test_the_wheel_tunes_the_filter_and_says_the_value(app_factory):
    app = app_factory("--filter", "blur:ksize=61")
    app.key("i")  # no status bar: only the picture
    app.wait_log("status bar off")
    app.wait_picture(lambda image: image.mean() > 40, "the blurred demo frame")
    before = max(sharpness(app.screenshot()) for _ in range(3))
    for _ in range(4):  # the wheel towards the user: weaker (away from it, Qt's view also zooms in)
        click(app, 320, 180, button=5)
    app.wait_log("blur ksize 45")
    app.wait_picture(lambda image: sharpness(image) > before * 1.15, "a less blurred picture")
    app.key("bracketright")
    app.wait_log("blur ksize 49")
    assert app.quit() == 0
