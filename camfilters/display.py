"""The preview window (OpenCV HighGUI) and its keyboard."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from .errors import DisplayError

ESC = 27


def has_display() -> bool:
    """Whether a window can be opened: always on Windows/macOS, on X11/Wayland when the variable is set."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class Window:
    """A plain window without toolbar or status bar; context manager, idempotent ``close()``.

    ``poll_key()`` also pumps the GUI events; ``closed`` turns True once the user closes
    the window with the title-bar button.
    """

    def __init__(self, title: str = "camfilters") -> None:
        if not has_display():
            raise DisplayError("no display to open the preview window on (DISPLAY is not set); "
                               "run with --no-window, or start an X server")
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise DisplayError(f"cannot open the preview window ({exc.err or exc}); run with --no-window") from None
        self._open = True
        self._shown = False

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def show(self, image: np.ndarray) -> None:
        """Show an ``(H, W, 3) uint8 BGR`` frame (displayed once the next ``poll_key`` runs)."""
        cv2.imshow(self.title, image)
        self._shown = True

    def poll_key(self, delay_ms: int = 1) -> int | None:
        """The key pressed since the last call (its code, ``ord("q")`` etc.), or None."""
        key = cv2.waitKey(delay_ms)
        return None if key < 0 else key & 0xFF

    @property
    def closed(self) -> bool:
        """True once the window has been closed by the user (or by ``close()``)."""
        if not self._open:
            return True
        if not self._shown:
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
