"""The privacy lenses' face search: where to look on each frame of a video, so that every face is found
within a bounded time at a bounded cost, and objects that look a little like faces are not taken for them.

Each `FaceDetector.detect` call runs the passes the README tells ("How faces are found"): the whole
frame, mirrored out past its edges, through the full-range model; one look from the centre of each
followed face not found strongly (short-range model on 2.5 face widths, full-range on 5 if that
misses); ``ceil(tiles / every)`` tiles of a copy ``analysis_size`` px wide on a rotating schedule,
changed tiles first, every tile at the first frame and the first of a new size (with ``eager``, live,
one changed tile more); and a new face under ``sure`` (a followed one under ``strong``) counts (``confirmed``)
only once a second look from its centre agrees: the short-range model at ``confirm`` or more, or the
full-range (the model that found it, so a surer score) at ``sure``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import cv2
import numpy as np

from .blazeface import BlazeFace
from .detect import (
    BUNDLED_CONFIRMER,
    Box,
    Detection,
    centred_square,
    clamp_pads,
    mirror_pad,
    mostly_inside,
    nms,
    rescale,
    tile_grid,
    tile_pad,
)

FULL, SHORT = 0, 1  # which model a job runs on
INPUT = {FULL: 192, SHORT: 128}  # the models' input sides (px)
SHORT_REACH, FULL_REACH = 2.5, 5.0  # a look's square, in face widths
BIG = 0.1  # share of the frame's width from which a face found by the whole-frame pass needs no look
Job = tuple[int, np.ndarray, tuple[float, float], float]  # (model, RGB image, origin, scale) -> frame px


class FaceDetector:
    """Every face of the successive ``(H, W, 3) uint8 BGR`` frames of a video (see the module docstring).

    ``analysis_size``: width (px) of the copy the tiles are cut from (never upscaled); ``tile``: the tile
    side (px) in that copy; ``min_score``: the lowest full-range score kept; ``strong``: the score from
    which a detection of a followed face counts without a second look, ``sure``: that of a new face;
    ``confirm``: the short-range score that confirms a candidate; ``every``: frames between two searches of
    any one tile; ``change_level``: grey levels by which a 1/8-size thumbnail pixel must change for its
    tile to count as changed (sensor noise averages out); ``edge``: how far (share of the frame) the
    whole-frame pass sees past each edge; ``threads``: model pairs sharing a frame's jobs (LiteRT releases
    the GIL); ``eager``: a changed tile on top of the share (see the module docstring). After each call,
    ``searched`` is the number of tiles searched, ``looks`` the looks from a face's centre, ``calls`` all model calls.
    """

    def __init__(self, model_path: str, *, confirm_model: str | None = None, analysis_size: int = 960,
                 tile: int = 192, min_score: float = 0.6, strong: float = 0.75, sure: float = 0.85, confirm: float = 0.75,
                 every: int = 15, change_level: float = 8.0, edge: float = 0.1, threads: int = 1,
                 eager: bool = False) -> None:
        self.analysis_size = analysis_size
        self.tile = tile
        self.min_score = min_score
        self.strong = max(strong, min_score)
        self.sure = max(sure, self.strong)
        self.confirm = confirm
        self.every = max(1, every)
        self.change_level = change_level
        self.edge = edge
        self.eager = eager
        self._models: list[tuple[BlazeFace, BlazeFace]] = []
        try:
            for _ in range(max(1, threads)):
                full = BlazeFace(model_path, min_score=0.5 * min_score)
                try:
                    short = BlazeFace(str(confirm_model or BUNDLED_CONFIRMER), min_score=0.5 * confirm)
                except BaseException:
                    full.close()
                    raise
                self._models.append((full, short))
        except BaseException:
            self.close()
            raise
        self._pool = ThreadPoolExecutor(len(self._models) - 1) if len(self._models) > 1 else None
        self._searched: dict[tuple[int, int, int], tuple[int, np.ndarray]] = {}  # tile: (frame, thumbnail then)
        self._size: tuple[int, int] | None = None
        self._frame = 0
        self.searched = self.looks = self.calls = 0

    def __repr__(self) -> str:
        return (f"FaceDetector(analysis_size={self.analysis_size}, tile={self.tile}, min_score={self.min_score}, "
                f"strong={self.strong}, every={self.every}, threads={len(self._models)})")

    def reset(self) -> None:
        """Forget the previous frames: the next call searches every tile."""
        self._searched = {}

    def detect(self, image: np.ndarray, looks: Sequence[Box] = (), known: Sequence[Box] = ()) -> list[Detection]:
        """The faces and candidates of ``image`` ((H, W, 3) uint8 BGR), frame px, best first.

        ``looks``: boxes (x, y, w, h px) of the faces followed, where they are expected now: each gets a
        look from its centre. ``known``: every box followed, looked at or not; a weak detection on one
        of them gets no look of its own (it is that face).
        """
        h, w = image.shape[:2]
        if self._size != (w, h):
            self.reset()
        self._size = (w, h)
        self._frame += 1
        self.calls = 0
        s, rgb = self._small(image)
        size = rgb.shape[1], rgb.shape[0]
        jobs = [self._whole_frame(rgb)] + self._tiles(rgb, [_grown(b, 1.5) for b in known] if known else [], s)
        passes = [[rescale(d, w / size[0], h / size[1]) for d in faces if mostly_inside(d.box, size)]
                  for faces in self._run(jobs)]
        found = nms([d for faces in passes for d in faces])
        # A new face (on no followed box) under ``sure`` gets a look; under ``strong`` it is dropped if that misses,
        # from ``strong`` up it stays a candidate (a mission badge scored 0.77 once; real faces 0.76-0.97).
        weak = [d for d in found if d.score < self.sure and not any(_centre_in(d.box, b) for b in known)]
        doubted = {id(d) for d in weak}
        # A followed face keeps one source for its box, its look, unless it is big (a tenth of the frame wide or
        # more) and the whole-frame pass (every frame) finds it strongly: the tiles come and go with the rotation,
        # the whole-frame pass finds a small face only now and then, and their boxes differ from a look's by up
        # to a sixth, which a framing lens would show as jitter.
        big = [d for d in passes[0] if d.score >= self.strong and d.box[2] >= BIG * w]
        targets = [b for b in looks if not any(_centre_in(d.box, b) and _alike(d.box, b) for d in big)]
        targets += [d.box for d in weak]
        seen = self._look(image, rgb, s, targets)
        self.looks = len(targets)
        hits = [b for b, d in zip(targets, seen) if d is not None]
        out = [d for d in found if not any(_centre_in(d.box, b) for b in hits)
               and (d.score >= self.strong or not any(_centre_in(d.box, b) for b in targets))]
        out = [d if d.score >= self.strong and id(d) not in doubted
               else Detection(d.box, d.score, d.keypoints, confirmed=False) for d in out]
        out += [d for d in seen if d is not None]
        out = nms([d for d in out if d.score >= self.min_score], key=lambda d: (d.confirmed, d.score))
        return sorted(out, key=lambda d: d.score, reverse=True)

    def find(self, image: np.ndarray, targets: Sequence[Box]) -> list[Detection | None]:
        """For each target box (x, y, w, h px), the face found in ``image`` ((H, W, 3) uint8 BGR) looking from
        its centre, or None: a look alone, as for a followed face, which changes no schedule."""
        s, rgb = self._small(image)
        return self._look(image, rgb, s, list(targets))

    def _small(self, image: np.ndarray) -> tuple[float, np.ndarray]:
        """(scale, the RGB copy of ``image`` at most ``analysis_size`` px wide)."""
        h, w = image.shape[:2]
        s = min(1.0, self.analysis_size / w)
        # INTER_AREA costs 4x as much at 0.75x (720p) and finds the same faces; 2x (1080p) is exact anyway.
        small = image if s == 1.0 else cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                                                   interpolation=cv2.INTER_LINEAR if s > 0.5 else cv2.INTER_AREA)
        return s, cv2.cvtColor(small, cv2.COLOR_BGR2RGB)

    def _whole_frame(self, rgb: np.ndarray) -> Job:
        """The whole frame, mirrored out to a square (the model letterboxes to one anyway) and by ``edge``
        past the shorter side's ends, scaled to the model's input (cheaper here than in MediaPipe)."""
        sh, sw = rgb.shape[:2]
        px, py = round(self.edge * sw), round(self.edge * sh)
        px, py = clamp_pads(max(px, (sh + 2 * py - sw) // 2), max(py, (sw + 2 * px - sh) // 2), sw, sh)
        k = min(1.0, INPUT[FULL] / max(sw + 2 * px, sh + 2 * py))
        if k < 1.0:
            rgb = cv2.resize(rgb, (max(1, round(sw * k)), max(1, round(sh * k))), interpolation=cv2.INTER_AREA)
        px, py = clamp_pads(round(px * k), round(py * k), rgb.shape[1], rgb.shape[0])
        return FULL, mirror_pad(rgb, px, py), (-px / k, -py / k), 1.0 / k

    def _tiles(self, rgb: np.ndarray, heads: list[Box], s: float) -> list[Job]:
        """This frame's tile jobs (see the module docstring); ``heads``: boxes (frame px) whose change
        does not count."""
        sh, sw = rgb.shape[:2]
        tx, ty = clamp_pads(tile_pad(sw, self.tile), tile_pad(sh, self.tile), sw, sh)
        padded = mirror_pad(rgb, tx, ty)
        tiles = tile_grid(padded.shape[1::-1], self.tile)
        if len(tiles) <= 1:
            self.searched = 0
            return []
        thumb = cv2.resize(cv2.cvtColor(padded, cv2.COLOR_RGB2GRAY), None, fx=1 / 8, fy=1 / 8,
                           interpolation=cv2.INTER_AREA).astype(np.int16)
        free = np.ones(thumb.shape, bool)  # thumbnail pixels away from the followed heads
        for x, y, bw, bh in heads:
            x0, y0 = int((x * s + tx) / 8), int((y * s + ty) / 8)
            free[max(0, y0):max(0, int(y0 + bh * s / 8) + 1), max(0, x0):max(0, int(x0 + bw * s / 8) + 1)] = False
        due, changed, rest = [], [], []
        for key in tiles:
            x, y, side = key
            view = (slice(y // 8, (y + side) // 8), slice(x // 8, (x + side) // 8))
            last = self._searched.get(key)
            if last is None or self._frame - last[0] >= self.every:
                due.append((last[0] if last else -1, key, view))
            elif (np.abs(thumb[view] - last[1]) * free[view] > self.change_level).any():
                changed.append((last[0], key, view))
            else:
                rest.append((last[0], key, view))
        # The due ones, then the share filled with the changed ones first (oldest first), then the rest: no tile
        # waits more than ``every`` frames, and a moving camera, where every tile changes, costs the share. A change
        # is searched even when due tiles fill the share, and at once (one more on top) when ``eager``.
        share = math.ceil(len(tiles) / self.every)
        chosen = sorted(due) + sorted(changed)[:max(1, share - len(due)) + self.eager]
        chosen += sorted(rest)[:max(0, share - len(chosen))]
        for _, key, view in chosen:
            self._searched[key] = (self._frame, thumb[view].copy())
        self.searched = len(chosen)
        return [(FULL, padded[y:y + side, x:x + side], (x - tx, y - ty), 1.0) for _, (x, y, side), _ in chosen]

    def _look(self, image: np.ndarray, rgb: np.ndarray, s: float, targets: list[Box]) -> list[Detection | None]:
        """For each target box (frame px), the face found looking from its centre, or None: the short-range
        model first; where it does not confirm, the full-range one on a wider square."""
        seen = self._looks(image, rgb, s, targets, SHORT)
        again = [i for i, d in enumerate(seen) if d is None or d.score < self.confirm]
        wide = dict(zip(again, self._looks(image, rgb, s, [targets[i] for i in again], FULL)))
        out: list[Detection | None] = []
        for i, d in enumerate(seen):
            if i in wide:  # the short-range model did not confirm: the full-range one decides
                d = wide[i] if wide[i] is not None and wide[i].score >= self.min_score else None
            if d is not None:
                d = Detection(d.box, d.score, d.keypoints, confirmed=i not in wide or d.score >= self.sure)
            out.append(d)
        return out

    def _looks(self, image: np.ndarray, rgb: np.ndarray, s: float, targets: list[Box],
               model: int) -> list[Detection | None]:
        """One look with ``model`` at each target: the best detection whose centre lies on the target's box
        and whose width is half to twice its width, or None. A square is cut from the analysis copy when
        that has the model's input size in it, else from the full-resolution ``image``."""
        side_in, reach = INPUT[model], (SHORT_REACH if model == SHORT else FULL_REACH)
        jobs: list[Job] = []
        for x, y, bw, bh in targets:
            side = max(reach * bw, side_in / 4)
            src, k = (rgb, s) if side * s >= side_in else (image, 1.0)
            crop, (ox, oy) = centred_square(src, ((x + bw / 2) * k, (y + bh / 2) * k), round(side * k))
            n = crop.shape[0]
            crop = cv2.resize(crop, (side_in, side_in), interpolation=cv2.INTER_AREA if n > side_in else cv2.INTER_LINEAR)
            if src is image:
                crop = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
            jobs.append((model, crop, (ox / k, oy / k), n / side_in / k))
        # A square past the frame's edge is mirrored: a face half out shows its mirror image beside it, which moves
        # the other way. The face itself is the one whose centre is in the frame; one more than a quarter out is
        # the mirror image (as `mostly_inside` rules for the passes), which a followed face must never follow out.
        frame = (image.shape[1], image.shape[0])
        return [max((d for d in faces if _centre_in(d.box, target) and _alike(d.box, target)
                     and mostly_inside(d.box, frame)),
                    key=lambda d: (_centre_in(d.box, (0, 0, *frame)), d.score), default=None)
                for target, faces in zip(targets, self._run(jobs))]

    def _run(self, jobs: list[Job]) -> list[list[Detection]]:
        """The faces of each job (frame px), the jobs shared out among the model pairs: the first pair in
        this thread, the others in the pool."""
        n = min(len(self._models), len(jobs))  # a job or none: no hand-off to the pool
        run = lambda k: [(i, self._models[k][model].detect(image, origin, scale))  # noqa: E731
                         for i, (model, image, origin, scale) in enumerate(jobs) if i % n == k]
        if n == 0:
            return []
        others = [self._pool.submit(run, k) for k in range(1, n)] if self._pool is not None else []
        results = run(0) + [pair for future in others for pair in future.result()]
        self.calls += len(jobs)
        return [faces for _, faces in sorted(results, key=lambda pair: pair[0])]

    def close(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown()
            self._pool = None
        for pair in self._models:
            for model in pair:
                model.close()
        self._models = []


def _centre_in(box: Box, target: Box) -> bool:
    """Whether the centre of ``box`` lies on ``target`` (both x, y, w, h)."""
    x, y, w, h = target
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return x <= cx <= x + w and y <= cy <= y + h


def _alike(box: Box, target: Box) -> bool:
    """Whether ``box`` is half to twice as wide as ``target``: the same face, not one inside another."""
    return 0.5 <= box[2] / max(target[2], 1.0) <= 2.0


def _grown(box: Box, factor: float) -> Box:
    x, y, w, h = box
    return x - (factor - 1) * w / 2, y - (factor - 1) * h / 2, factor * w, factor * h
