"""`GifOutput`: an animated GIF with one palette for the whole clip, as FFmpeg's palettegen/paletteuse make it.

Frames come in like `VideoOutput`'s, timed in ``time_base`` units, are retimed to the GIF's rate
by their timestamps and scaled (`cv2.INTER_AREA`), and wait in an unnamed temporary file beside
the output while palettegen counts their colours; ``close`` makes the palette and reads them back
through paletteuse into the GIF. What that guarantees is the README's "Animated GIF".

Palettegen is given colours cut to 6 bits a channel (the middle of each step of 4), which
bounds its histogram to 2^18 colours: a noisy camera gives millions of distinct 24-bit
colours, and its median cut over them took 3.2 s for 90 frames of 480x270 instead of
0.12 s; the GIF's colours stay within 0.4 level (``benchmarks/gif_palette.py``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from camfilters.errors import ParameterError, RecordingError, reason

from .atomic import AtomicOutput
from .formats import FORMATS

__all__ = ["GIF_FPS", "GIF_TIME_BASE", "GIF_WIDTH", "MAX_GIF_FPS", "GifOutput", "GifSettings", "is_gif"]

GIF_WIDTH = 480  # pixels: the default width (never wider than the input)
GIF_FPS = 15.0
#: Browsers play a GIF frame delay under 2 cs as 10 cs, so a GIF faster than 50 fps would play at 10.
MAX_GIF_FPS = 50.0
GIF_TIME_BASE = Fraction(1, 100)  # GIF frame delays are in centiseconds
_MAX_SIDE = 65535  # a GIF's width and height are 16-bit
_GRAPH_TIME_BASE = Fraction(1, 1000)
_STATS_MASK, _STATS_MID = 0xFC, 2  # 6 bits a channel for palettegen's histogram
# Frames per paletteuse graph. Its cache of the colours it has met only grows (to 2^24 colours, about 130 MB at
# 8 bytes each): 450 frames of a 640x360 H.264 clip took the peak from 184 to 283 MB; a new graph every 30 kept it
# at 184 MB, byte for byte the same GIF (dithering carries nothing from frame to frame), and no slower.
_PALETTEUSE_FRAMES = 30


@dataclass(frozen=True)
class GifSettings:
    """A GIF's size and rate: ``width`` and ``height`` in pixels (None: `GIF_WIDTH` at most, the other side from
    the aspect ratio), ``fps`` frames a second.

    >>> GifSettings(width=320).size_for((1280, 720))
    (320, 180)
    """

    width: int | None = None
    height: int | None = None
    fps: float = GIF_FPS

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and 1 <= value <= _MAX_SIDE):
                raise ParameterError(f"GIF {name} must be a whole number from 1 to {_MAX_SIDE} pixels, got {value!r}")
        if not (isinstance(self.fps, (int, float)) and 0.1 <= self.fps <= MAX_GIF_FPS):
            raise ParameterError(f"GIF fps must be from 0.1 to {MAX_GIF_FPS:g} (browsers play faster GIFs at 10 fps), "
                                 f"got {self.fps!r}")

    def size_for(self, size: tuple[int, int]) -> tuple[int, int]:
        """The GIF's (width, height) for frames of ``size`` (width, height)."""
        width, height = size
        if self.width is not None and self.height is not None:
            return self.width, self.height
        if self.height is not None:
            return max(1, round(width * self.height / height)), self.height
        out_width = self.width if self.width is not None else min(GIF_WIDTH, width)
        return out_width, max(1, round(height * out_width / width))


