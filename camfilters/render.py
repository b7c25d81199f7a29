"""Filtering a video file into another, keeping its timing and audio, never losing a file.

`render_file` is ``camfilters render``'s processing of one file, alone or in a batch: the frame
processor of its `RenderOptions` (`camfilters.processor.build_processor`) through `render`, whose
three stages (`camfilters.render_job.RenderJob`: decode, ``process``, encode) run at once. Each
frame keeps the input's timestamp and duration, so the output has the same frame count, frame
rate and duration. What happens to the files (`camfilters.media.atomic.AtomicOutput`'s hidden
temporary file and lock, ``OUT-partial.EXT``, never the input as output), the rotation, the
audio and the time range are told in the README's "Recording and rendering"; what counts as
truncated is `camfilters.media.reader`'s one rule.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

from camfilters.errors import ParameterError, RecordingError, SourceError, reason
from camfilters.media.atomic import AtomicOutput
from camfilters.media.gif import is_gif
from camfilters.media.reader import VideoReader, check_input, frame_total
from camfilters.options import RenderOptions
from camfilters.recording import check_output_path
from camfilters.render_job import Process, Progress, RenderJob
from camfilters.signals import join_holding
from camfilters.threads import Worker

__all__ = ["InputTruncated", "RenderInterrupted", "RenderResult", "Stopped", "check_range", "frame_total", "render",
           "render_file"]

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class RenderResult:
    """What `render` wrote."""

    output: Path
    frames: int
    duration: float  # seconds of video, first frame's start to last frame's end
    fps: Fraction  # the input's average frame rate, which the output keeps
    audio: str | None  # "copied", "re-encoded", or None when the input has no audio
    elapsed: float  # wall-clock seconds the render took
    rotation: int = 0  # degrees counter-clockwise the frames were turned to be upright


class InputTruncated(SourceError):
    """A corrupt or truncated input: the ``frames`` that decoded were kept in ``partial`` (`AtomicOutput.keep_partial`)."""

    def __init__(self, message: str, partial: Path, frames: int) -> None:
        super().__init__(message)
        self.partial, self.frames = partial, frames


class RenderInterrupted(KeyboardInterrupt):
    """A render stopped by Ctrl-C or SIGTERM; ``partial`` holds the ``frames`` done (None if none)."""

    def __init__(self, message: str, partial: Path | None, frames: int) -> None:
        super().__init__(message)
        self.partial, self.frames = partial, frames


class Stopped(Exception):
    """A `render_file` with ``keep_partial=False`` (a batch's) was interrupted and its unfinished files
    removed (an Exception, so that `OfflineLenses` drops its CSV too)."""


def render(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    process: Process,
    options: RenderOptions | None = None,
    *,
    progress: bool | Progress = True,
) -> RenderResult:
    """Write every frame of ``input_path`` through ``process(image, seconds) -> image`` to ``output_path``.

    ``process`` gets upright ``(H, W, 3) uint8 BGR`` frames and their presentation
    time in seconds (increasing) and must return a frame of the same shape; it may
    reuse its output buffer. ``progress`` shows a tqdm bar on stderr, or is called
    with the number of frames done as they are written. Of ``options`` (default
    `RenderOptions()`), the output's: ``speed`` and ``crf`` are libx264's preset and
    quality (`VideoOutput`); ``start``/``end`` (seconds) render the frames shown from
    ``start`` until before ``end`` and the audio of that span (whole packets when copied:
    about one audio frame of slack), timestamps starting at 0; ``audio_denoise`` cleans the
    sound; ``gif`` sets a ``.gif`` output's size and rate (`ParameterError` for another
    output); the filters and lenses are the caller's, in ``process``. An existing output is
    refused (`OutputExistsError`) unless ``overwrite``; the input as output is refused
    (`ParameterError`) always, also through a hard link, a symlink or a bind mount.

    Raises `SourceError` for an input that is missing, not a regular file, not a
    video, smaller than 2x2 or without frames, and `InputTruncated` for a corrupt or
    truncated one (after keeping what decoded in ``OUT-partial.EXT``); `RecordingError`
    for an output that cannot be written, `OutputBusyError` for one another render
    writes now; whatever ``process`` raises. In every case an existing output is
    untouched. On Ctrl-C/SIGTERM raises `RenderInterrupted` naming the partial file kept.
    """
    started = time.perf_counter()
    options = RenderOptions() if options is None else options
    start, end, overwrite = options.start, options.end, options.overwrite
    check_range(start, end)
    if options.gif is not None and not is_gif(output_path):
        raise ParameterError(f"--size and --fps set a GIF's size and rate, and {output_path} is not a .gif; "
                             "drop them or write a .gif")
    input_path = Path(input_path)
    check_input(input_path)
    if _same_file(input_path, output_path):
        raise ParameterError(
            f"cannot render {input_path} onto itself ({output_path} is the same file); choose another output file"
        )
    try:
        output_path = check_output_path(output_path, overwrite=overwrite)
    except RecordingError:
        raise
    except OSError as exc:  # e.g. a name longer than 255 bytes, met while checking the folder
        raise RecordingError(f"cannot write {output_path}: {reason(exc)}; choose another name or folder") from None
    destination = Path(os.path.realpath(output_path)) if output_path.is_symlink() else output_path
    with VideoReader(input_path) as reader, \
            AtomicOutput(destination, overwrite=overwrite, what=str(output_path)) as out:
        frames, duration, job = _run_job(out, reader, options, process, progress)
        if frames == 0:
            empty = "it has no video frames" if start is None and end is None else (
                f"it has no video frames from {start or 0:g} s to {'the end' if end is None else f'{end:g} s'}")
            raise SourceError(f"cannot render {input_path}: {job.damage or empty}")
        if job.damage:  # not complete: never in place of the output
            partial = _shielded(out.keep_partial)
            raise InputTruncated(
                f"{input_path} is corrupt or truncated after frame {frames} ({duration:.2f} s): "
                f"kept {frames} frames in {partial} ({job.damage})", partial, frames)
        try:
            _shielded(out.commit)
        except KeyboardInterrupt:  # it came while the finished file was put in place, which _shielded completed
            raise RenderInterrupted(f"interrupted at the end: all {frames} frames are in {output_path}", output_path,
                                    frames) from None
    result = RenderResult(
        output_path, frames, duration, job.rate, job.audio_mode, time.perf_counter() - started, reader.rotation
    )
    log.debug("rendered %d frames (%.2f s of video) to %s in %.1f s", frames, duration, output_path, result.elapsed)
    return result


def render_file(input_path: Path, output: Path, options: RenderOptions, *, keep_partial: bool = True,
                progress: bool | Progress = True) -> tuple[RenderResult, int | None]:
    """Render ``input_path`` to ``output`` through ``options``' filters, then its lenses (every frame analysed).

    ``progress`` is `render`'s. Returns the `RenderResult` and the number of faces written
    to the faces CSV (None without one). Raises as `render` does; interrupted,
    `RenderInterrupted` names the partial file, or with ``keep_partial=False`` the partial
    file and the CSV are removed and `Stopped` is raised, and for a truncated input nothing
    is kept.
    """
    from camfilters.processor import build_processor

    def run(process) -> RenderResult:
        try:
            return render(input_path, output, process, options, progress=progress)
        except RenderInterrupted as exc:
            if keep_partial or exc.partial is None or exc.partial == output:  # at the end: output is complete
                raise
            exc.partial.unlink(missing_ok=True)
            raise Stopped(f"interrupted: {input_path} was not finished and nothing of it was kept") from None
        except InputTruncated as exc:
            if keep_partial:
                raise
            exc.partial.unlink(missing_ok=True)
            raise SourceError(f"{input_path} is corrupt or truncated after frame {exc.frames}: nothing of it was "
                              f"kept (render it alone to keep the frames that decode)") from None

    if not options.lenses:  # with lenses, the face stage checks them and their options as it loads
        options.check()
    faces_csv = options.faces_csv_for(output)
    if faces_csv is not None and faces_csv.resolve() in (input_path.resolve(), output.resolve()):
        raise ParameterError(f"--faces-csv {faces_csv} must be another file than the input and the output")
    processor = build_processor(options.filters, options.lenses, "render", face_model=options.face_model,
                                detector_model=options.detector_model, segmentation_model=options.segmentation_model,
                                faces_csv=faces_csv, overwrite=options.overwrite)
    if not options.lenses:
        return run(processor.process), None
    with processor as found:
        result = run(found)
    return result, found.csv.rows if found.csv is not None else None


def check_range(start: float | None, end: float | None) -> None:
    """`ParameterError` unless ``start`` >= 0 and ``end`` > ``start`` (seconds; None: the file's own)."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and not 0 <= value < float("inf"):
            raise ParameterError(f"--{name} must be a time from 0 s on, got {value!r}")
    if end is not None and end <= (start or 0):
        raise ParameterError(f"--end ({end:g} s) must be after --start ({start or 0:g} s)")


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` are one file (same device and inode: hard links, symlinks, bind mounts)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # b missing (the usual case), a name too long, a NUL byte, ...
        return False


def _run_job(out: AtomicOutput, reader: VideoReader, options: RenderOptions, process: Process,
             progress: bool | Progress) -> tuple[int, float, RenderJob]:
    """Render into ``out.temp``: (frames, seconds of video, the job); on an interrupt, the partial file is kept."""
    job: RenderJob | None = None
    try:
        job = RenderJob(reader, out.path, out.temp, options)
        frames, duration = job.run(process, progress)
    except KeyboardInterrupt:
        raise _interrupted(out, job) from None
    except BaseException:
        _shielded(out.discard)
        raise
    return frames, duration, job


def _interrupted(out: AtomicOutput, job: RenderJob | None) -> RenderInterrupted:
    """After an interrupt: the finalised temporary file kept as ``OUT-partial``, or removed if empty."""
    frames = job.frames_written if job is not None else 0
    kept: list[Path | None] = []
    try:
        _shielded(lambda: kept.append(out.keep_partial() if frames else out.discard()))
    except KeyboardInterrupt:  # a second Ctrl-C, held back until the file was kept
        pass
    if not kept or kept[0] is None:
        return RenderInterrupted("interrupted before the first frame was done; nothing written", None, 0)
    return RenderInterrupted(f"interrupted: kept the first {frames} frames in {kept[0]}", kept[0], frames)


def _shielded(work: Callable[[], object]) -> object:
    """Run ``work`` on a thread so that Ctrl-C/SIGTERM cannot cut it short; return its result or raise its error.

    An interrupt that came meanwhile is raised afterwards.
    """
    outcome: list = []
    worker = Worker("render-finish", lambda: outcome.append(work())).start()
    try:
        join_holding([worker])
    except KeyboardInterrupt:
        worker.raise_error()  # the error first: it says what happened to the file
        raise
    worker.raise_error()
    return outcome[0]
