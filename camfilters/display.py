"""The preview window (OpenCV HighGUI) and its keyboard."""

from __future__ import annotations

import os
import socket
import sys

import cv2
import numpy as np

from .errors import DisplayError

ESC = 27


def check_display() -> None:
    """Raise `DisplayError` (one line) unless a preview window can be opened here.

    OpenCV's Qt aborts the whole process (exit 134) when it cannot connect to the X
    server, so on Linux the X server named by ``DISPLAY`` is connected to first.
    """
    if sys.platform.startswith(("win", "darwin")):
        return
    if os.environ.get("QT_QPA_PLATFORM", "xcb").split(":")[0] not in ("", "xcb"):
        return  # a Qt platform other than X11 (offscreen, wayland, ...): Qt's own concern
    display = os.environ.get("DISPLAY")
    if not display:
        raise DisplayError("no display to open the preview window on (DISPLAY is not set); "
                           "run with --no-window, or start an X server")
    if not _x_server_answers(display):
        raise DisplayError(f"cannot reach the X display {display} (no X server answers there); "
                           "run with --no-window, or set DISPLAY to a running X server")


def has_display() -> bool:
    """Whether a preview window can be opened (see `check_display`)."""
    try:
        check_display()
    except DisplayError:
        return False
    return True


def _x_server_answers(display: str) -> bool:
    """Whether an X server listens at ``display`` (``[host]:N[.S]``): its socket accepts a connection.

    A plain socket, not libX11: an Xlib call in this process before Qt's own ``XInitThreads``
    would be undefined behaviour.
    """
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2.0)
                try:
                    sock.connect(f"/tmp/.X11-unix/X{number}")
                except OSError:
                    sock.connect(f"\0/tmp/.X11-unix/X{number}")  # Linux abstract socket
        else:
            socket.create_connection((host, 6000 + int(number)), timeout=2.0).close()
    except OSError:
        return False
    return True


class Window:
    """A plain window without toolbar or status bar; context manager, idempotent ``close()``.

    ``poll_key()`` also pumps the GUI events; ``closed`` turns True once the user closes
    the window with the title-bar button.
    """

    def __init__(self, title: str = "camfilters") -> None:
        check_display()
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
