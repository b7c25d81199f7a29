"""The preview window (OpenCV HighGUI) and its keyboard."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import socket
import sys
import time

import cv2
import numpy as np

from .errors import DisplayError

log = logging.getLogger(__name__)

ESC = 27

#: Seconds between asking the X server whether the window still exists.
WATCH_PERIOD_S = 0.3


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


class _XWindowWatch:
    """Whether this process's top-level X window named ``title`` still exists, asked over a separate xcb connection.

    Qt does not notice when another client (a window manager, ``xdotool windowclose``)
    destroys its window: the app would run on without one. xcb reports a missing window
    as an error reply (never Xlib's process-ending error handler). Without libxcb or an
    X display, `gone` is always False.

    Where no window manager has taken the window (its parent is the root window: a bare X
    session, Xvfb), it is mapped once more when first found. Qt sometimes misses the first
    map there when the CPU is busy (1 start in ~6 with both cores loaded) and then never
    paints: the window stays black for the whole session. The second map is what a
    window manager does anyway. Unmapping takes the keyboard focus away, so a window that
    had it gets it back (a key pressed during start-up would be lost otherwise).
    """

    _XCB_ATOM_CARDINAL = 6
    _XCB_ATOM_WM_NAME = 39

    def __init__(self, title: str) -> None:
        self.title = title.encode()
        self._window: int | None = None
        self._xcb = self._conn = None
        self._pid_atom = 0
        name = ctypes.util.find_library("xcb")
        if sys.platform.startswith(("win", "darwin")) or not name or not os.environ.get("DISPLAY"):
            return
        try:
            xcb = ctypes.CDLL(name)
            self._libc = ctypes.CDLL(ctypes.util.find_library("c"))
        except OSError:
            return
        vp, u32, cookie = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint
        xcb.xcb_connect.restype = vp
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, vp]
        xcb.xcb_connection_has_error.argtypes = [vp]
        xcb.xcb_disconnect.argtypes = [vp]
        xcb.xcb_get_setup.restype = vp
        xcb.xcb_get_setup.argtypes = [vp]
        xcb.xcb_setup_roots_iterator.restype = _ScreenIterator
        xcb.xcb_setup_roots_iterator.argtypes = [vp]
        xcb.xcb_intern_atom.restype = cookie
        xcb.xcb_intern_atom.argtypes = [vp, ctypes.c_uint8, ctypes.c_uint16, ctypes.c_char_p]
        xcb.xcb_query_tree.restype = cookie
        xcb.xcb_query_tree.argtypes = [vp, u32]
        xcb.xcb_query_tree_children.restype = ctypes.POINTER(u32)
        xcb.xcb_query_tree_children.argtypes = [vp]
        xcb.xcb_query_tree_children_length.argtypes = [vp]
        xcb.xcb_get_property.restype = cookie
        xcb.xcb_get_property.argtypes = [vp, ctypes.c_uint8, u32, u32, u32, u32, u32]
        xcb.xcb_get_property_value.restype = vp
        xcb.xcb_get_property_value.argtypes = [vp]
        xcb.xcb_get_property_value_length.argtypes = [vp]
        xcb.xcb_get_window_attributes.restype = cookie
        xcb.xcb_get_window_attributes.argtypes = [vp, u32]
        for request in ("xcb_map_window", "xcb_unmap_window"):
            getattr(xcb, request).argtypes = [vp, u32]
        xcb.xcb_get_input_focus.restype = cookie
        xcb.xcb_get_input_focus.argtypes = [vp]
        xcb.xcb_set_input_focus.argtypes = [vp, ctypes.c_uint8, u32, u32]
        xcb.xcb_flush.argtypes = [vp]
        for reply in ("intern_atom", "query_tree", "get_property", "get_window_attributes", "get_input_focus"):
            function = getattr(xcb, f"xcb_{reply}_reply")
            function.restype = vp
            function.argtypes = [vp, cookie, vp]
        self._libc.free.argtypes = [vp]
        conn = xcb.xcb_connect(None, None)
        if not conn or xcb.xcb_connection_has_error(conn):
            if conn:
                xcb.xcb_disconnect(conn)
            return
        self._xcb, self._conn = xcb, conn
        reply = self._reply("intern_atom", xcb.xcb_intern_atom(conn, 1, 11, b"_NET_WM_PID"))
        if reply:
            self._pid_atom = ctypes.cast(reply, ctypes.POINTER(u32))[2]  # type, pad, seq, length, then the atom
            self._libc.free(reply)

    def _reply(self, kind: str, cookie: int) -> int | None:
        return getattr(self._xcb, f"xcb_{kind}_reply")(self._conn, cookie, None)

    def _property(self, window: int, atom: int) -> bytes:
        reply = self._reply("get_property", self._xcb.xcb_get_property(self._conn, 0, window, atom, 0, 0, 64))
        if not reply:
            return b""
        try:
            length = self._xcb.xcb_get_property_value_length(reply)
            return ctypes.string_at(self._xcb.xcb_get_property_value(reply), length)
        finally:
            self._libc.free(reply)

    def _tree(self, window: int) -> tuple[int, int, list[int]]:
        """``window``'s root, parent and children (0, 0, [] when it is gone)."""
        reply = self._reply("query_tree", self._xcb.xcb_query_tree(self._conn, window))
        if not reply:
            return 0, 0, []
        try:
            root, parent = ctypes.cast(reply, ctypes.POINTER(ctypes.c_uint32))[2:4]  # after type, pad, seq, length
            return root, parent, self._xcb.xcb_query_tree_children(reply)[:self._xcb.xcb_query_tree_children_length(reply)]
        finally:
            self._libc.free(reply)

    def _find(self) -> int | None:
        """Our window: the one whose WM_NAME is the title and _NET_WM_PID this process (searched breadth first)."""
        pid = os.getpid().to_bytes(4, sys.byteorder)
        iterator = self._xcb.xcb_setup_roots_iterator(self._xcb.xcb_get_setup(self._conn))
        todo = [ctypes.cast(iterator.data, ctypes.POINTER(ctypes.c_uint32))[0]]  # the first screen's root
        while todo:
            window = todo.pop(0)
            if self._property(window, self._XCB_ATOM_WM_NAME) == self.title and \
                    self._property(window, self._pid_atom) == pid:
                return window
            todo += self._tree(window)[2]
        return None

    def _map_again(self, window: int) -> None:
        """Unmap and map ``window``, giving it back the keyboard focus if it had it."""
        reply = self._reply("get_input_focus", self._xcb.xcb_get_input_focus(self._conn))
        focused = False
        if reply:
            focused = ctypes.cast(reply, ctypes.POINTER(ctypes.c_uint32))[2] == window  # after type, revert, seq, length
            self._libc.free(reply)
        self._xcb.xcb_unmap_window(self._conn, window)
        self._xcb.xcb_map_window(self._conn, window)
        if focused:  # revert to the parent, at the current time: what xdotool and window managers ask
            self._xcb.xcb_set_input_focus(self._conn, 2, window, 0)
        self._xcb.xcb_flush(self._conn)

    def gone(self) -> bool:
        """True once the window, found earlier, no longer exists."""
        if self._conn is None:
            return False
        if self._window is None:
            self._window = self._find()
            if self._window is not None:
                root, parent, _ = self._tree(self._window)
                if parent == root:  # no window manager: map it again (see the class docstring)
                    self._map_again(self._window)
            return False
        reply = self._reply("get_window_attributes", self._xcb.xcb_get_window_attributes(self._conn, self._window))
        if reply:
            self._libc.free(reply)
        return not reply

    def close(self) -> None:
        if self._conn is not None:
            self._xcb.xcb_disconnect(self._conn)
            self._conn = None


class _ScreenIterator(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("rem", ctypes.c_int), ("index", ctypes.c_int)]


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
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_FREERATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise DisplayError(f"cannot open the preview window ({exc.err or exc}); run with --no-window") from None
        self._open = True
        self._shown = False
        self._size: tuple[int, int] | None = None  # the window's (width, height) after the last poll
        self._canvas: np.ndarray | None = None
        self._watch: _XWindowWatch | None = None
        self._next_watch = 0.0  # when to ask the X server again (monotonic seconds)

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> tuple[int, int] | None:
        """The picture area's (width, height) in pixels, None before the first frame is shown."""
        return self._size

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
            return canvas
        scale = min(cw / w, ch / h)
        sw, sh = max(1, min(cw, round(w * scale))), max(1, min(ch, round(h * scale)))
        x, y = (cw - sw) // 2, (ch - sh) // 2
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
        """The key pressed since the last call (its code, ``ord("q")`` etc.), or None; notes the window's size."""
        key = cv2.waitKey(delay_ms)
        if self._shown and self._open:
            try:
                _, _, w, h = cv2.getWindowImageRect(self.title)
            except cv2.error:
                w = h = 0
            if w > 0 and h > 0:
                self._size = (w, h)
        return None if key < 0 else key & 0xFF

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
            self._watch = _XWindowWatch(self.title)
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
