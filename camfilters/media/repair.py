"""Repairing recordings on the container's structure alone (packets copied, never re-encoded).

`rewrite_faststart` makes a fragmented MP4/MOV a regular one with its index first;
`cut_to_complete` cuts a crash-safe file back after its last complete MP4 fragment or
Matroska cluster (walking the top-level boxes, or the EBML elements of the Segment);
`frames_in` says what a file holds, to name what was kept.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

import av

from .atomic import fsync
from .formats import FASTSTART

__all__ = ["cut_to_complete", "frames_in", "rewrite_faststart"]

log = logging.getLogger(__name__)


def rewrite_faststart(path: Path, muxer: str) -> None:
    """Rewrite the fragmented MP4/MOV at ``path`` as a regular one with its index first (packets copied).

    Written to a hidden temporary file in the same folder, synced, then renamed over
    ``path``: until the rename ``path`` is untouched, so any failure keeps the fragmented file.
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    temp = Path(name)
    try:
        os.chmod(temp, stat.S_IMODE(path.stat().st_mode))  # mkstemp makes it private; keep the recording's mode
        with av.open(str(path)) as source, av.open(name, "w", format=muxer, options=FASTSTART) as target:
            streams = {}
            for stream in source.streams:
                streams[stream.index] = target.add_stream_from_template(stream)
                streams[stream.index].time_base = stream.time_base
            for packet in source.demux():
                if packet.dts is None:  # the end-of-stream marker
                    continue
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
        fsync(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync(path.parent)  # the rename itself


def cut_to_complete(path: Path, muxer: str) -> None:
    """Truncate a crash-safe file after its last complete MP4 fragment or Matroska element (a cluster)."""
    try:
        with open(path, "r+b") as file:
            length = os.fstat(file.fileno()).st_size
            keep = _complete_mp4(file, length) if muxer in ("mp4", "mov") else _complete_matroska(file, length)
            if keep < length:
                file.truncate(keep)
                log.debug("cut %s from %d to %d bytes, after its last complete part", path, length, keep)
    except OSError as exc:
        log.debug("could not cut %s back to its complete part: %s", path, exc)


def _complete_mp4(file: BinaryIO, length: int) -> int:
    """Bytes of top-level MP4 boxes that are complete, not counting a ``moof`` whose ``mdat`` is not."""
    pos = keep = 0
    while pos + 8 <= length:
        file.seek(pos)
        head = file.read(16)
        size = int.from_bytes(head[:4], "big")
        if size == 1 and len(head) == 16:  # 64-bit size
            size = int.from_bytes(head[8:16], "big")
        if size < 8 or pos + size > length:
            break
        pos += size
        if head[4:8] != b"moof":
            keep = pos
    return keep


def _complete_matroska(file: BinaryIO, length: int) -> int:
    """Bytes of Matroska up to the end of the last complete element inside the Segment (0 if none)."""
    file.seek(0)
    head = file.read(64)
    header = _ebml_element(head, 0)  # the EBML header
    if header is None or header[0] != 0x1A45DFA3:
        return 0
    segment = _ebml_element(head, header[2])
    if segment is None or segment[0] != 0x18538067:
        return 0
    pos = keep = segment[1]  # the Segment's first child
    while pos < length:
        file.seek(pos)
        child = _ebml_element(file.read(16), 0)
        if child is None or child[2] is None or pos + child[2] > length:
            break
        pos = keep = pos + child[2]
    return keep


def _ebml_element(data: bytes, pos: int) -> tuple[int, int, int | None] | None:
    """(id, offset of its data, offset of its end or None if its size is unknown) of the element at ``pos``."""
    ident = _ebml_vint(data, pos)
    if ident is None:
        return None
    size = _ebml_vint(data, ident[1])
    if size is None:
        return None
    width = ident[1] - pos
    element_id = int.from_bytes(data[pos : pos + width], "big")
    start = size[1]
    unknown = size[0] == (1 << (7 * (size[1] - ident[1]))) - 1  # all ones
    return element_id, start, None if unknown else start + size[0]


def _ebml_vint(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value without its length marker, offset after it) of the EBML variable-size integer at ``pos``."""
    if pos >= len(data) or data[pos] == 0:
        return None
    width = 9 - data[pos].bit_length()
    if pos + width > len(data):
        return None
    value = int.from_bytes(data[pos : pos + width], "big") & ((1 << (7 * width)) - 1)
    return value, pos + width


def frames_in(path: Path) -> tuple[int, float]:
    """(video frames, seconds from the first frame's start to the last one's end) that ``path`` holds.

    Read from the packets, without decoding; (0, 0.0) if the file does not open.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            time_base = stream.time_base  # read while open: PyAV 18.1.1 refuses a closed container's streams
            frames, start, end = 0, None, 0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                frames += 1
                start = packet.pts if start is None else min(start, packet.pts)
                end = max(end, packet.pts + (packet.duration or 0))
    except (OSError, av.FFmpegError, IndexError):
        return 0, 0.0
    return frames, float((end - start) * time_base) if frames else 0.0
