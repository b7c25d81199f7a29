"""Small test videos made with PyAV, and ways to read them back.

Every frame is `frame_image(index, size)`: smooth colour waves that move with the
index, and a top band with the index written in binary as 12 black/white blocks
that survive compression, so `frame_index` recovers which frame a decoded image
is. Nothing here uses camfilters, so it is an independent reference for its tests.

    path = make_video(tmp_path / "in.mp4", 30, size=(160, 120), fps=30, audio=True)
    info = probe(path)            # ffprobe's view: frames, size, fps, durations
    frames = helpers.decode_frames(path)  # [(H, W, 3) uint8 BGR, ...] with PyAV
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = [
    "INDEX_BITS",
    "VideoInfo",
    "faststart",
    "frame_image",
    "frame_index",
    "make_video",
    "probe",
    "tone",
    "top_level_atoms",
]

INDEX_BITS = 12  # frame indices 0..4095 can be encoded
AUDIO_RATE = 48000
TONE_HZ = 440.0


def frame_image(index: int, size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """Test frame number ``index`` of ``size`` = (width, height), as (H, W, 3) uint8 BGR.

    Needs width >= 2 * INDEX_BITS and height >= 8 for the index band to be readable.
    """
    width, height = size
    x = np.arange(width, dtype=np.float64)[None, :] / width
    y = np.arange(height, dtype=np.float64)[:, None] / height
    phase = index / 30.0
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = np.round(128 + 90 * np.sin(2 * np.pi * (x + phase)) * np.ones_like(y))
    image[..., 1] = np.round(40 + 170 * y * np.ones_like(x))
    image[..., 2] = np.round(128 + 90 * np.cos(2 * np.pi * (y + 0.5 * phase)) * np.ones_like(x))
    band = _band_height(height)
    for bit in range(INDEX_BITS):
        x0, x1 = _bit_columns(bit, width)
        image[:band, x0:x1] = 235 if (index >> bit) & 1 else 20
    return image


def frame_index(image: np.ndarray) -> int:
    """The index `frame_image` encoded in ``image`` (a decoded, possibly lossy copy)."""
    height, width = image.shape[:2]
    band = _band_height(height)
    index = 0
    for bit in range(INDEX_BITS):
        x0, x1 = _bit_columns(bit, width)
        inset = max(0, (x1 - x0) // 4)
        block = image[band // 4 : band - band // 4 or 1, x0 + inset : x1 - inset]
        if block.mean() > 128:
            index |= 1 << bit
    return index


def _band_height(height: int) -> int:
    return max(4, height // 6)


def _bit_columns(bit: int, width: int) -> tuple[int, int]:
    return bit * width // INDEX_BITS, (bit + 1) * width // INDEX_BITS


def tone(n_samples: int, channels: int = 2, rate: int = AUDIO_RATE) -> np.ndarray:
    """A 440 Hz sine at half scale, (channels, n_samples) float32 planar."""
    t = np.arange(n_samples) / rate
    return np.repeat((0.5 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)[None], channels, axis=0)


_VIDEO_CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".avi": "mpeg4", ".webm": "libvpx-vp9"}


def make_video(
    path: str | Path,
    n_frames: int,
    size: tuple[int, int] = (160, 120),
    fps: int | Fraction = 30,
    audio: bool = False,
    *,
    audio_codec: str = "aac",
    video_codec: str | None = None,
) -> Path:
    """Write frames ``frame_image(0..n_frames-1, size)`` at ``fps`` to ``path``; return ``path``.

    With ``audio``, adds a stereo 48 kHz 440 Hz tone (`tone`) as long as the video,
    encoded with ``audio_codec`` (e.g. ``"aac"``, ``"pcm_s16le"`` for .mkv/.mov,
    ``"libopus"`` for .webm). The video codec follows the extension (H.264 for
    .mp4/.mov/.mkv, MPEG-4 part 2 for .avi, VP9 for .webm) unless given; pixels are
    yuv420p, or yuv444p when a side is odd (4:2:0 needs even sides).
    ``n_frames`` may be 0 (a file with an empty video stream).
    """
    path = Path(path)
    fps = Fraction(fps)
    with av.open(str(path), "w") as container:
        video = container.add_stream(video_codec or _VIDEO_CODECS[path.suffix.lower()], rate=fps)
        odd = size[0] % 2 or size[1] % 2
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv444p" if odd else "yuv420p"
        sound = None
        if audio:
            sound = container.add_stream(audio_codec, rate=AUDIO_RATE)
            sound.layout = "stereo"
        container.start_encoding()  # writes the header even when there is nothing to mux
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(frame_image(index, size), format="bgr24")
            frame.pts, frame.time_base = index, 1 / fps
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            samples = tone(round(n_frames / fps * AUDIO_RATE))
            step = 1024
            for start in range(0, samples.shape[1], step):
                chunk = np.ascontiguousarray(samples[:, start : start + step])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return path


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe reports about a file; durations in seconds."""

    width: int
    height: int
    frames: int  # counted by decoding
    fps: Fraction  # average frame rate
    video_codec: str
    duration: float  # of the container
    video_duration: float  # the stream's, else first packet's start to last packet's end
    audio_codec: str | None
    audio_duration: float | None  # as video_duration; None without audio
    streams: list[dict]
    format: dict


def probe(path: str | Path) -> VideoInfo:
    """Describe ``path`` with Debian's ffprobe (counting frames by decoding them)."""
    data = _ffprobe(path, "-count_frames", "-show_streams", "-show_format")
    video = next(s for s in data["streams"] if s["codec_type"] == "video")
    audio = next((s for s in data["streams"] if s["codec_type"] == "audio"), None)
    packets = _ffprobe(path, "-show_entries", "packet=stream_index,pts_time,duration_time")["packets"]

    def span(stream: dict | None) -> float | None:
        if stream is None:
            return None
        if "duration" in stream:  # MP4/MOV store it; Matroska does not
            return float(stream["duration"])
        mine = [p for p in packets if p["stream_index"] == stream["index"] and "pts_time" in p]
        start = min(float(p["pts_time"]) for p in mine)
        return max(float(p["pts_time"]) + float(p.get("duration_time", 0)) for p in mine) - start

    return VideoInfo(
        width=int(video["width"]),
        height=int(video["height"]),
        frames=int(video.get("nb_read_frames", 0)),
        fps=Fraction(video["avg_frame_rate"]) if video["avg_frame_rate"] != "0/0" else Fraction(0),
        video_codec=video["codec_name"],
        duration=float(data["format"].get("duration", "nan")),
        video_duration=span(video),
        audio_codec=audio["codec_name"] if audio else None,
        audio_duration=span(audio),
        streams=data["streams"],
        format=data["format"],
    )


def faststart(source: str | Path, path: str | Path) -> Path:
    """Copy the MP4 ``source`` to ``path`` with its index (``moov``) before the media data, as phones write
    them (ffmpeg's ``-movflags +faststart``), remuxed with PyAV; return ``path``."""
    with av.open(str(source)) as src, av.open(str(path), "w", options={"movflags": "+faststart"}) as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        for packet in src.demux():
            if packet.dts is not None and packet.stream.index in streams:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    return Path(path)


def top_level_atoms(path: Path) -> list[str]:
    """The names of the top-level MP4/MOV boxes in file order."""
    names, data, pos = [], path.read_bytes(), 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        names.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        pos += size if size else len(data)
    return names


def _ffprobe(path: str | Path, *args: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", *args, "-of", "json", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)
