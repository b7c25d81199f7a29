"""What ``run`` and ``render`` were asked to do: `LiveOptions` and `RenderOptions`, typed.

The command line becomes one of them in one place (`LiveOptions.from_args`,
`RenderOptions.from_args`); everything past the command line takes the object, not
its fields one by one. `RenderOptions` is frozen and picklable: a batch sends it to
its worker processes and Dask tasks with each file.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .hotkeys import TOAST_SECONDS
from .x264 import DEFAULT_PRESET

if TYPE_CHECKING:
    from .media.gif import GifSettings

__all__ = ["LiveOptions", "RenderOptions", "faces_csv_beside", "gif_settings"]


@dataclass
class LiveOptions:
    """What ``camfilters run`` was asked to do (see ``camfilters run --help``)."""

    filters: list[str] = field(default_factory=list)
    lenses: list[str] = field(default_factory=list)
    source: str = "auto"
    size: tuple[int, int] | None = None
    fps: float | None = None
    loop: bool = False  # replay a file source until quit
    mirror: bool = False
    toast_seconds: float = TOAST_SECONDS  # how long a message stays in the window
    record: Path | None = None
    overwrite: bool = False  # replace an existing --record file
    output_dir: Path | None = None  # None: `live_files.default_folder` for each kind
    window: bool = True
    max_frames: int | None = None
    duration: float | None = None
    virtual_cam: str | None = None  # "" = the default device
    virtual_cam_mirror: bool = False
    face_model: str | None = None
    segmentation_model: str | None = None
    audio: str | None = None  # record this microphone ("" = the default input); None = no microphone is opened
    audio_denoise: bool = False  # denoise the sound recorded (camfilters.audio_denoise); `a` switches it
    privacy_delay: float = 0.1  # seconds frames wait while face-blur / face-pixelate is on (face.delay)
    gif: GifSettings | None = None  # the size and rate of a .gif --record (None: the defaults)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LiveOptions:
        """The options of a parsed ``run`` command line (its preset already applied)."""
        return cls(
            filters=args.filters, lenses=args.lenses, source=args.source, size=args.size, fps=args.fps,
            loop=args.loop, mirror=bool(args.mirror), toast_seconds=args.toast_seconds, record=args.record,
            overwrite=args.overwrite, output_dir=args.output_dir, window=args.window, max_frames=args.max_frames,
            duration=args.duration, virtual_cam=args.virtual_cam, virtual_cam_mirror=args.virtual_cam_mirror,
            audio=args.audio, audio_denoise=bool(args.audio_denoise), privacy_delay=args.privacy_delay / 1000.0,
            gif=gif_settings(args.gif_size, args.gif_fps), face_model=_text(args.face_model),
            segmentation_model=_text(args.segmentation_model))


@dataclass(frozen=True)
class RenderOptions:
    """What ``camfilters render`` does to every file (see ``camfilters render --help``).

    ``filters`` and ``lenses`` are spec strings (lists are taken as tuples); ``speed`` is
    libx264's preset and ``crf`` its quality (None: `VideoOutput`'s default); ``start`` and
    ``end`` are seconds. The faces go to ``faces_csv`` (one file), or with ``faces_csv_beside``
    to `faces_csv_beside` each output.
    """

    filters: tuple[str, ...] = ()
    lenses: tuple[str, ...] = ()
    overwrite: bool = False
    crf: int | None = None
    speed: str = DEFAULT_PRESET
    start: float | None = None
    end: float | None = None
    audio_denoise: bool = False
    gif: GifSettings | None = None  # a .gif output's size and rate (None: the defaults)
    face_model: str | None = None
    detector_model: str | None = None
    segmentation_model: str | None = None
    faces_csv: Path | None = None
    faces_csv_beside: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple(self.filters))
        object.__setattr__(self, "lenses", tuple(self.lenses))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RenderOptions:
        """The options of a parsed ``render`` command line (``--faces-csv`` without a path: beside each output)."""
        beside = args.faces_csv == Path()
        return cls(
            filters=args.filters, lenses=args.lenses, overwrite=args.overwrite, crf=args.crf, speed=args.speed,
            start=args.start, end=args.end, audio_denoise=args.audio_denoise, gif=gif_settings(args.size, args.fps),
            face_model=_text(args.face_model), detector_model=_text(args.detector_model),
            segmentation_model=_text(args.segmentation_model), faces_csv=None if beside else args.faces_csv,
            faces_csv_beside=beside)

    def faces_csv_for(self, output: Path) -> Path | None:
        """Where the faces of ``output`` go: `faces_csv_beside` it, ``faces_csv``, or None (no CSV)."""
        return faces_csv_beside(output) if self.faces_csv_beside else self.faces_csv

    def check(self) -> None:
        """`ParameterError` for a bad time range, filter or lens spec, or a lens option without a lens; loads
        no model. Checked once before a batch starts, so that a typo does not fail every file."""
        from .errors import ParameterError
        from .processor import check_specs
        from .render import check_range

        check_range(self.start, self.end)
        chosen = check_specs(self.filters, self.lenses)
        faces_csv = self.faces_csv is not None or self.faces_csv_beside
        if not self.lenses:
            for option, given in (("--faces-csv", faces_csv), ("--face-model", self.face_model is not None),
                                  ("--detector-model", self.detector_model is not None),
                                  ("--segmentation-model", self.segmentation_model is not None)):
                if given:
                    raise ParameterError(f"{option} needs a --lens, e.g. --lens face-blur")
        elif faces_csv and not any(lens.needs_faces for lens in chosen):
            raise ParameterError(f"--faces-csv needs a lens that finds faces (e.g. face-blur), "
                                 f"got {', '.join(self.lenses)}")


def faces_csv_beside(output: Path) -> Path:
    """Where ``--faces-csv`` without a path writes the faces of ``output``: ``OUT.faces.csv`` beside it."""
    return output.with_name(output.name + ".faces.csv")


def gif_settings(size: tuple[int, int | None] | None, fps: float | None) -> GifSettings | None:
    """`GifSettings` from the command line's GIF size and fps, or None when neither was given."""
    if size is None and fps is None:
        return None
    from .media.gif import GIF_FPS, GifSettings

    width, height = size or (None, None)
    return GifSettings(width=width, height=height, fps=GIF_FPS if fps is None else fps)


def _text(value: str | os.PathLike[str] | None) -> str | None:
    """A model path from the command line as text (None stays None)."""
    return None if value is None else str(value)