class GifOutput:
    """An animated GIF being written; not thread-safe. The interface of `VideoOutput` that GIFs need.

    ``size`` is the (width, height) of the ``(H, W, 3) uint8 BGR`` frames `encode` takes,
    with a pts and duration in ``time_base`` units (default ms); ``settings`` the GIF's
    size and rate. Nothing is at ``path`` until `close` has written the whole GIF; a
    ``crash_safe`` one is put there atomically (`AtomicOutput`), so no broken file ever takes the name.
    """

    def __init__(self, path: Path, size: tuple[int, int], *, settings: GifSettings = GifSettings(),
                 time_base: Fraction | None = None, crash_safe: bool = False) -> None:
        self.path = path
        self.format = FORMATS[".gif"]
        self.width, self.height = size
        self.gif_size = settings.size_for(size)
        self.fps = Fraction(settings.fps).limit_denominator(1001)
        self.time_base = time_base or _GRAPH_TIME_BASE
        self.failed = False
        self.frames = 0  # GIF frames so far
        self._atomic = AtomicOutput(path) if crash_safe else None  # the caller has checked for an existing file
        try:
            self._frames = tempfile.TemporaryFile(dir=path.parent)
        except OSError as exc:
            self._close_atomic()
            raise RecordingError(f"cannot write {path}: {reason(exc)}") from exc
        # palettegen's graph (kept: its filters need it), its input and output
        self._stats, self._stats_in, self._stats_out = self._graph("palettegen", "stats_mode=full")
        self._first: int | None = None  # pts of the first frame
        self._held: np.ndarray | None = None  # the scaled frame shown now
        self._end = Fraction(0)  # seconds from the first frame to the end of the frame held
        self._open = True

    def _graph(self, name: str, args: str, palette: av.VideoFrame | None = None) -> tuple:
        """A filter graph of the scaled frames through ``name``: (graph, frames' buffer, sink)."""
        graph = av.filter.Graph()
        width, height = self.gif_size
        frames = graph.add_buffer(width=width, height=height, format="bgr24", time_base=_GRAPH_TIME_BASE)
        stage, sink = graph.add(name, args), graph.add("buffersink")
        frames.link_to(stage, 0, 0)
        if palette is not None:
            source = graph.add_buffer(width=palette.width, height=palette.height, format=palette.format.name,
                                      time_base=_GRAPH_TIME_BASE)
            source.link_to(stage, 0, 1)
        stage.link_to(sink)
        graph.configure()
        if palette is not None:
            palette.pts, palette.time_base = 0, _GRAPH_TIME_BASE
            source.push(palette)
            source.push(None)
        return graph, frames, sink

    def encode(self, image: np.ndarray, pts: int, duration: int) -> None:
        """Take one ``(H, W, 3) uint8 BGR`` frame shown from ``pts`` for ``duration`` (``time_base`` units)."""
        if self.failed:
            raise RecordingError(f"cannot write {self.path}: an earlier write failed")
        try:
            if self._first is None:
                self._first = pts
            start = (pts - self._first) * self.time_base
            self._emit_until(start)
            scaled = cv2.resize(image, self.gif_size, interpolation=cv2.INTER_AREA)
            self._held, self._end = scaled, start + duration * self.time_base
        except BaseException:
            self.failed = True
            raise

    def _emit_until(self, seconds: Fraction) -> None:
        """Write the frame held for every GIF tick before ``seconds``."""
        while self._held is not None and self.frames / self.fps < seconds:
            self._frames.write(self._held.data)
            stats = av.VideoFrame.from_ndarray((self._held & _STATS_MASK) | _STATS_MID, format="bgr24")
            stats.pts, stats.time_base = self.frames, _GRAPH_TIME_BASE
            self._stats_in.push(stats)
            try:  # a pull runs the graph: pushed frames otherwise wait in its queue, all of them, until the end
                self._stats_out.pull()
            except av.BlockingIOError:  # what palettegen says until it has seen the last frame
                pass
            self.frames += 1

    def close(self) -> None:
        """Write the GIF from the frames taken (none: no file); idempotent. After a failure, write nothing."""
        if not self._open:
            return
        self._open = False
        try:
            if not self.failed and self._held is not None:
                # The last tick only if half of it is left, as FFmpeg's fps filter rounds: 0.501 s at 10 fps is
                # 5 frames (the last frame's length is a guess); a clip shorter than that still has one.
                self._emit_until(max(self._end - 1 / (2 * self.fps), Fraction(1, 10**9)))
                self._write_gif(self._atomic.temp if self._atomic is not None else self.path)
                if self._atomic is not None:
                    self._atomic.commit()
        except BaseException:
            self.failed = True
            raise
        finally:
            self._frames.close()
            self._close_atomic()

    def _close_atomic(self) -> None:
        if self._atomic is not None:
            self._atomic.close()  # removes the temporary file unless committed

    def _write_gif(self, path: Path) -> None:
        """The palette from the histogram, then every frame through paletteuse into the GIF at ``path``."""
        self._stats_in.push(None)
        palette = self._stats_out.pull()
        width, height = self.gif_size
        frame_bytes = width * height * 3
        self._frames.seek(0)
        with av.open(str(path), "w", format="gif") as container:
            stream = container.add_stream("gif", rate=self.fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "pal8"
            stream.time_base = stream.codec_context.time_base = GIF_TIME_BASE
            for begin in range(0, self.frames, _PALETTEUSE_FRAMES):  # a new paletteuse, with an empty cache
                _, frames, sink = self._graph("paletteuse", "dither=sierra2_4a", palette)
                for index in range(begin, min(begin + _PALETTEUSE_FRAMES, self.frames)):
                    image = np.frombuffer(self._frames.read(frame_bytes), np.uint8).reshape(height, width, 3)
                    frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                    frame.pts, frame.time_base = index, _GRAPH_TIME_BASE
                    frames.push(frame)
                    self._mux(container, stream, sink)
                frames.push(None)
                self._mux(container, stream, sink)
            container.mux(stream.encode(None))

    def _mux(self, container: av.container.OutputContainer, stream: av.video.stream.VideoStream,
             sink: av.filter.context.FilterContext) -> None:
        """Encode what paletteuse has ready; frame ``i`` starts at ``i / fps`` (rounded to centiseconds)."""
        while True:
            try:
                frame = sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            tick = frame.pts  # paletteuse keeps the pts it was given: the GIF frame's index
            start = round(tick / self.fps / GIF_TIME_BASE)
            frame.pts, frame.time_base = start, GIF_TIME_BASE
            frame.duration = round((tick + 1) / self.fps / GIF_TIME_BASE) - start
            container.mux(stream.encode(frame))


def is_gif(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a GIF (by its extension, any case)."""
    return Path(path).suffix.lower() == ".gif"

