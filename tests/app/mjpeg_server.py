"""A tiny MJPEG-over-HTTP server on 127.0.0.1 for testing network sources.

It serves ``multipart/x-mixed-replace`` JPEG frames (what IP cameras and
``mjpg-streamer`` send) at a set frame rate, so OpenCV's FFmpeg backend reads it
like a live camera. Frame ``i`` is ``media.frame_image(i, size)``, which carries
its index (read it back with ``media.frame_index``). After ``max_frames`` frames
the server either dies (``after="close"``: every connection and the listening
socket are closed) or stalls (``after="stall"``: connections stay open, nothing
more is sent). Every loop is bounded: at most ``max_frames`` frames and
``max_seconds`` per connection, so a forgotten server stops by itself.

    with MJPEGServer(max_frames=30, fps=30) as server:
        cap = cv2.VideoCapture(server.url, cv2.CAP_FFMPEG)
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

from media import frame_image

BOUNDARY = "camfiltersframe"


class MJPEGServer:
    """Serve ``max_frames`` numbered JPEG frames at ``fps`` to every client, then die or stall."""

    def __init__(
        self,
        *,
        max_frames: int = 30,
        fps: float = 30.0,
        size: tuple[int, int] = (160, 120),
        after: str = "close",
        max_seconds: float = 20.0,
    ) -> None:
        if after not in ("close", "stall"):
            raise ValueError(f"after must be 'close' or 'stall', got {after!r}")
        self.max_frames, self.fps, self.after, self.max_seconds = max_frames, fps, after, max_seconds
        self.jpegs = [cv2.imencode(".jpg", frame_image(i, size), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
                      for i in range(max_frames)]
        self.sent = 0  # frames written to any client
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/stream.mjpg"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                         name="mjpeg-server", daemon=True)
        self._thread.start()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server._conns.append(self.connection)
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                start = time.monotonic()
                try:
                    for i, jpeg in enumerate(server.jpegs):
                        if server._stop.is_set() or time.monotonic() - start > server.max_seconds:
                            return
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                        self.wfile.flush()
                        server.sent += 1
                        server._stop.wait(max(0.0, start + (i + 1) / server.fps - time.monotonic()))
                    if server.after == "stall":
                        server._stop.wait(max(0.0, server.max_seconds - (time.monotonic() - start)))
                    else:
                        threading.Thread(target=server.stop, daemon=True).start()
                except OSError:  # the client went away or stop() closed the socket
                    pass

        return Handler

    def stop(self) -> None:
        """Kill the server: close every connection and the listening socket (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MJPEGServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
