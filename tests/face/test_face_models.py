"""Model resolution and the checked, atomic download, against a local HTTP server (never the network)."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from camfilters.face import models
from camfilters.face.models import MODELS, ModelError, download_model, resolve_model

import helpers

SEGMENTATION_MODEL = helpers.MODELS / "selfie_segmentation.tflite"



@pytest.fixture
def model_bytes() -> bytes:
    if not SEGMENTATION_MODEL.is_file():
        pytest.skip(f"model {SEGMENTATION_MODEL} is missing")
    return SEGMENTATION_MODEL.read_bytes()


@pytest.fixture
def env(monkeypatch, tmp_path) -> Path:
    """A clean environment: cache under tmp_path, no model dir or URL override; returns the cache dir."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(models.sys, "platform", "linux")
    monkeypatch.delenv(models.MODEL_DIR_ENV, raising=False)
    monkeypatch.delenv(models.MODEL_URL_ENV, raising=False)
    return tmp_path / "xdg" / "camfilters" / "models"


def serve(body: bytes, *, length: int | None = None, close_after: int | None = None):
    """Start an HTTP server on 127.0.0.1 answering every GET with ``body``.

    ``length`` is the Content-Length sent (default len(body)); ``close_after`` sends only
    that many bytes and then drops the connection. Returns (base URL, server, request log).
    """
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body if close_after is None else body[:close_after])
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/models", server, requests


@pytest.fixture
def server_factory():
    servers = []

    def factory(*args, **kwargs):
        url, server, requests = serve(*args, **kwargs)
        servers.append(server)
        return url, requests

    yield factory
    for server in servers:
        server.shutdown()
        server.server_close()


def test_table_matches_the_shared_models():
    """The sha256 in the table are those of the models we test with (so a download would verify)."""
    for kind, info in MODELS.items():
        path = SEGMENTATION_MODEL.parent / info.filename
        if not path.is_file():
            pytest.skip(f"model {path} is missing")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == info.sha256, kind
        assert info.url.startswith("https://storage.googleapis.com/mediapipe-")


def test_resolution_order(env, tmp_path, monkeypatch, model_bytes):
    """Explicit path, then $CAMFILTERS_MODEL_DIR, then the user cache, before any download."""
    env.mkdir(parents=True)
    (env / "selfie_segmentation.tflite").write_bytes(model_bytes)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "selfie_segmentation.tflite").write_bytes(model_bytes)
    explicit = tmp_path / "mine.tflite"
    explicit.write_bytes(model_bytes)
    monkeypatch.setenv(models.MODEL_URL_ENV, "http://127.0.0.1:9/unused")  # a download would fail

    assert resolve_model("segmentation") == env / "selfie_segmentation.tflite"
    monkeypatch.setenv(models.MODEL_DIR_ENV, str(folder))
    assert resolve_model("segmentation") == folder / "selfie_segmentation.tflite"
    assert resolve_model("segmentation", explicit) == explicit


def test_explicit_path_missing(env, tmp_path):
    with pytest.raises(ModelError, match=r"face landmarker model not found: --face-model .*nope.task is not a file"):
        resolve_model("face", tmp_path / "nope.task")


def test_cache_dir_per_platform(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(models.sys, "platform", "linux")
    assert models.cache_dir() == tmp_path / "camfilters" / "models"
    monkeypatch.setattr(models.sys, "platform", "darwin")
    assert models.cache_dir() == Path.home() / "Library" / "Caches" / "camfilters" / "models"
    monkeypatch.setattr(models.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert models.cache_dir() == tmp_path / "local" / "camfilters" / "Cache" / "models"


def test_download_success(env, monkeypatch, model_bytes, server_factory):
    """A missing model is downloaded from $CAMFILTERS_MODEL_URL into the cache, checked, byte-identical."""
    url, requests = server_factory(model_bytes)
    monkeypatch.setenv(models.MODEL_URL_ENV, url)
    path = resolve_model("segmentation")
    assert path == env / "selfie_segmentation.tflite"
    assert path.read_bytes() == model_bytes
    assert requests == ["/models/selfie_segmentation.tflite"]
    assert sorted(p.name for p in env.iterdir()) == ["selfie_segmentation.tflite"]  # no temp file left
    assert resolve_model("segmentation") == path and len(requests) == 1  # cached: no second download


def test_download_checksum_mismatch(env, monkeypatch, model_bytes, server_factory):
    """A file whose sha256 differs is discarded: nothing is left in the cache."""
    corrupt = bytearray(model_bytes)
    corrupt[1000] ^= 0xFF
    url, _ = server_factory(bytes(corrupt))
    monkeypatch.setenv(models.MODEL_URL_ENV, url)
    with pytest.raises(ModelError, match=r"selfie segmentation model .* has sha256 [0-9a-f]{64}, expected 9ee168ec"):
        resolve_model("segmentation")
    assert list(env.iterdir()) == []


def test_download_connection_closed_midway(env, monkeypatch, model_bytes, server_factory):
    """A server that drops the connection halfway leaves nothing in the cache and says so."""
    url, _ = server_factory(model_bytes, close_after=len(model_bytes) // 2)
    monkeypatch.setenv(models.MODEL_URL_ENV, url)
    with pytest.raises(ModelError) as info:
        resolve_model("segmentation")
    message = str(info.value)
    assert "\n" not in message
    assert "selfie_segmentation.tflite" in message and "--segmentation-model PATH" in message
    assert "failed" in message and str(len(model_bytes) // 2) in message
    assert list(env.iterdir()) == []


def test_offline_error_says_where_it_looked(env, tmp_path, monkeypatch):
    """No model anywhere and no connection: one line naming the model, the places tried and the fixes."""
    monkeypatch.setenv(models.MODEL_DIR_ENV, str(tmp_path / "dir"))
    monkeypatch.setenv(models.MODEL_URL_ENV, "http://127.0.0.1:9")  # discard port: connection refused
    with pytest.raises(ModelError) as info:
        resolve_model("face")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("face landmarker model face_landmarker.task not found in ")
    assert str(tmp_path / "dir" / "face_landmarker.task") in message
    assert str(env / "face_landmarker.task") in message
    assert "--face-model PATH" in message and "CAMFILTERS_MODEL_DIR" in message and "connect" in message
    assert not any(env.parent.rglob(".*.tmp.*"))  # no temporary file left (media.atomic names them so)


def test_download_model_direct_checks_length(tmp_path, model_bytes, server_factory):
    """A body shorter than its Content-Length is an error even if the server closes cleanly."""
    url, _ = server_factory(model_bytes[:100], length=len(model_bytes))
    with pytest.raises(ModelError, match=r"failed"):
        download_model(MODELS["segmentation"], tmp_path, url=url + "/x")
    assert os.listdir(tmp_path) == []
