"""The filtered picture as a webcam for other apps, sent through pyvirtualcam.

`VirtualCamera.send` copies the frame into a free buffer and returns; a sender thread
takes the newest frame (latest wins) and writes it to the device at no more than the
chosen fps. Frames go out as ``PixelFormat.BGR``, which every built-in pyvirtualcam
backend converts natively (libyuv) to its device format (I420 on v4l2loopback, NV12
for OBS); a third-party backend that refuses BGR gets RGB instead. The backend is
``backend=`` or else ``$CAMFILTERS_VCAM_BACKEND``, whose values the README tells ("For
tests: a recording backend").
"""

from __future__ import annotations

import logging
import math
import os
import pkgutil
import platform
import threading
import time

import cv2
import numpy as np

from .errors import ParameterError, VirtualCamError
from .threads import Worker

log = logging.getLogger(__name__)

BACKEND_ENV = "CAMFILTERS_VCAM_BACKEND"

_INSTALL_HINT = 'the virtual camera needs pyvirtualcam: pip install "camfilters[vcam]"'
_OBS_SETUP = "install OBS Studio (https://obsproject.com) and start its Virtual Camera once, then quit OBS"
_SETUP = {
    "Linux": ("create one with: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=camfilters "
              "(if the module is missing: sudo apt install v4l2loopback-dkms)"),
    "Windows": _OBS_SETUP,
    "Darwin": _OBS_SETUP,
}
_BUSY_WORDS = ("in use", "busy", "already")


def _import_pyvirtualcam():
    try:
        import pyvirtualcam
    except ImportError as exc:
        raise VirtualCamError(_INSTALL_HINT) from exc
    return pyvirtualcam


def _resolve_backend(pyvirtualcam, spec: str) -> str:
    """The pyvirtualcam backend name for ``spec``, importing and registering ``module:Class`` specs."""
    from pyvirtualcam.camera import BACKENDS

    if ":" in spec:
        try:
            cls = pkgutil.resolve_name(spec)
        except (ImportError, AttributeError, ValueError) as exc:
            raise VirtualCamError(f"cannot load virtual camera backend {spec!r}: {exc}") from exc
        pyvirtualcam.register_backend(spec, cls)
    elif spec not in BACKENDS:
        known = ", ".join(sorted(BACKENDS)) or "none on this platform"
        raise VirtualCamError(f"unknown virtual camera backend {spec!r} (available: {known}, or module:Class)")
    return spec


def _open_failure(detail: str) -> VirtualCamError:
    """One line saying why no virtual camera could be opened and how to set one up here."""
    system = platform.system()
    detail = "; ".join(line for line in detail.splitlines() if line.strip()) or "no backend available"
    if system not in _SETUP:
        return VirtualCamError(f"virtual cameras work on Linux (v4l2loopback), Windows and macOS "
                               f"(OBS Virtual Camera), not on {system or 'this system'} ({detail})")
    if any(word in detail.lower() for word in _BUSY_WORDS):
        return VirtualCamError(f"the virtual camera is busy ({detail}); close the program using it "
                               f"(another sender, or an app reading it at another size) or choose another device")
    return VirtualCamError(f"no virtual camera ({detail}); {_SETUP[system]}")


