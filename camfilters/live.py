"""The live loop: capture -> mirror -> chain -> window / recording / virtual camera.

Capture runs in the source's thread (latest frame wins), encoding in the recorder's
thread and virtual-camera sending in its own; this loop only filters and shows, so a
slow encoder never stalls the picture. Its start-up warm-up is in `live_start`, its files'
folders and checks in `live_files`, its statistics in `live_stats`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

import filters

from . import overlay, signals
from .capture import FileSource, open_source
from .controller import Controller
from .display import Window, check_display
from .errors import EndReason, ParameterError, RecordingError
from .images import write_image
from .live_files import (
    check_gif_options,
    check_recordable,
    default_folder,
    folder_problem,
    prepare_output_dir,
    refuse_recording_over_source,
    unique_path,
)
from .live_start import warm_up
from .live_stats import LiveStats
from .media.gif import is_gif
from .options import LiveOptions
from .pipeline import EMA, FilterStage, Pipeline, Stage, stage_from_spec
from .processor import build_processor
from .recording import LIVE_PRESET, Recorder, check_output_path

log = logging.getLogger(__name__)

#: Seconds between status-line updates on the terminal in --no-window runs.
STATUS_PERIOD_S = 1.0

#: Filters offered on the number keys after the command-line chain (key 1), in this order; the rest follow.
HOTKEY_FILTERS = ("edge", "cartoon", "sketch", "blur", "sharpen", "emboss", "vintage", "noir", "box", "identity")


class Palette:
    """The filter choices on the number keys: 1 = the command-line chain (none: identity), then single
    filters, each once."""

    def __init__(self, chain_specs: list[str]) -> None:
        names = [n for n in HOTKEY_FILTERS if n in filters.available()]
        names += [n for n in filters.available() if n not in names]
        first = [stage_from_spec(s) for s in chain_specs] or [FilterStage(filters.get("identity"))]
        self.entries: list[list[Stage] | str] = [first] + [n for n in names if [n] != [s.name for s in first]]
        self.index = 0

    def specs(self) -> list[list[str]]:
        """Each entry's filter specs (tuned options included), in key order."""
        return [[entry] if isinstance(entry, str) else [s.name for s in entry] for entry in self.entries]

    def stages(self, index: int) -> list[Stage]:
        """The stages of entry ``index`` (wrapped around), building single filters on first use."""
        self.index = index % len(self.entries)
        entry = self.entries[self.index]
        if isinstance(entry, str):
            entry = self.entries[self.index] = [stage_from_spec(entry)]
        return entry


def level_meter(peak: float, width: int = 8) -> str:
    """A text meter for a 0..1 peak on a -48..0 dBFS scale, e.g. ``[#####---]``."""
    db = 20 * math.log10(peak) if peak > 0 else -math.inf
    filled = max(0, min(width, round((db + 48) / 48 * width))) if math.isfinite(db) else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _clip_audio(source):
    """The sound a file source's frames carry (`ClipAudio`), to record with them; None for other sources."""
    if getattr(source, "sound_format", None) is None:
        return None
    from .audio import ClipAudio

    return ClipAudio(*source.sound_format)


