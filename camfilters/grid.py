"""The effects grid (``g``): the live picture through nine effects at once, 3x3, each pane labelled.

Pages hold the filters and looks, then the face lenses, then the saved presets, nine to a
page, each kind starting a page of its own. A pane is computed at pane size: the frame is
downscaled once, then each effect filters the small copy, so a page of filters costs about
one full-size filter; the panes run on one Numba thread (at pane size, waking the others
costs more than it gains: 10x slower on a loaded 2-core machine). Lenses share one face analysis of the full frame per page (faces and
person mask scaled to the pane), so a lens page is one analysis plus nine cheap draws.
The grid is only shown: the recording and the virtual camera get the chosen effect.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numba
import numpy as np

from . import overlay
from .pipeline import Pipeline, stage_from_spec

__all__ = ["COLS", "KINDS", "PER_PAGE", "ROWS", "Effect", "Grid", "build_pages", "pane_at", "pane_rects"]

log = logging.getLogger(__name__)

COLS = ROWS = 3
PER_PAGE = COLS * ROWS
#: The kinds of effect, in page order, with the title of their pages.
KINDS = {"filter": "filters and looks", "lens": "face lenses", "preset": "saved presets"}


@dataclass(frozen=True)
class Effect:
    """One pane's effect: a filter-palette entry (``index``), a lens spec, or a preset (filters and lenses)."""

    kind: str  # a key of KINDS
    name: str  # the pane's label
    filters: tuple[str, ...] = ()  # filter specs run on the pane, in order
    lenses: tuple[str, ...] = ()  # lens specs drawn on top
    index: int = 0  # the palette entry of a "filter" effect


def build_pages(effects: Sequence[Effect]) -> list[list[Effect]]:
    """``effects`` in pages of `PER_PAGE`, in `KINDS` order, each kind starting a new page.

    >>> pages = build_pages([Effect("filter", str(i)) for i in range(10)] + [Effect("lens", "mesh")])
    >>> [len(page) for page in pages], pages[2][0].kind
    ([9, 1, 1], 'lens')
    """
    pages: list[list[Effect]] = []
    for kind in KINDS:
        of_kind = [e for e in effects if e.kind == kind]
        pages += [of_kind[i:i + PER_PAGE] for i in range(0, len(of_kind), PER_PAGE)]
    return pages


