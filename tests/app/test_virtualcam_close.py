"""VirtualCamera.close() never closes the device while the sender thread is inside its send()."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pyvirtualcam = pytest.importorskip("pyvirtualcam")

from camfilters.virtualcam import BACKEND_ENV, VirtualCamera  # noqa: E402


class StuckBackend:
    """A device whose send() blocks until released, recording whether close() came during a send."""

    instances: list[StuckBackend] = []

    def __init__(self, *, width, height, fps, fourcc, device=None, **kw):
        self.fourcc, self.release, self.in_send = fourcc, threading.Event(), threading.Event()
        self.closes, self.closed_during_send = 0, False
        StuckBackend.instances.append(self)

    def send(self, frame):
        self.in_send.set()
        self.release.wait(timeout=120)
        self.in_send.clear()

    def close(self):
        self.closes += 1
        self.closed_during_send |= self.in_send.is_set()

    def device(self):
        return "stuck"

    def native_fourcc(self):
        return self.fourcc


@pytest.fixture
def stuck(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", dict(pyvirtualcam.camera.BACKENDS))
    monkeypatch.setattr(StuckBackend, "instances", [])
    pyvirtualcam.register_backend("stuck", StuckBackend)


def test_close_during_a_stuck_send_leaves_the_device_to_the_sender(stuck):
    cam = VirtualCamera((16, 8), 1000.0, backend="stuck")  # 1000 fps: close() waits 2 s at most
    device = StuckBackend.instances[0]
    cam.send(np.zeros((8, 16, 3), np.uint8))
    assert device.in_send.wait(timeout=60)
    cam.close()  # gives up waiting: must not close the device under the running send()
    assert device.closes == 0
    cam.close()  # idempotent
    device.release.set()
    cam._thread.join(timeout=60)  # noqa: SLF001 - the sender closes the device when its send returns
    assert device.closes == 1 and not device.closed_during_send


def test_concurrent_closes_close_the_device_once(stuck):
    cam = VirtualCamera((16, 8), 30.0, backend="stuck")
    StuckBackend.instances[0].release.set()
    threads = [threading.Thread(target=cam.close) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert StuckBackend.instances[0].closes == 1