class LiveSession:
    """One ``camfilters run``: owns the source, window, recorder and virtual camera.

    Keys and the mouse go to its `controller.Controller`. Every action and failure is said
    once (`say`): logged, and shown as a toast in the window for `overlay.Toasts.seconds`.
    A hotkey never ends the session; only quitting does.
    """

    def __init__(self, options: LiveOptions) -> None:
        self.options = options
        if options.record is not None:
            refuse_recording_over_source(options.record, options.source)
            check_output_path(options.record, overwrite=options.overwrite)
        check_gif_options(options)
        self.palette = Palette(options.filters)
        self.chain = Pipeline(self.palette.stages(0))
        self.face = None
        self.face_error: str | None = None  # why the face stage could not load (not retried on every f)
        self.face_full = False  # the face stage can draw every lens (not only the --lens ones)
        self.pipeline = Pipeline([self.chain])
        if options.window:
            check_display()  # before anything starts: Qt would abort the process without a display
            if options.output_dir is not None:
                prepare_output_dir(options.output_dir)
        if options.lenses:
            self._enable_face(options.lenses)
        self.mirror = options.mirror
        self.paused = False
        self.show_status = True
        self.show_help = False
        self.recorder: Recorder | None = None
        self.recording_since = 0.0
        self.vcam = None
        self.audio = None  # camfilters.audio: the Microphone with --audio, else a file source's ClipAudio, or None
        self.window: Window | None = None
        self.toasts = overlay.Toasts(options.toast_seconds)
        self._early_keys: list[int] = []  # keys pressed during start-up, handled with the first frame
        self.stats = LiveStats()
        self._interval = EMA(0.05)  # seconds between shown frames; fps = 1 / its average
        self._mirror_buf: np.ndarray | None = None
        self._last: np.ndarray | None = None
        self._size: tuple[int, int] = (0, 0)
        self._fps = 30.0
        self._raw: np.ndarray | None = None  # the last source frame (mirrored), for the grid
        self.controller = Controller(self)

    def _enable_face(self, lenses: list[str]) -> None:
        """Put the face stage in charge of the chain (it runs it, then draws the lenses; none: every lens on
        its cycle)."""
        self.face = build_processor(self.chain, lenses, "live", face_model=self.options.face_model,
                                    segmentation_model=self.options.segmentation_model,
                                    privacy_delay=self.options.privacy_delay, every_lens=True)
        self.face_full = not lenses
        self.pipeline.stages = [self.face]

    def say(self, text: str, *, error: bool = False) -> None:
        """Log ``text`` once and show it as a toast (red when ``error``)."""
        (log.error if error else log.info)("%s", text)
        self.toasts.add(text, error=error)

    # -- actions (the controller calls these) ---------------------------------------------
    def select(self, index: int) -> None:
        self.chain.stages = self.palette.stages(index)
        self.say(f"filter: {self.chain.name}")

    def toggle_recording(self, size: tuple[int, int], fps: float) -> None:
        if self.recorder is not None:
            self._stop_recording()
            return
        if self.options.record is not None and not self.stats.recordings:
            path = self.options.record  # the path asked for; the Recorder refuses it if it exists without -y
        else:
            path = unique_path(self.options.record or self._folder("videos") / f"camfilters-{datetime.now():%Y%m%d-%H%M%S}.mp4")
        audio = (self.audio.rate, self.audio.channels) if self.audio is not None else None
        self.recorder = Recorder(path, size=size, fps=fps, preset=LIVE_PRESET, overwrite=self.options.overwrite,
                                 audio=audio, gif=self.options.gif if is_gif(path) else None)
        if self.audio is not None:
            self.audio.sink = self.recorder.write_audio
        self.recording_since = time.monotonic()
        self.stats.recordings.append(path)
        self.say(f"recording to {path}")

    def _stop_recording(self) -> None:
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            try:
                recorder.close()  # raises the failure (one line naming what was kept) unless write() already did
            finally:
                if self.audio is not None:
                    self.audio.detach()
            if recorder.failed:  # write() raised it, and that ends the run: never "saved" for a failed file
                return
            self.stats.frames_recorded += recorder.frames_written
            self.say(f"saved {recorder.path} ({recorder.frames_written} frames)")

    def folder(self, kind: str) -> Path:
        """Where hotkey recordings (``kind`` "videos") or snapshots ("pictures") go: ``--output-dir`` or the
        platform's folder (`default_folder`)."""
        return self.options.output_dir if self.options.output_dir is not None else default_folder(kind)

    def _folder(self, kind: str) -> Path:
        """`folder`, made if it is the platform's default and missing (an explicit one is made at start)."""
        folder = self.folder(kind)
        if self.options.output_dir is None:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def snapshot(self) -> None:
        """Save the last shown frame as a PNG in the pictures folder (``-2``, ``-3``, ... if the name is taken)."""
        if self._last is None:
            return
        path = unique_path(self._folder("pictures") / f"camfilters-{datetime.now():%Y%m%d-%H%M%S}.png")
        try:
            ok = write_image(path, self._last)
        except OSError:
            ok = False
        if not ok:
            raise RecordingError(f"could not write snapshot {path}: {folder_problem(path.parent) or 'write failed'}")
        self.stats.snapshots.append(path)
        self.say(f"snapshot saved to {path}")

    def handle_key(self, key: int, size: tuple[int, int], fps: float, shift: bool = False) -> bool:
        """Act on one key of a ``size`` frame at ``fps``; False when it asks to quit (see `Controller.handle_key`)."""
        self._size, self._fps = size, fps
        return self.controller.handle_key(key, shift)

    def record_key(self) -> None:
        """Start (checking the frame size first) or stop recording."""
        if self.recorder is None:
            check_recordable(self._size)
        self.toggle_recording(self._size, self._fps)

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> LiveStats:
        """Run until quit, ``--max-frames``/``--duration``, or the source ends; always finalise files."""
        opts = self.options
        try:
            if opts.window:
                self.window = Window()
            warm_up(self, opts.size or (640, 360))  # before the source starts, which would drop frames meanwhile
            if self.window is not None and self.window.closed:  # closed while starting: quit, nothing to open
                self.stats.ended = EndReason.QUIT
                self.close()
                return self.stats
            if opts.audio is not None:  # before the source: a missing or busy microphone is one line
                from .audio import Microphone

                self.audio = Microphone(opts.audio)
            # a file records at its own times, unless a microphone records beside it, on the real clock
            source = open_source(opts.source, size=opts.size, fps=opts.fps, own_times=opts.audio is None)
        except BaseException:
            self.close()  # the window (and a face stage, a microphone) opened before the source
            raise
        self._source = source
        try:
            size, fps = source.size, source.fps or 30.0
            if self.audio is None:
                self.audio = _clip_audio(source)
            if opts.audio_denoise:
                if self.audio is None:
                    raise ParameterError("--audio-denoise: there is no sound to denoise; add --audio (the "
                                         "microphone) or use a video file source with sound")
                from .audio_denoise import switch

                switch(self.audio, True)
            log.debug("source: %s, %dx%d at %.1f fps", source.name, size[0], size[1], fps)
            if self.window is not None:
                self.window.resize(size)
            if opts.virtual_cam is not None:
                from .virtualcam import VirtualCamera

                self.vcam = VirtualCamera(size, fps, device=opts.virtual_cam or None,
                                          mirror=opts.virtual_cam_mirror)
            self._size, self._fps = size, fps
            if opts.record is not None:
                self.record_key()
            self._loop(size, fps)
        finally:
            source = self._source
            self.stats.dropped = source.dropped
            if self.stats.ended is None and source.ended is not None:
                self.stats.ended, self.stats.end_message = source.ended, source.end_message
            try:
                self.close()
            finally:
                source.close()
        return self.stats

    def _next_frame(self):
        """The next source frame; with ``--loop`` a file that ended starts again."""
        frame = self._source.read()
        if frame is None and self.options.loop and isinstance(self._source, FileSource) \
                and self._source.ended == EndReason.END_OF_FILE:
            opts, ended = self.options, self._source
            ended.close()
            self._source = open_source(opts.source, size=self._size, fps=opts.fps, own_times=opts.audio is None)
            self._source.continue_after(ended)  # paced on: a one-frame file does not spin
            log.debug("--loop: %s from the start", self._source.name)
            frame = self._source.read()
        return frame

    def _loop(self, size: tuple[int, int], fps: float) -> None:
        opts, stats, stage = self.options, self.stats, self.stats.stage_ms
        self._size = size
        start = last_status = time.monotonic()
        cpu_start = time.process_time()
        previous = None
        try:
            while True:
                if opts.max_frames is not None and stats.frames >= opts.max_frames:
                    stats.ended = EndReason.MAX_FRAMES
                    break
                if opts.duration is not None and time.monotonic() - start >= opts.duration:
                    stats.ended = EndReason.DURATION
                    break
                asked = time.monotonic()
                frame = self._next_frame()
                if frame is None:
                    break
                arrived = time.monotonic()
                if self.audio is not None and not self.paused:
                    self.audio.frame_shown(frame)
                stage["capture_wait"].append((arrived - asked) * 1000.0)
                stage["frame_age"].append((arrived - frame.timestamp) * 1000.0)
                shown = self._process(frame.image, frame.timestamp)
                quit_asked = False
                if self.window is not None:
                    if self.window.closed:  # closed while filtering: imshow would open it again
                        stats.ended = EndReason.QUIT
                        break
                    shown_at = time.monotonic()
                    self.window.show(self._decorate(shown))
                    key = self.window.poll_key()  # paints the frame
                    stage["display"].append((time.monotonic() - shown_at) * 1000.0)
                    quit_asked = self.window.closed or not self._handle_input(key, size, fps)
                now = time.monotonic()
                stats.latencies_ms.append((now - frame.timestamp) * 1000.0)
                stats.frames += 1
                if previous is not None:
                    self._interval.add(now - previous)
                previous = now
                if quit_asked:
                    stats.ended = EndReason.QUIT
                    break
                if self.window is None and now - last_status >= STATUS_PERIOD_S:
                    self._print_status()
                    last_status = now
            self._hand_on_delayed()
        finally:
            stats.seconds = time.monotonic() - start
            stats.cpu_seconds = time.process_time() - cpu_start
        if self.window is None and sys.stderr.isatty():
            sys.stderr.write("\n")

    def _handle_input(self, key: int | None, size: tuple[int, int], fps: float) -> bool:
        """Act on the keys (those pressed while starting first) and mouse events since the last frame;
        False when one asks to quit."""
        keys, self._early_keys = self._early_keys + ([] if key is None else [key]), []
        shift = self.window.shift_held() if keys else False
        for event in self.window.poll_mouse():
            self.controller.handle_mouse(*event)
        return all(self.handle_key(k, size, fps, shift) for k in keys)

    def _print_status(self) -> None:
        """The status line on the terminal when there is no window: redrawn in place on a TTY, logged otherwise."""
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K" + self.status_text())
            sys.stderr.flush()
        else:
            log.debug("status: %s", self.status_text())

    def _process(self, image: np.ndarray, timestamp: float) -> np.ndarray:
        """Filter one frame (or repeat the frozen one while paused) and hand it to the outputs."""
        if self.paused and self._last is not None:
            return self.controller.grid.render(self._raw, timestamp) if self.controller.grid_open else self._last
        if self.mirror:
            if self._mirror_buf is None or self._mirror_buf.shape != image.shape:
                self._mirror_buf = np.empty_like(image)
            image = cv2.flip(image, 1, dst=self._mirror_buf)
        self._raw = image
        grid = self.controller.grid if self.controller.grid_open else None
        if grid is not None and self.recorder is None and self.vcam is None:
            return grid.render(image, timestamp)  # the chosen effect is not needed: nothing records or sends it
        started = time.monotonic()
        out = self.pipeline.process(image, timestamp)  # a stage that raises: StageFailed naming it
        filtered = time.monotonic()
        self.stats.stage_ms["chain"].append((filtered - started) * 1000.0)
        fresh = True
        if self.face is not None:  # with a privacy delay: an earlier frame, or (filling it) the same one again
            timestamp, fresh = self.face.shown
        if self.recorder is not None and fresh:
            self.recorder.write(out, timestamp)
        if self.vcam is not None and fresh:
            self.vcam.send(out)
        if self.recorder is not None or self.vcam is not None:
            self.stats.stage_ms["recording_handoff"].append((time.monotonic() - filtered) * 1000.0)
        self._last = out
        return grid.render(image, timestamp) if grid is not None else out

    @property
    def source_name(self) -> str:
        """The source's name ("demo", "camera 0", ...), "" before it opens."""
        return getattr(getattr(self, "_source", None), "name", "")

    def _hand_on_delayed(self) -> None:
        """Record and send the frames the privacy delay still holds at the end of the run."""
        for out, timestamp in self.face.drain() if self.face is not None else []:
            if self.recorder is not None:
                self.recorder.write(out, timestamp)
            if self.vcam is not None:
                self.vcam.send(out)

    @property
    def fps(self) -> float:
        return 1.0 / self._interval.value if self._interval.value else 0.0

    def status_text(self) -> str:
        """One line for the terminal: see `Controller.status_text`."""
        return self.controller.status_text()

    def _decorate(self, image: np.ndarray) -> np.ndarray:
        """The frame as shown in the window: letterboxed at the window's size, with status bar, toasts and help."""
        shown = self.window.canvas(image)
        self.controller.draw(shown)
        return shown

    def close(self) -> None:
        """Finalise the recording, then close the sound, virtual camera, face stage and window; idempotent.

        Each is closed even if one before it fails; a Ctrl-C or SIGTERM meanwhile is held until all are.
        """
        held = signals.deferred_interrupts(note=lambda: log.warning("finishing the files before stopping"))
        with held, contextlib.ExitStack() as stack:
            for part in (self.window, self.face, self.vcam, self.audio):  # closed in the reverse order
                if part is not None:
                    stack.callback(part.close)
            stack.callback(self._stop_recording)
