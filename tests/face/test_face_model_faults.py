"""Model downloads that go wrong slowly: a mirror that trickles or stalls (a local HTTP server on
127.0.0.1, started and stopped here), and a cache folder that cannot be created."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from camfilters.face import models
from camfilters.face.models import ModelError, resolve_model

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def env(monkeypatch, tmp_path) -> Path:
    """Cache under tmp_path, no model dir; short stall and deadline limits. Returns the cache dir."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(models.sys, "platform", "linux")
    monkeypatch.delenv(models.MODEL_DIR_ENV, raising=False)
    monkeypatch.setattr(models, "STALL_S", 0.5)
    monkeypatch.setattr(models, "DEADLINE_S", 1.5)
    return tmp_path / "xdg" / "camfilters" / "models"


@pytest.fixture
def slow_server(monkeypatch):
    """Start a server that sends headers for a 1 MB body, then one byte every ``gap`` s (forever if
    ``gap`` is None: no byte at all); points $CAMFILTERS_MODEL_URL at it. Stopped after the test."""
    stop = threading.Event()
    servers = []

    def start(gap: float | None) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", str(1 << 20))
                self.end_headers()
                self.wfile.flush()
                try:
                    while not stop.wait(gap if gap is not None else 0.05):
                        if gap is not None:
                            self.wfile.write(b"x")
                            self.wfile.flush()
                except OSError:  # the client gave up
                    pass

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv(models.MODEL_URL_ENV, f"http://127.0.0.1:{server.server_address[1]}/models")

    yield start
    stop.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_trickling_mirror_hits_the_deadline(env, slow_server):
    """One byte every 0.1 s never stalls, but the whole download is given up at the deadline."""
    slow_server(0.1)
    with pytest.raises(ModelError, match=r"took longer than 1.5 s \(\d+ bytes received\)") as info:
        resolve_model("segmentation")
    assert "\n" not in str(info.value) and "--segmentation-model PATH" in str(info.value)
    assert list(env.iterdir()) == []  # no partial file left


def test_a_stalled_mirror_is_given_up(env, slow_server):
    """Headers, then silence: given up after STALL_S without a byte."""
    slow_server(None)
    with pytest.raises(ModelError, match=r"failed after 0 bytes: stalled, no data for 0.5 s"):
        resolve_model("segmentation")
    assert list(env.iterdir()) == []


def test_an_unwritable_model_dir_names_it_and_the_fix(env, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"keep")
    monkeypatch.setenv(models.MODEL_DIR_ENV, str(blocker / "models"))
    monkeypatch.setenv(models.MODEL_URL_ENV, "http://127.0.0.1:9")
    with pytest.raises(ModelError) as info:
        resolve_model("face")
    message = str(info.value)
    assert f"model folder {blocker / 'models'} cannot be created or written" in message
    assert "set CAMFILTERS_MODEL_DIR to a writable folder, or pass --face-model PATH" in message
    assert blocker.read_bytes() == b"keep"