def pane_rects(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The (x, y, w, h) of the 3x3 panes tiling a ``width`` x ``height`` picture, row by row, edges shared.

    >>> pane_rects(9, 6)[:4]
    [(0, 0, 3, 2), (3, 0, 3, 2), (6, 0, 3, 2), (0, 2, 3, 2)]
    """
    xs = [round(width * c / COLS) for c in range(COLS + 1)]
    ys = [round(height * r / ROWS) for r in range(ROWS + 1)]
    return [(xs[c], ys[r], xs[c + 1] - xs[c], ys[r + 1] - ys[r]) for r in range(ROWS) for c in range(COLS)]


def pane_at(x: int, y: int, picture: tuple[int, int, int, int]) -> int | None:
    """The index (0-8) of the pane at window pixel (x, y) when the grid fills ``picture`` (x, y, w, h), or None.

    >>> pane_at(50, 10, (0, 0, 90, 60)), pane_at(89, 59, (0, 0, 90, 60)), pane_at(5, 5, (10, 0, 90, 60))
    (1, 8, None)
    """
    px, py, pw, ph = picture
    for i, (x0, y0, w, h) in enumerate(pane_rects(pw, ph)):
        if x0 <= x - px < x0 + w and y0 <= y - py < y0 + h:
            return i
    return None


def scale_analysis(analysis: Any, sx: float, sy: float, size: tuple[int, int]) -> tuple[list, np.ndarray | None]:
    """(faces, person mask) of a full-frame face ``analysis`` scaled to a picture of ``size`` (w, h)."""
    faces = []
    for face in analysis.faces:
        x, y, w, h = face.box
        landmarks = None
        if face.landmarks is not None:
            landmarks = face.landmarks * np.array([sx, sy, sx], np.float32)
        faces.append(dataclasses.replace(face, box=(x * sx, y * sy, w * sx, h * sy), landmarks=landmarks))
    person = None
    if analysis.person is not None:
        person = cv2.resize(analysis.person, size, interpolation=cv2.INTER_AREA)
    return faces, person


class Grid:
    """The grid's state (open, page) and its drawing.

    ``analyse(image, timestamp, lenses)`` gives the face analysis of the full frame for
    ``lenses`` (None without the face extra); ``make_lens(spec)`` builds a lens.
    """

    def __init__(self, effects: Sequence[Effect], *, analyse: Callable[..., Any] | None = None,
                 make_lens: Callable[[str], Any] | None = None) -> None:
        self.pages = build_pages(effects) or [[]]
        self.page = 0
        self.is_open = False
        self._analyse = analyse
        self._make_lens = make_lens
        self._stages: dict[Effect, Pipeline] = {}
        self._lenses: dict[Effect, list] = {}
        self._small: np.ndarray | None = None
        self._work: np.ndarray | None = None
        self._failed: set[Effect] = set()
        self._out: np.ndarray | None = None

    def set_effects(self, effects: Sequence[Effect]) -> None:
        """Page through ``effects`` from now on (staying on the same page number where it still exists)."""
        self.pages = build_pages(effects) or [[]]
        self.page = min(self.page, len(self.pages) - 1)

    @property
    def effects(self) -> list[Effect]:
        """The panes of the page shown."""
        return self.pages[self.page]

    def title(self) -> str:
        """What the page holds, e.g. "filters and looks 1/2"."""
        kind = self.effects[0].kind if self.effects else "filter"
        same = [i for i, page in enumerate(self.pages) if page and page[0].kind == kind]
        where = f" {same.index(self.page) + 1}/{len(same)}" if len(same) > 1 else ""
        return f"{KINDS[kind]}{where}"

    def open(self, kind: str | None = None) -> None:
        """Show the grid, at the first page of ``kind`` when given."""
        if kind is not None:
            self.page = next((i for i, page in enumerate(self.pages) if page and page[0].kind == kind), self.page)
        self.is_open = True

    def turn(self, step: int) -> None:
        """Go ``step`` pages on (negative: back), wrapping around."""
        self.page = (self.page + step) % len(self.pages)

    def pick(self, index: int) -> Effect | None:
        """The effect of pane ``index`` (0-8) on this page, or None for an empty pane; closes the grid."""
        if not 0 <= index < len(self.effects):
            return None
        self.is_open = False
        return self.effects[index]

    def render(self, frame: np.ndarray, timestamp: float) -> np.ndarray:
        """The page's nine panes of ``frame`` ((H, W, 3) uint8 BGR), about frame-sized, in a reused buffer."""
        h, w = frame.shape[:2]
        pw, ph = max(1, w // COLS), max(1, h // ROWS)
        if self._out is None or self._out.shape[:2] != (ph * ROWS, pw * COLS):
            self._out = np.zeros((ph * ROWS, pw * COLS, 3), np.uint8)
            self._small = np.empty((ph, pw, 3), np.uint8)
        small = cv2.resize(frame, (pw, ph), dst=self._small, interpolation=cv2.INTER_AREA)
        lenses = {e: self._lenses_of(e) for e in self.effects}
        scene_parts = None
        wanted = [lens for group in lenses.values() for lens in group]
        if wanted and self._analyse is not None:
            analysis = self._analyse(frame, timestamp, wanted)
            if analysis is not None:
                scene_parts = scale_analysis(analysis, pw / w, ph / h, (pw, ph))
        self._out[...] = 0
        threads = numba.get_num_threads()
        numba.set_num_threads(1)  # this thread's launches only
        try:
            self._draw_panes(small, timestamp, lenses, scene_parts)
        finally:
            numba.set_num_threads(threads)
        return self._out

    def _draw_panes(self, small: np.ndarray, timestamp: float, lenses: dict, scene_parts: tuple | None) -> None:
        ph, pw = small.shape[:2]
        for (x, y, _, _), effect in zip(pane_rects(pw * COLS, ph * ROWS), self.effects):
            chain = self._chain_of(effect)
            placed = any(lens.needs_inner for lens in lenses[effect])  # the lens places the chain itself
            pane = chain.process(small, timestamp) if chain.stages and not placed else small
            if lenses[effect] and scene_parts is not None:
                from .face.scene import Scene

                work = self._work = pane.copy() if self._work is None or self._work.shape != pane.shape else self._work
                work[...] = pane  # lenses draw in place, on a C-contiguous frame
                scene = Scene(scene_parts[0], scene_parts[1], timestamp, chain)
                try:
                    for lens in lenses[effect]:
                        lens.apply(work, scene)
                except Exception:  # noqa: BLE001 - one pane's lens never ends the session
                    if effect not in self._failed:
                        self._failed.add(effect)
                        log.exception("grid: lens %s failed; its pane shows the picture without it", effect.name)
                pane = work
            self._out[y:y + ph, x:x + pw] = pane

    def _chain_of(self, effect: Effect) -> Pipeline:
        if effect not in self._stages:
            self._stages[effect] = Pipeline([stage_from_spec(spec) for spec in effect.filters])
        return self._stages[effect]

    def _lenses_of(self, effect: Effect) -> list:
        if effect not in self._lenses:
            made = [self._make_lens(spec) for spec in effect.lenses] if self._make_lens is not None else []
            if made:
                from .face.lenses import drawing_order

                made = drawing_order(made)
            self._lenses[effect] = made
        return self._lenses[effect]

    def draw_labels(self, canvas: np.ndarray, picture: tuple[int, int, int, int], chosen: str | None) -> None:
        """Label each pane of the grid shown at ``picture`` (x, y, w, h) on ``canvas`` with its digit and name;
        outline the pane whose name is ``chosen``."""
        px, py, pw, ph = picture
        size = overlay.text_px(canvas, 40.0)
        pad = max(2, size // 3)
        for i, ((x, y, w, h), effect) in enumerate(zip(pane_rects(pw, ph), self.effects)):
            x, y = x + px, y + py
            text = overlay.fit_text(f"{i + 1} {effect.name}", size, w - 2 * pad)
            tw, th = overlay.text_size(text, size)
            overlay.shade(canvas, x, y, x + tw + 2 * pad, y + th + 2 * pad, 0.7)
            overlay.put_text(canvas, text, x + pad, y + pad, size, overlay.WHITE)
            if effect.name == chosen:
                cv2.rectangle(canvas, (x + 1, y + 1), (x + w - 2, y + h - 2), overlay.GREEN, max(2, size // 6))
        for c in range(1, COLS):  # thin black lines between the panes
            cv2.line(canvas, (px + round(pw * c / COLS), py), (px + round(pw * c / COLS), py + ph - 1), (0, 0, 0), 1)
        for r in range(1, ROWS):
            cv2.line(canvas, (px, py + round(ph * r / ROWS)), (px + pw - 1, py + round(ph * r / ROWS)), (0, 0, 0), 1)
