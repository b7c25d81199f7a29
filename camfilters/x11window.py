"""The preview window's own X11 connection (libxcb through ctypes): is the window still there,
is Shift held, and the wheel buttons taken from Qt (see `XWindowWatch`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

import cv2

log = logging.getLogger(__name__)


class XWindowWatch:
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
    had it gets it back (a key pressed during start-up would be lost otherwise). Once found,
    the window's wheel buttons are grabbed for this connection (`wheel_events`).
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
        xcb.xcb_query_pointer.restype = cookie
        xcb.xcb_query_pointer.argtypes = [vp, u32]
        u8, u16 = ctypes.c_uint8, ctypes.c_uint16
        xcb.xcb_grab_button_checked.restype = cookie
        xcb.xcb_grab_button_checked.argtypes = [vp, u8, u32, u16, u8, u8, u32, u32, u8, u16]
        xcb.xcb_request_check.restype = vp
        xcb.xcb_request_check.argtypes = [vp, cookie]
        xcb.xcb_poll_for_event.restype = ctypes.POINTER(_ButtonEvent)
        xcb.xcb_poll_for_event.argtypes = [vp]
        for reply in ("intern_atom", "query_tree", "get_property", "get_window_attributes", "get_input_focus",
                      "query_pointer"):
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
                self._grab_wheel(self._window)
            return False
        reply = self._reply("get_window_attributes", self._xcb.xcb_get_window_attributes(self._conn, self._window))
        if reply:
            self._libc.free(reply)
        return not reply

    def _grab_wheel(self, window: int) -> None:
        """Take the wheel buttons (4-7, any modifiers) on ``window`` with a passive grab of this connection.

        OpenCV's Qt zooms its view on every wheel notch, after our mouse callback and with no flag
        to turn it off; grabbed, the notches reach this connection instead of Qt (`wheel_events`).
        Refused (another client grabbed them first), Qt keeps them and zooms.
        """
        for button in (4, 5, 6, 7):
            cookie = self._xcb.xcb_grab_button_checked(self._conn, 0, window, _BUTTON_PRESS_MASK, 1, 1, 0, 0,
                                                       button, _ANY_MODIFIER)
            error = self._xcb.xcb_request_check(self._conn, cookie)
            if error:
                self._libc.free(error)
                log.debug("wheel button %d is grabbed by another client: the view may zoom", button)

    def wheel_events(self) -> list[tuple[int, int, int, int]]:
        """The grabbed wheel notches since the last call, as OpenCV's mouse callback gives them:
        (``cv2.EVENT_MOUSEWHEEL`` or ``EVENT_MOUSEHWHEEL``, x, y, flags with the step (+-120) in the high 16 bits)."""
        events = []
        while self._conn is not None:
            event = self._xcb.xcb_poll_for_event(self._conn)
            if not event:
                break
            e = event.contents
            if e.response_type & 0x7F == 4 and 4 <= e.detail <= 7:  # ButtonPress (the release says nothing new)
                kind = cv2.EVENT_MOUSEWHEEL if e.detail <= 5 else cv2.EVENT_MOUSEHWHEEL
                step = 120 if e.detail in (4, 7) else -120  # 4 up, 5 down, 6 left, 7 right (OpenCV: right > 0)
                keys = (cv2.EVENT_FLAG_SHIFTKEY if e.state & 1 else 0) | (cv2.EVENT_FLAG_CTRLKEY if e.state & 4 else 0) \
                    | (cv2.EVENT_FLAG_ALTKEY if e.state & 8 else 0)
                events.append((kind, e.event_x, e.event_y, (step & 0xFFFF) << 16 | keys))
            self._libc.free(event)
        return events

    def shift_down(self) -> bool:
        """Whether Shift is held now (the modifier mask of a pointer query; False without a connection)."""
        if self._conn is None:
            return False
        iterator = self._xcb.xcb_setup_roots_iterator(self._xcb.xcb_get_setup(self._conn))
        root = ctypes.cast(iterator.data, ctypes.POINTER(ctypes.c_uint32))[0]
        reply = self._reply("query_pointer", self._xcb.xcb_query_pointer(self._conn, root))
        if not reply:
            return False
        try:
            return bool(ctypes.cast(reply, ctypes.POINTER(ctypes.c_uint16))[12] & 1)  # mask at byte 24; Shift = bit 0
        finally:
            self._libc.free(reply)

    def close(self) -> None:
        if self._conn is not None:
            self._xcb.xcb_disconnect(self._conn)
            self._conn = None


class _ScreenIterator(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("rem", ctypes.c_int), ("index", ctypes.c_int)]


_BUTTON_PRESS_MASK = 4  # XCB_EVENT_MASK_BUTTON_PRESS
_ANY_MODIFIER = 1 << 15  # XCB_MOD_MASK_ANY


class _ButtonEvent(ctypes.Structure):
    """xcb_button_press_event_t (also the start of every 32-byte xcb event)."""

    _fields_ = [("response_type", ctypes.c_uint8), ("detail", ctypes.c_uint8), ("sequence", ctypes.c_uint16),
                ("time", ctypes.c_uint32), ("root", ctypes.c_uint32), ("event", ctypes.c_uint32),
                ("child", ctypes.c_uint32), ("root_x", ctypes.c_int16), ("root_y", ctypes.c_int16),
                ("event_x", ctypes.c_int16), ("event_y", ctypes.c_int16), ("state", ctypes.c_uint16)]
