"""What the keys and the mouse do in the window, and what the status bar and help panel say.

Each hotkey of `hotkeys.TABLE` names its action, a method here called with the character.
The mouse: a click on the status bar's filter or lens opens the effects grid (`grid`) at
that page, a click on a pane picks it, the wheel steps the main option (`tuning`). Every
action and failure is said once through the session's ``say``: logged and shown as a toast.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import cv2

from . import overlay
from .audio_denoise import is_on
from .display import DOWN, ESC, LEFT, PAGE_DOWN, PAGE_UP, RIGHT, UP, wheel_delta
from .errors import CamfiltersError
from .grid import Effect, Grid, pane_at
from .hotkeys import HOTKEYS, TABLE
from .pipeline import FilterStage, stage_from_spec
from .tuning import main_option, stepped

if TYPE_CHECKING:
    from .live import LiveSession

log = logging.getLogger(__name__)

_PAGE_KEYS = {LEFT: -1, UP: -1, PAGE_UP: -1, RIGHT: 1, DOWN: 1, PAGE_DOWN: 1}


def preset_name(filters: list[str], lenses: list[str], taken: Any) -> str:
    """A preset name saying what it holds (``cartoon+glasses``), ``-2``, ``-3``, ... when ``taken`` has it.

    >>> preset_name(["cartoon:levels=4"], ["glasses"], {"cartoon+glasses"})
    'cartoon+glasses-2'
    """
    parts = [re.sub(r"[^A-Za-z0-9_-]", "", spec.split(":")[0]) for spec in [*filters, *lenses]]
    base = "+".join(p for p in parts if p)[:56] or "plain"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _rows(key: str, names: list[str], per_row: int = 5) -> list[tuple[str, str]]:
    """(key, names) help rows, ``per_row`` names to a row, so the panel stays narrow."""
    chunks = [", ".join(names[i:i + per_row]) for i in range(0, len(names), per_row)]
    return [(key if i == 0 else "", chunk) for i, chunk in enumerate(chunks)]


class Controller:
    """The hotkey actions, the mouse, the effects grid and the status / help text of a `LiveSession`."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.grid: Grid | None = None
        self._status_items: dict[str, tuple[int, int, int, int]] = {}
        self._by_char = {char: hotkey for hotkey in TABLE for char in hotkey.chars}

    @property
    def grid_open(self) -> bool:
        return self.grid is not None and self.grid.is_open

    # -- input ----------------------------------------------------------------------------
    def handle_key(self, key: int, shift: bool = False) -> bool:
        """Act on one key (``shift``: Shift was held); False when it asks to quit. Failures are said, never raised."""
        if self.grid_open and key in (ESC, ord("g")):
            self.grid.is_open = False
            log.info("grid closed")
            return True
        if self.grid_open and key in _PAGE_KEYS:
            self._turn(_PAGE_KEYS[key])
            return True
        char = chr(key) if key < 256 else ""
        if char == "f" and shift:
            char = "F"
        hotkey = self._by_char.get(char)
        if hotkey is None:
            return True
        if hotkey.action == "quit":
            return False
        try:
            getattr(self, hotkey.action)(char)
        except (CamfiltersError, OSError) as exc:
            self.session.say(f"error: {exc}; the session goes on", error=True)
        return True

    def handle_mouse(self, event: int, x: int, y: int, flags: int) -> None:
        """Act on one mouse event at window pixel (x, y) (see `display.Window.poll_mouse`)."""
        try:
            if event == cv2.EVENT_MOUSEWHEEL:
                step = 1 if wheel_delta(flags) > 0 else -1
                self._turn(-step) if self.grid_open else self._tune(step)
            elif event == cv2.EVENT_LBUTTONDOWN and self.grid_open:
                index = pane_at(x, y, self.session.window.picture)
                if index is not None:
                    self._apply(self.grid.pick(index))
            elif event == cv2.EVENT_LBUTTONDOWN:
                for kind, (x0, y0, x1, y1) in self._status_items.items():
                    if x0 <= x < x1 and y0 <= y < y1:
                        self._open_grid("lens" if kind == "lens" else "filter")
        except (CamfiltersError, OSError) as exc:
            self.session.say(f"error: {exc}; the session goes on", error=True)

    # -- hotkey actions (see hotkeys.TABLE) -----------------------------------------------
    def pick(self, char: str) -> None:
        if self.grid_open:
            effect = self.grid.pick(int(char) - 1)
            if effect is not None:
                self._apply(effect)
        else:
            self.session.select(int(char) - 1)

    def step_filter(self, char: str) -> None:
        self.session.select(self.session.palette.index + (1 if char == "n" else -1))

    def toggle_grid(self, _char: str) -> None:
        self._open_grid(None)

    def next_lens(self, _char: str) -> None:
        """The next lens alone (via none); the first press loads the face stage (if installed).

        Without a filter chain (identity), lenses that only place the chain (face-only, bg-only)
        would show nothing and are skipped. A face stage that cannot load is tried once; later
        presses repeat why.
        """
        face = self._face(full=False)
        if face is None:
            return
        for _ in range(len(face.modes)):
            name = face.next_lens()
            if not (self._plain() and any(lens.needs_inner for lens in face.lenses)):
                break
        self.session.say(f"lens: {name}")

    def add_lens(self, _char: str) -> None:
        """Add the next lens (in `lens_cycle` order, after the last one on) to the lenses on."""
        face = self._face(full=True)
        if face is None:
            return
        names = self.lens_cycle()
        on = [lens.name for lens in face.lenses]
        after = max((names.index(n) for n in on if n in names), default=-1)
        following = [n for n in names[after + 1:] + names[:after + 1] if n not in on]
        if not following:
            self.session.say(f"lens: {face.name} (every lens is on)")
            return
        lens = next(m[0] for m in face.modes if len(m) == 1 and m[0].name == following[0])
        self.session.say(f"lens: {face.set_lenses((*face.lenses, lens))}")

    def tune(self, char: str) -> None:
        self._tune(1 if char == "]" else -1)

    def pause(self, _char: str) -> None:
        s = self.session
        s.paused = not s.paused
        s.say("paused" if s.paused else "resumed")

    def mirror(self, _char: str) -> None:
        s = self.session
        s.mirror = not s.mirror
        s.say(f"mirror {'on' if s.mirror else 'off'}")

    def record(self, _char: str) -> None:
        self.session.record_key()

    def snapshot(self, _char: str) -> None:
        self.session.snapshot()

    def vcam(self, _char: str) -> None:
        s = self.session
        if s.vcam is None:
            s.say("no virtual camera: start with --virtual-cam to send to one", error=True)
        else:
            s.say(f"virtual camera {'paused' if s.vcam.toggle_pause() else 'sending'}")

    def audio_denoise(self, _char: str) -> None:
        from .audio_denoise import switch

        s = self.session
        if s.audio is None:
            s.say("no sound to denoise: start with --audio (the microphone) or a video file with sound", error=True)
        else:
            s.say(f"sound denoising {'on' if switch(s.audio) else 'off'}")

    def save_preset(self, _char: str) -> None:
        """Save what is on screen now (chain with tuned options, lenses, mirror, sound denoising, source, size,
        fps, message time, folder, virtual camera) as a preset named after its filters and lenses."""
        from .presets import list_presets, save_preset, settings_from

        s = self.session
        settings = settings_from(dataclasses.replace(
            s.options, filters=[st.name for st in s.chain.stages if st.name != "identity"],
            lenses=[lens.spec for lens in s.face.lenses] if s.face is not None else [], mirror=s.mirror,
            audio_denoise=is_on(s.audio)))
        name = preset_name(settings["filters"], settings.get("lenses", []), list_presets())
        path = save_preset(name, settings)
        s.say(f"preset {name} saved to {path} (camfilters run --preset {name})")

    def status_bar(self, _char: str) -> None:
        s = self.session
        s.show_status = not s.show_status
        s.say(f"status bar {'on' if s.show_status else 'off'}")

    def help(self, _char: str) -> None:
        s = self.session
        s.show_help = not s.show_help
        log.info("help %s", "on" if s.show_help else "off")  # the panel itself is the feedback

    # -- lenses, tuning and the grid ------------------------------------------------------
    def _plain(self) -> bool:
        return all(st.name == "identity" for st in self.session.chain.stages)

    def _face(self, *, full: bool) -> Any:
        """The face stage, loaded on first use; ``full``: one that can draw every lens (rebuilt if it was
        started with only the --lens ones). None (said) when it cannot load."""
        s = self.session
        if (s.face is None or (full and not s.face_full)) and s.face_error is None:
            old = s.face
            try:
                s._enable_face([])
            except CamfiltersError as exc:
                s.face_error = str(exc)
            else:
                if old is not None:
                    s.face.set_lenses(old.lenses)
                    old.close()
        if s.face is None:
            s.say(f"no face lenses: {s.face_error}", error=True)
        return s.face

    def lens_cycle(self) -> list[str]:
        """The lenses ``f`` shows one at a time and ``F`` adds, in order (without a chain, not those placing it)."""
        from .face.lenses import LENSES

        try:
            from .face import available_lenses

            names = available_lenses()
        except Exception:  # noqa: BLE001 - no face extra
            return []
        return [n for n in names if not (self._plain() and LENSES.get_class(n).needs_inner)]

    def _tune(self, steps: int) -> None:
        """Step the main option of the last lens on that has one, else of the last filter that has one."""
        s = self.session
        lenses = list(s.face.lenses) if s.face is not None else []
        for i in reversed(range(len(lenses))):
            if main_option(lenses[i]) is not None:
                new = stepped(lenses[i], steps)
                if new is not None:
                    lenses[i] = new
                    s.face.set_lenses(tuple(lenses))
                self._say_tuned(lenses[i], new is None)
                return
        stages = s.chain.stages
        for i in reversed(range(len(stages))):
            flt = getattr(stages[i], "filter", None)
            if flt is not None and main_option(flt) is not None:
                new = stepped(flt, steps)
                if new is not None:
                    stages[i] = FilterStage(new)  # the palette's list too: the number key keeps the value
                self._say_tuned(new or flt, new is None)
                return
        s.say(f"{s.chain.name} has no strength to change")

    def _say_tuned(self, obj: Any, at_limit: bool) -> None:
        opt = main_option(obj)
        value = getattr(obj, opt.name)
        self.session.say(f"{obj.name} {opt.name} {value:g}" + (" (its limit)" if at_limit else ""))

    def _effects(self) -> list[Effect]:
        """Everything the grid pages through: the filter palette, the lenses, the saved presets."""
        s = self.session
        chain = tuple(st.name for st in s.chain.stages if st.name != "identity")
        effects = [Effect("filter", " > ".join(specs) or "none", tuple(specs), index=i)
                   for i, specs in enumerate(s.palette.specs())]
        if importlib.util.find_spec("mediapipe") is not None:
            effects += [Effect("lens", name, chain, (name,)) for name in self.lens_cycle()]
        try:
            from .presets import list_presets

            presets = list_presets()
        except CamfiltersError as exc:
            s.say(f"presets not shown: {exc}", error=True)
            presets = {}
        effects += [Effect("preset", name, tuple(p.get("filters", [])), tuple(p.get("lenses", [])))
                    for name, p in sorted(presets.items())]
        return effects

    def _open_grid(self, kind: str | None) -> None:
        if self.grid is None:
            from .face.lenses import parse_lens

            self.grid = Grid([], analyse=self._analyse, make_lens=parse_lens)
        self.grid.set_effects(self._effects())
        self.grid.open(kind)
        self.session.say(f"grid: {self.grid.title()} (arrows: pages, click or 1-9: pick, g: close)")

    def _turn(self, step: int) -> None:
        self.grid.turn(step)
        self.session.say(f"grid: {self.grid.title()}")

    def _analyse(self, image: Any, timestamp: float, lenses: list) -> Any:
        s = self.session
        if s.face_error is not None:
            return None
        face = self._face(full=True)
        return face.analyse_for(image, timestamp, lenses) if face is not None else None

    def _apply(self, effect: Effect) -> None:
        """Make ``effect`` (a grid pane) the one shown, recorded and sent."""
        s = self.session
        if effect.kind == "filter":
            s.select(effect.index)
            return
        if effect.kind == "preset":
            s.chain.stages = [stage_from_spec(spec) for spec in effect.filters] or s.palette.stages(0)
        if effect.lenses or (s.face is not None and s.face.lenses):
            from .face.lenses import parse_lens

            face = self._face(full=True)
            if face is not None:
                face.set_lenses(tuple(parse_lens(spec) for spec in effect.lenses))
        lens = s.face.name if s.face is not None else "none"
        s.say(f"{'preset ' + effect.name + ': ' if effect.kind == 'preset' else ''}filter: {s.chain.name}, lens: {lens}")

    # -- what the window says -------------------------------------------------------------
    def lens_label(self) -> str | None:
        """The lenses on, and the privacy delay while it holds frames back (None without a face stage)."""
        face = self.session.face
        if face is None:
            return None
        return f"{face.name} +{face.delay_ms:.0f} ms" if face.delay_ms else face.name

    def chain_label(self) -> str:
        """Each filter of the chain with its ms per frame, for the status bar and the terminal line."""
        s = self.session
        timings = dict(s.chain.timings_ms())
        return " > ".join(f"{st.name} {timings[st.name]:.1f} ms" if st.name in timings else st.name
                          for st in s.chain.stages) or "none"

    def lens_cost_label(self) -> str | None:
        """`lens_label` and the face analysis's cost per analysed frame (ms)."""
        label = self.lens_label()
        return None if label is None else f"{label} {self.session.face.cost_ms:.0f} ms"

    def status_text(self) -> str:
        """One line: each filter with its ms per frame, fps, lens cost, recording and virtual-camera state."""
        s = self.session
        parts = [self.chain_label(), f"{s.fps:.1f} fps"]
        if s.face is not None:
            parts.append(self.lens_cost_label())
        if s.vcam is not None:
            parts.append(f"vcam {s.vcam.device}{' (paused)' if s.vcam.paused else ''}")
        if s.recorder is not None:
            parts.append(f"REC {s.recorder.path.name}")
            if s.audio is not None:
                from .live import level_meter

                parts.append(f"audio {level_meter(s.audio.level)}")
        if is_on(s.audio):
            parts.append("DENOISE")
        if s.paused:
            parts.append("PAUSED")
        return " | ".join(parts)

    def draw(self, canvas: Any) -> None:
        """The status bar (or the grid's labels and hints), toasts and help over ``canvas``, the window's picture."""
        s = self.session
        if self.grid_open:
            self.grid.draw_labels(canvas, s.window.picture,
                                  s.face.name if s.face is not None and s.face.lenses else s.chain.name)
            overlay.draw_status(canvas, overlay.Status(
                chain=f"grid: {self.grid.title()}", fps=s.fps,
                extra=["click or 1-9: pick", "arrows: pages", "g / Esc: close"]))
        elif s.show_status:
            self._status_items = overlay.draw_status(canvas, overlay.Status(
                chain=self.chain_label(), fps=s.fps, lens=self.lens_cost_label(),
                recording=time.monotonic() - s.recording_since if s.recorder is not None else None,
                mirror=s.mirror, paused=s.paused, extra=["DENOISE", "h: help"] if is_on(s.audio) else ["h: help"],
                vcam=None if s.vcam is None else ("paused" if s.vcam.paused else "on")))
        else:
            self._status_items = {}
        _, py, _, ph = s.window.picture
        s.toasts.draw(canvas, top=py + round(ph * 0.12) if s.source_name == "demo" else 0)  # below its banner
        if s.show_help:
            overlay.draw_help(canvas, self.help_sections(),
                              bottom=overlay.status_height(canvas) if s.show_status or self.grid_open else 0)

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The help panel: the hotkeys, which number is which filter, the lens cycles, and the current state."""
        s = self.session
        specs = s.palette.specs()
        numbers = [(str(i + 1), " > ".join(entry) or "none") for i, entry in enumerate(specs[:9])]
        numbers += _rows("n / p", ["also"] + [" > ".join(e) for e in specs[9:]]) if specs[9:] else []
        cycle = self.lens_cycle()
        if cycle:
            lenses = _rows("f", [*cycle, "none"]) + [("F", "adds the next of these (not none) to those on")]
        else:
            lenses = [("f, F", 'pip install "camfilters[face]"')]
        state = [("filter", s.chain.name), ("lens", s.face.name if s.face is not None else "none"),
                 ("mirror", "on" if s.mirror else "off"),
                 ("recording", str(s.recorder.path) if s.recorder is not None else "off"),
                 ("virtual camera", "none" if s.vcam is None else ("paused" if s.vcam.paused else "on")),
                 ("sound denoising", "on" if is_on(s.audio) else "off"),
                 *_rows("recordings", [str(s.folder("videos").resolve())]),
                 *_rows("snapshots", [str(s.folder("pictures").resolve())])]
        return [("keys", list(HOTKEYS)), ("filters", numbers), ("lenses", lenses), ("now", state)]
