"""A pyvirtualcam backend that records what it receives, for tests in-process or in a subprocess.

In-process: ``pyvirtualcam.register_backend("recording", RecordingBackend)`` (or pass
``backend="vcam_backend:RecordingBackend"`` with this folder on ``sys.path``); every
instance is appended to ``RecordingBackend.instances`` and keeps ``frames``, a list of
``(monotonic time, (H, W, 3) uint8 BGR copy)``.

In a ``camfilters run --virtual-cam`` subprocess: set ``PYTHONPATH`` to include this
folder, ``CAMFILTERS_VCAM_BACKEND=vcam_backend:RecordingBackend`` and
``CAMFILTERS_VCAM_LOG=<file>``; the backend then keeps no frames in memory and writes
JSON lines instead (read them with `read_log`)::

    {"event": "open", "width": W, "height": H, "fps": F, "format": "24BG", "device": D}
    {"event": "frame", "n": 0, "t": <time.monotonic()>, "index": <decode_index>, "mean": [B, G, R]}
    {"event": "close"}

Frames can carry their sequence number: `encode_index` paints it as a 4x4 grid of
black/white cells (16 bits, row-major, most significant first), which survives blur
and video compression; `decode_index` reads it back.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
from pyvirtualcam.util import decode_fourcc

LOG_ENV = "CAMFILTERS_VCAM_LOG"
DEVICE = "/dev/video-recording"
GRID = 4


def _cells(shape: tuple[int, ...]):
    """(row slice, column slice) of each of the GRID x GRID cells, row-major."""
    rows = np.linspace(0, shape[0], GRID + 1).astype(int)
    cols = np.linspace(0, shape[1], GRID + 1).astype(int)
    return [(slice(rows[r], rows[r + 1]), slice(cols[c], cols[c + 1])) for r in range(GRID) for c in range(GRID)]


def encode_index(image: np.ndarray, index: int) -> np.ndarray:
    """Paint ``index`` (0..65535) over all of ``image`` ``(H, W, 3) uint8``, in place; returns it."""
    bits = GRID * GRID
    for k, (rs, cs) in enumerate(_cells(image.shape)):
        image[rs, cs] = 255 if (index >> (bits - 1 - k)) & 1 else 0
    return image


def decode_index(image: np.ndarray) -> int:
    """The index `encode_index` painted: each cell's centre half thresholded at mid-grey."""
    index = 0
    for rs, cs in _cells(image.shape):
        h, w = rs.stop - rs.start, cs.stop - cs.start
        centre = image[rs.start + h // 4: rs.stop - h // 4, cs.start + w // 4: cs.stop - w // 4]
        index = (index << 1) | int(centre.mean() > 127.5)
    return index


def read_log(path: Path) -> list[dict]:
    """The JSON lines a subprocess's RecordingBackend wrote to ``path``."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


class RecordingBackend:
    """Accepts BGR and RGB frames (like the built-in backends), records them as BGR."""

    instances: ClassVar[list[RecordingBackend]] = []
    #: accepted pyvirtualcam formats (FourCC) -> whether channels are swapped to get BGR
    formats: ClassVar[dict[str, bool]] = {"24BG": False, "raw ": True}

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw) -> None:
        self.format = decode_fourcc(fourcc)
        if self.format not in self.formats:
            raise RuntimeError(f"Unsupported image format {self.format!r}.")
        self.width, self.height, self.fps = width, height, fps
        self._fourcc = fourcc
        self._device = device or DEVICE
        self.frames: list[tuple[float, np.ndarray]] = []
        self.frames_received = 0
        self.closed = False
        log_path = os.environ.get(LOG_ENV)
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None
        self._write(event="open", width=width, height=height, fps=fps, format=self.format, device=self._device)
        RecordingBackend.instances.append(self)

    def _write(self, **record) -> None:
        if self._log is not None:
            self._log.write(json.dumps(record) + "\n")
            self._log.flush()

    def send(self, frame: np.ndarray) -> None:
        t = time.monotonic()
        if frame.size != self.width * self.height * 3:
            raise RuntimeError(f"frame of {frame.size} bytes for {self.width}x{self.height}x3")
        image = frame.reshape(self.height, self.width, 3)
        image = np.ascontiguousarray(image[..., ::-1]) if self.formats[self.format] else image.copy()
        if self._log is None:
            self.frames.append((t, image))
        else:
            self._write(event="frame", n=self.frames_received, t=t, index=decode_index(image),
                        mean=image.reshape(-1, 3).mean(axis=0).round(2).tolist())
        self.frames_received += 1

    def close(self) -> None:
        self.closed = True
        self._write(event="close")
        if self._log is not None:
            self._log.close()

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int:
        return self._fourcc


class RGBOnlyBackend(RecordingBackend):
    """Like RecordingBackend but refuses BGR, as some third-party backends do."""

    formats: ClassVar[dict[str, bool]] = {"raw ": True}
