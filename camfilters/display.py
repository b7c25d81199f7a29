"""The preview window (OpenCV HighGUI) and its keyboard."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

import cv2
import numpy as np

from .errors import DisplayError
from .x11window import XWindowWatch

log = logging.getLogger(__name__)

ESC = 27
#: Codes `Window.poll_key` gives for keys without a character (X keysyms, as OpenCV's Qt and GTK backends report).
LEFT, UP, RIGHT, DOWN, PAGE_UP, PAGE_DOWN = 0xFF51, 0xFF52, 0xFF53, 0xFF54, 0xFF55, 0xFF56

#: Seconds between asking the X server whether the window still exists.
WATCH_PERIOD_S = 0.3


def wheel_delta(flags: int) -> int:
    """The signed step of a ``cv2.EVENT_MOUSEWHEEL`` (+120 a notch away from the user), kept in its flags' high 16 bits.

    >>> wheel_delta(120 << 16 | 1), wheel_delta(-120 << 16 | 2)
    (120, -120)
    """
    return ((flags >> 16) & 0xFFFF) - (0x10000 if flags & 0x80000000 else 0)


def check_display() -> None:
    """Raise `DisplayError` (one line) unless a preview window can be opened here.

    OpenCV's Qt aborts the whole process (exit 134) when it cannot connect to the X
    server, so on Linux the X server named by ``DISPLAY`` is connected to first.
    """
    if sys.platform.startswith(("win", "darwin")):
        return
    if not _qt_platform_usable():
        return  # a Qt platform other than X11 that OpenCV's Qt has: Qt's own concern
    display = os.environ.get("DISPLAY")
    if not display:
        raise DisplayError("no display to open the preview window on (DISPLAY is not set); "
                           "run with --no-window, or start an X server")
    if not _x_server_answers(display):
        raise DisplayError(f"cannot reach the X display {display} (no X server answers there); "
                           "run with --no-window, or set DISPLAY to a running X server")


def _qt_platform_usable() -> bool:
    """Whether the window will use X11 (xcb), falling back to it when ``QT_QPA_PLATFORM`` names a platform
    OpenCV's Qt does not ship (pip wheels have only xcb; Qt aborts the process on any other, exit 134).

    False when it names another platform OpenCV's Qt has; raises `DisplayError` when there is no X
    display to fall back to.
    """
    wanted = os.environ.get("QT_QPA_PLATFORM", "")
    name = wanted.split(";")[0].split(":")[0].strip()
    if name in ("", "xcb"):
        return True
    plugins = os.path.join(os.path.dirname(cv2.__file__), "qt", "plugins", "platforms")
    if not os.path.isdir(plugins) or os.path.exists(os.path.join(plugins, f"libq{name}.so")):
        return False  # OpenCV without Qt, or a Qt that has this platform
    display = os.environ.get("DISPLAY")
    if not display or not _x_server_answers(display):
        where = f"no X server answers at DISPLAY={display}" if display else "DISPLAY is not set"
        raise DisplayError(f"QT_QPA_PLATFORM={wanted}: OpenCV's window has only the xcb platform (X11), and {where}; "
                           "set DISPLAY to an X server (XWayland), or run with --no-window")
    log.warning("QT_QPA_PLATFORM=%s: OpenCV's window has only the xcb platform; using xcb on the X display %s",
                wanted, display)
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return True


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
    """A resizable window without toolbar or status bar; context manager, idempotent ``close()``.

    `canvas` letterboxes a frame into a black image of the window's current size, so the
    overlay is drawn at the size it is seen (legible when the window is resized) and the
    bars are black. ``poll_key()`` also pumps the GUI events; ``closed`` turns True once
    the window is gone: closed with the title-bar button, destroyed by the window manager
    or another client (``xdotool windowkill``), or ``close()``.
    """

    def __init__(self, title: str = "camfilters") -> None:
        check_display()
        self.title = title
        # Qt's mouse from core X events, not XInput 2: XI2.1 smooth scrolling reaches Qt as motion, past
        # the wheel-button grab that keeps Qt from zooming (`XWindowWatch._grab_wheel`).
        os.environ.setdefault("QT_XCB_NO_XI2_MOUSE", "1")
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_FREERATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise DisplayError(f"cannot open the preview window ({exc.err or exc}); run with --no-window") from None
        self._open = True
        self._shown = False
        self._size: tuple[int, int] | None = None  # the window's (width, height) after the last poll
        self._canvas: np.ndarray | None = None
        self._watch: XWindowWatch | None = None
        self._next_watch = 0.0  # when to ask the X server again (monotonic seconds)
        self._picture = (0, 0, 0, 0)  # where the last `canvas` put the frame: x, y, width, height
        self._mouse: list[tuple[int, int, int, int]] = []  # (event, x, y, flags) since the last `poll_mouse`
        cv2.setMouseCallback(title, self._on_mouse)

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> tuple[int, int] | None:
        """The picture area's (width, height) in pixels, None before the first frame is shown."""
        return self._size

    @property
    def picture(self) -> tuple[int, int, int, int]:
        """Where the last `canvas` put the frame, in window pixels: (x, y, width, height)."""
        return self._picture

    def _on_mouse(self, event: int, x: int, y: int, flags: int, _param: object) -> None:
        if event != cv2.EVENT_MOUSEMOVE:
            self._mouse.append((event, x, y, flags))

    def poll_mouse(self) -> list[tuple[int, int, int, int]]:
        """The mouse events (``cv2.EVENT_*``, x, y, flags) since the last call, in window pixels; moves left out.

        Collected while `poll_key` pumps the GUI events; on X11 the wheel notches come from the window's
        own X connection (Qt's view would zoom on them). A wheel event's step is `wheel_delta` of its flags.
        """
        events, self._mouse = self._mouse, []
        if self._watch is not None:
            events += self._watch.wheel_events()
        return events

    def canvas(self, image: np.ndarray) -> np.ndarray:
        """A copy of ``image`` scaled to fit the window, centred in black bars: (h, w, 3) uint8 at the window's size.

        Before the window has a size, a plain copy. The buffer is reused from frame to frame.
        """
        h, w = image.shape[:2]
        cw, ch = self._size or (w, h)
        if self._canvas is None or self._canvas.shape[:2] != (ch, cw):
            self._canvas = np.zeros((ch, cw, 3), np.uint8)
        canvas = self._canvas
        if (cw, ch) == (w, h):
            np.copyto(canvas, image)
            self._picture = (0, 0, w, h)
            return canvas
        scale = min(cw / w, ch / h)
        sw, sh = max(1, min(cw, round(w * scale))), max(1, min(ch, round(h * scale)))
        x, y = (cw - sw) // 2, (ch - sh) // 2
        self._picture = (x, y, sw, sh)
        canvas[:y], canvas[y + sh:], canvas[:, :x], canvas[:, x + sw:] = 0, 0, 0, 0
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        cv2.resize(image, (sw, sh), dst=canvas[y:y + sh, x:x + sw], interpolation=interpolation)
        return canvas

    def resize(self, size: tuple[int, int]) -> None:
        """Make the picture area ``size`` (width, height) pixels, e.g. the source's frame size (not once closed)."""
        if self.closed:  # HighGUI raises for a window that is gone
            return
        cv2.resizeWindow(self.title, *size)
        self._size = size

    def show(self, image: np.ndarray) -> None:
        """Show an ``(H, W, 3) uint8 BGR`` image (displayed once the next ``poll_key`` runs).

        Without a size yet (`resize`), the image sets it; later images should come from `canvas`.
        """
        if self._size is None:
            self.resize((image.shape[1], image.shape[0]))
        cv2.imshow(self.title, image)
        self._shown = True

    def poll_key(self, delay_ms: int = 1) -> int | None:
        """The key pressed since the last call, or None; notes the window's size.

        A key with a character gives its code (``ord("q")``, 27 for Esc; Qt gives letters in lower case
        even with Shift, see `shift_held`), others their X keysym (`LEFT`, `PAGE_UP`, ...).
        """
        key = cv2.waitKeyEx(delay_ms)
        if self._shown and self._open:
            try:
                _, _, w, h = cv2.getWindowImageRect(self.title)
            except cv2.error:
                w = h = 0
            if w > 0 and h > 0:
                self._size = (w, h)
        if key < 0:
            return None
        return key if key >= 0xFF00 else key & 0xFF

    def shift_held(self) -> bool:
        """Whether Shift is held now, asked of the X server: Qt gives letters in lower case even with Shift,
        so ``F`` is told from ``f`` while Shift is still down (X11 only; False elsewhere)."""
        if self._watch is None:
            self._destroyed()
        return self._watch is not None and self._watch.shift_down()

    @property
    def closed(self) -> bool:
        """True once the window is gone (see the class docstring)."""
        if not self._open:
            return True
        if not self._shown:
            return False
        try:
            if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                return True
        except cv2.error:
            return True
        return self._destroyed()

    def _destroyed(self) -> bool:
        """Whether another X client destroyed the window (asked at most every `WATCH_PERIOD_S`)."""
        now = time.monotonic()
        if now < self._next_watch or os.environ.get("QT_QPA_PLATFORM", "xcb").split(":")[0] not in ("", "xcb"):
            return False
        self._next_watch = now + WATCH_PERIOD_S
        if self._watch is None:
            self._watch = XWindowWatch(self.title)
        return self._watch.gone()

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        if self._open:
            self._open = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
