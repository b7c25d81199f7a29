"""Output formats by file extension, and the check that a video can be written at a path.

``.mp4`` and ``.mov`` hold H.264 (libx264, yuv420p, ``+faststart`` so players can start
before the end is loaded), ``.mkv`` holds H.264 too, ``.webm`` holds VP9. Each format also
says how its crash-safe form is written (see `camfilters.media.writer`). ``.gif`` is an
animated GIF, without sound, written by `camfilters.media.gif` instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from camfilters.errors import OutputExistsError, RecordingError
from camfilters.x264 import DEFAULT_CRF

__all__ = ["FASTSTART", "FORMATS", "LIVE_AUDIO_CODECS", "OutputFormat", "check_output_path"]


@dataclass(frozen=True)
class OutputFormat:
    """How files with one extension are written."""

    container: str  # FFmpeg muxer name
    video_codec: str
    audio_codec: str  # used when a rendered input's audio cannot be copied as it is; "" if it holds no sound
    time_base: Fraction  # of the video stream; Matroska stores milliseconds
    video_options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)
    crash_safe_options: dict[str, str] = field(default_factory=dict)  # instead of container_options, when crash-safe
    crash_safe_video_options: dict[str, str] = field(default_factory=dict)  # added to video_options, when crash-safe

    @property
    def fragmented(self) -> bool:
        """Whether a crash-safe file is a fragmented MP4/MOV, rewritten as a regular one on close."""
        return self.container in ("mp4", "mov")


_X264 = {"crf": str(DEFAULT_CRF)}
FASTSTART = {"movflags": "+faststart"}
# Crash-safe: the muxer holds back at most a quarter second, a fragment (empty_moov: the header holds no
# samples; a new fragment at each keyframe and after 250 ms) or a cluster; flush_packets then sends it to
# the file at once instead of leaving it in FFmpeg's I/O buffer. A fragment or cluster may start between
# keyframes: the frames it depends on are already in the file.
# With an audio track, max_interleave_delta bounds what the muxer holds back waiting for the other stream.
_FRAGMENTED = {"movflags": "+frag_keyframe+empty_moov+default_base_moof", "frag_duration": "250000",
               "flush_packets": "1", "max_interleave_delta": "500000"}  # microseconds
_CLUSTERED = {"cluster_time_limit": "250", "flush_packets": "1", "max_interleave_delta": "500000"}  # ms, us
FORMATS: dict[str, OutputFormat] = {
    ".mkv": OutputFormat("matroska", "libx264", "aac", Fraction(1, 1000), _X264, {}, _CLUSTERED),
    ".mov": OutputFormat("mov", "libx264", "aac", Fraction(1, 90000), _X264, FASTSTART, _FRAGMENTED),
    ".mp4": OutputFormat("mp4", "libx264", "aac", Fraction(1, 90000), _X264, FASTSTART, _FRAGMENTED),
    ".webm": OutputFormat(
        "webm",
        "libvpx-vp9",
        "libopus",
        Fraction(1, 1000),
        {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
        {},
        _CLUSTERED,
        {"lag-in-frames": "0"},  # libvpx holds back 25 frames by default: 0.8 s more lost to a crash
    ),
    ".gif": OutputFormat("gif", "gif", "", Fraction(1, 100)),
}
#: The audio codec of live recordings (`Recorder` with ``audio``), by muxer: Opus in Matroska/WebM, else AAC.
LIVE_AUDIO_CODECS = {"matroska": "libopus", "webm": "libopus"}


def check_output_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """``path`` as a `Path` if a video can be written there, else `RecordingError`.

    Checks the extension (one of `FORMATS`), that the folder exists and takes
    the file, and that no file is there unless ``overwrite`` (`OutputExistsError`,
    as ffmpeg refuses without ``-y``). An existing file's bytes are not changed,
    so a bad path is refused before capture starts and nothing is lost.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if path.is_dir():
        raise RecordingError(f"cannot write {path}: it is a folder; give a file name such as {path / 'out.mp4'}")
    if suffix not in FORMATS:
        raise RecordingError(
            f"cannot write {path}: unsupported extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(FORMATS))}"
        )
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise RecordingError(f"cannot write {path}: folder {folder} {what}; create it or choose another folder")
    existed = os.path.lexists(path)
    if existed and not overwrite:
        raise OutputExistsError(f"{path} already exists; add -y (--overwrite) to replace it, or choose another name")
    try:  # opening (never truncating) proves the name and the folder take a file
        with open(path, "r+b" if existed else "xb"):
            pass
    except OSError as exc:
        raise RecordingError(f"cannot write {path}: {exc.strerror or exc}; choose a writable folder") from exc
    if not existed:
        path.unlink()
    return path