class VirtualCamera:
    """Sends ``(H, W, 3) uint8 BGR`` frames to a virtual webcam; context manager, idempotent ``close()``.

    ``size`` is ``(width, height)`` in pixels and ``fps`` the most frames per second sent
    (> 0). A 4:2:0 device needs even sizes, so an odd last column/row is cropped
    (``size`` then reads back the even size sent). ``mirror`` flips left-right what
    the virtual camera sends only (call apps mirror the self-view themselves, so off
    by default). ``device`` (e.g. ``/dev/video10``, ``OBS Virtual Camera``) defaults
    to the first free one; ``device`` reads back the one in use.

    While ``paused`` the device gets black frames at the fps: the call shows that the
    picture is off instead of a frozen frame that looks live, and keeps a steady
    stream, so apps do not report the camera as stalled. ``frames_sent`` counts every
    frame written to the device (black ones too), ``frames_dropped`` the frames replaced
    by a newer one before they went out.
    """

    def __init__(self, size: tuple[int, int], fps: float, *, device: str | None = None,
                 mirror: bool = False, backend: str | None = None) -> None:
        if (len(size) != 2 or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in size)
                or min(size) < 2):
            raise ParameterError(f"virtual camera size must be (width, height) with both >= 2, got {size!r}")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ParameterError(f"virtual camera fps must be a positive number, got {fps!r}")
        self.input_size = (int(size[0]), int(size[1]))
        self.size = (self.input_size[0] & ~1, self.input_size[1] & ~1)
        if self.size != self.input_size:
            log.info("virtual camera: cropping %dx%d frames to %dx%d (4:2:0 needs even sizes)",
                     *self.input_size, *self.size)
        self.fps = float(fps)
        self.mirror = bool(mirror)
        self.paused = False
        self.frames_sent = 0
        self.frames_dropped = 0

        pyvirtualcam = _import_pyvirtualcam()
        spec = backend or os.environ.get(BACKEND_ENV) or None
        name = _resolve_backend(pyvirtualcam, spec) if spec else None
        self._cam, self._rgb = self._open(pyvirtualcam, device, name)
        self.device: str = self._cam.device
        self.backend: str = self._cam.backend
        log.info("virtual camera: %s (%s backend, native format %s), %dx%d at %.1f fps",
                 self.device, self.backend, self._cam.native_fmt, *self.size, self.fps)

        width, height = self.size
        self._bufs = [np.zeros((height, width, 3), np.uint8) for _ in range(3)]
        self._black = np.zeros((height, width, 3), np.uint8)
        self._pending: int | None = None   # newest frame not yet sent
        self._inflight: int | None = None  # buffer the sender is writing to the device
        self._closing = False
        self._sender_done = False
        self._release_on_exit = False  # close() gave up waiting: the sender closes the device
        self._cond = threading.Condition()
        self._thread = Worker("camfilters-vcam", self._run, cond=self._cond).start()  # its error: the next send()

    def _open(self, pyvirtualcam, device: str | None, backend: str | None):
        """The pyvirtualcam Camera in BGR, else RGB (converted here); raises VirtualCamError."""
        width, height = self.size
        failures = []
        for fmt in (pyvirtualcam.PixelFormat.BGR, pyvirtualcam.PixelFormat.RGB):
            try:
                cam = pyvirtualcam.Camera(width, height, self.fps, fmt=fmt, device=device, backend=backend)
            except RuntimeError as exc:
                failures.append(str(exc))
            else:
                return cam, fmt is pyvirtualcam.PixelFormat.RGB
        raise _open_failure(failures[0])

    def __repr__(self) -> str:
        return (f"VirtualCamera(device={self.device!r}, size={self.size}, fps={self.fps:g}, "
                f"mirror={self.mirror}, backend={self.backend!r})")

    def __enter__(self) -> VirtualCamera:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(self, image: np.ndarray) -> None:
        """Queue ``image`` ``(H, W, 3) uint8 BGR`` of the constructor size; returns at once.

        The frame is copied (the caller may reuse its buffer); a queued frame not yet
        sent is replaced (counted in ``frames_dropped``). Ignored while paused.
        """
        with self._cond:
            error, closing = self._thread.error, self._closing
        if error is not None:
            raise VirtualCamError(f"virtual camera {self.device} stopped: {error}") from error
        if closing:
            raise VirtualCamError(f"virtual camera {self.device} is closed")
        width, height = self.input_size
        if image.shape != (height, width, 3) or image.dtype != np.uint8:
            raise ParameterError(f"virtual camera frames must be ({height}, {width}, 3) uint8, "
                                 f"got {image.shape} {image.dtype}")
        if self.paused:
            return
        with self._cond:
            busy = (self._pending, self._inflight)  # only the sender moves them, pending -> inflight -> None
        free = next(i for i in range(3) if i not in busy)
        src = image[: self.size[1], : self.size[0]]
        if self.mirror:
            cv2.flip(src, 1, dst=self._bufs[free])
        else:
            np.copyto(self._bufs[free], src)
        with self._cond:
            if self._pending is not None:
                self.frames_dropped += 1
            self._pending = free
            self._cond.notify()

    def toggle_pause(self) -> bool:
        """Pause (send black) or resume sending; returns the new ``paused``.

        A frame queued before pausing is still sent; frames sent while paused are not.
        """
        with self._cond:
            self.paused = not self.paused
            self._cond.notify()
        return self.paused

    def _run(self) -> None:
        """Sender thread: the newest frame (or black while paused) at no more than the fps.

        Pacing is a token bucket holding up to two frames (deadline form): the long-run
        rate never exceeds fps, a flood of frames goes out exactly 1/fps apart on an
        anchored schedule (sleep overshoot does not add up), and a frame that comes
        early from a loop running at the fps with jitter goes out at once instead of
        waiting for its slot and being replaced by the next one.
        """
        try:
            self._send_loop()
        finally:
            with self._cond:
                self._sender_done = True
                release = self._release_on_exit
            if release:
                self._cam.close()

    def _send_loop(self) -> None:
        period = 1.0 / self.fps
        deadline = time.monotonic()
        with self._cond:
            while True:
                while self._pending is None and not self.paused and not self._closing:
                    self._cond.wait()
                if self._pending is None and (self._closing or not self.paused):
                    return
                now = time.monotonic()
                if now < deadline:
                    self._cond.wait(deadline - now)
                    continue
                if self._pending is not None:
                    self._inflight, self._pending = self._pending, None
                    frame = self._bufs[self._inflight]
                else:
                    frame = self._black
                self._cond.release()
                try:
                    self._cam.send(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if self._rgb else frame)
                except Exception as exc:  # ends the sender; reported by the next send()
                    log.error("virtual camera %s: sending failed: %s", self.device, exc)
                    raise
                finally:
                    self._cond.acquire()
                    self._inflight = None
                self.frames_sent += 1
                deadline = max(deadline + period, now)

    def close(self) -> None:
        """Send the last queued frame, stop the sender thread and release the device; idempotent.

        The device is closed by whichever thread finishes last, so it is never closed
        while the sender is still inside ``send``: if the sender does not stop within
        the grace time, it closes the device itself when its ``send`` returns.
        """
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout=2.0 + 2.0 / self.fps)
        with self._cond:
            if not self._sender_done:
                log.warning("virtual camera %s: the device is still busy; it is released when it returns",
                            self.device)
                self._release_on_exit = True
                return
        self._cam.close()
