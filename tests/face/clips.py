"""Multi-face test clips composited from real photos, with ground truth, and the coverage metric.

A clip is a real background photo (``coffee.png`` scaled to the frame) on which the astronaut's head from ``astronaut.png`` is
pasted several times, each at its own scale (face width from 2 % to 30 % of the frame
width), moving along a straight line, entering and leaving; the cat of ``chelsea.png`` sits
in front, clear of the faces, and must stay untouched. The face boxes are known
exactly for every frame (``Clip.truth``). Nothing here uses camfilters: it is the
independent reference for the privacy tests and ``benchmarks/deface_compare.py``.

    clip = build_clip(tmp_path / "in.mp4", DEFAULT_TRACKS)
    report = coverage(clip, tmp_path / "out.mp4")   # after a tool anonymised in.mp4 to out.mp4
    report.recall                                   # covered face-frames / face-frames

The metric, per face-frame (a face with at least half of its box inside the frame): the
centre region is the central 60 % of the face box (width and height). The face is
*covered* when, in that region, the output differs from the input clip (both decoded) by a
mean of at least `MIN_CHANGE` levels AND the face's fine detail is gone: the correlation of
the high-pass filtered (grey minus Gaussian of sigma = face width / 20) input and output is
at most `MAX_DETAIL_CORR`. A blur, pixelation or solid fill passes both; re-encoding, a
faint blur or a shifted copy of the face does not.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from helpers import MODELS, load_photo  # noqa: E402,F401  (MODELS: for the tests importing it from here)
from helpers import decode_frames as decode  # noqa: E402
from media import AUDIO_RATE, tone  # noqa: E402  (the app tests' helpers: one copy of the test tone)

ASTRONAUT_FACE = (177, 82, 95, 95)  # FaceDetector's box (x, y, w, h) in astronaut.png, shared/README.md
# The pasted head: the face box grown to hair, ears and chin, in astronaut.png pixels.
HEAD = (112, 0, 225, 235)  # (x, y, w, h)
MIN_CHANGE = 8.0  # levels (0..255), mean over the centre region
MAX_DETAIL_CORR = 0.5
CENTRE = 0.6  # the centre region's share of the face box's width and height
FALSE_LEVEL = 12.0  # levels of mean change in an 8x8 block that count it as changed (`false_area`)

Box = tuple[float, float, float, float]  # (x, y, w, h) in frame pixels


@dataclass(frozen=True)
class Track:
    """One pasted face: its size and straight path; positions are face-box centres in frame fractions.

    ``width`` is the face box width as a fraction of the frame width. The face is pasted
    from frame ``start`` to frame ``end`` (exclusive); a centre outside 0..1 puts it (partly)
    off the frame, so a path from outside to inside enters, and the reverse leaves.
    """

    width: float
    start: int
    end: int
    begin: tuple[float, float]
    finish: tuple[float, float]
    mirror: bool = False

    def centre(self, frame: int) -> tuple[float, float]:
        t = (frame - self.start) / max(1, self.end - 1 - self.start)
        return tuple(b + t * (f - b) for b, f in zip(self.begin, self.finish))


# Eight faces, 2 % to 30 % of the frame width, over 48 frames (1.6 s at 30 fps): some enter,
# some leave, up to seven at once, small ones beside big ones; none covers another's face.
DEFAULT_TRACKS = (
    Track(0.30, 0, 30, (0.24, 0.52), (-0.12, 0.52)),               # the biggest leaves to the left
    Track(0.02, 0, 48, (0.72, 0.12), (0.76, 0.14)),
    Track(0.03, 0, 48, (0.93, 0.07), (0.90, 0.08), mirror=True),
    Track(0.05, 8, 48, (-0.04, 0.86), (0.22, 0.86)),              # enters from the left
    Track(0.08, 0, 40, (0.85, 0.35), (1.10, 0.33), mirror=True),  # leaves to the right
    Track(0.12, 10, 48, (0.45, -0.15), (0.45, 0.30)),             # comes down from the top
    Track(0.04, 0, 48, (0.62, 0.30), (0.64, 0.33)),
    Track(0.16, 20, 48, (0.82, 0.66), (0.80, 0.64), mirror=True),  # appears at once
)


@dataclass
class Clip:
    """A written test clip: its file, size (W, H), fps, and per frame the face boxes (id, box) in it."""

    path: Path
    size: tuple[int, int]
    fps: int
    truth: list[list[tuple[int, Box]]]
    cat: Box
    tracks: tuple[Track, ...] = field(default=())

    @property
    def frames(self) -> int:
        return len(self.truth)

    def face_frames(self) -> list[tuple[int, int, Box]]:
        """(frame, face id, box) of every face with at least half its box inside the frame."""
        return [(i, fid, box) for i, faces in enumerate(self.truth) for fid, box in faces
                if _inside_share(box, self.size) >= 0.5]

    def save_truth(self) -> Path:
        """Write the ground truth beside the clip as ``<clip>.json``; return its path."""
        out = self.path.with_suffix(".json")
        data = {"size": self.size, "fps": self.fps, "cat": self.cat, "truth": self.truth,
                "tracks": [asdict(t) for t in self.tracks]}
        out.write_text(json.dumps(data))
        return out


@functools.cache
def _head_sprite() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's head cut out of its photo (h, w, 3) float32 BGR, and a soft oval alpha (h, w) float32
    (made once: read-only)."""
    x, y, w, h = HEAD
    head = load_photo("astronaut.png")[y:y + h, x:x + w].astype(np.float32)
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, h // 2), (int(w * 0.46), int(h * 0.48)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 4.0)
    head.flags.writeable = alpha.flags.writeable = False
    return head, alpha


def _inside_share(box: Box, size: tuple[int, int]) -> float:
    x, y, w, h = box
    ix = max(0.0, min(x + w, size[0]) - max(x, 0.0))
    iy = max(0.0, min(y + h, size[1]) - max(y, 0.0))
    return ix * iy / (w * h)


def background(size: tuple[int, int]) -> np.ndarray:
    """coffee.png scaled to cover ``size`` (W, H), (H, W, 3) uint8 BGR."""
    width, height = size
    coffee = load_photo("coffee.png")
    s = max(width / coffee.shape[1], height / coffee.shape[0])
    big = cv2.resize(coffee, (round(coffee.shape[1] * s), round(coffee.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(big[:height, :width])


def cat_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where the cat goes: (x, y, w, h) at the bottom, a little left of the centre, clear of every face."""
    width, height = size
    cw = width * 16 // 100
    ch = cw * 300 // 451  # chelsea.png's aspect
    return width * 52 // 100, height - ch - height // 60, cw, ch


def compose(base: np.ndarray, tracks: tuple[Track, ...], index: int) -> tuple[np.ndarray, list[tuple[int, Box]]]:
    """Frame ``index``: ``base`` with each track's head pasted at its place, then the cat on top;
    (frame, [(face id, face box)])."""
    head, alpha = _head_sprite()
    height, width = base.shape[:2]
    out = base.astype(np.float32)
    boxes = []
    fx, fy, fw, fh = ASTRONAUT_FACE
    for fid, track in enumerate(tracks):
        if not track.start <= index < track.end:
            continue
        s = track.width * width / fw
        cx, cy = track.centre(index)
        face_cx, face_cy = fx + fw / 2 - HEAD[0], fy + fh / 2 - HEAD[1]  # in sprite pixels
        sprite, weight = (head[:, ::-1], alpha[:, ::-1]) if track.mirror else (head, alpha)
        if track.mirror:
            face_cx = HEAD[2] - face_cx
        tx, ty = cx * width - s * face_cx, cy * height - s * face_cy
        # Warped and blended in the sprite's box only (+2 px for the cubic taps): the same pixels as a
        # whole-frame warp, whose alpha is 0 outside the box, at a tenth of the cost.
        x0, y0 = max(0, int(tx) - 2), max(0, int(ty) - 2)
        x1, y1 = min(width, int(tx + s * HEAD[2]) + 3), min(height, int(ty + s * HEAD[3]) + 3)
        if x1 > x0 and y1 > y0:
            m = np.float32([[s, 0, tx - x0], [0, s, ty - y0]])
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
            layer = cv2.warpAffine(np.ascontiguousarray(sprite), m, (x1 - x0, y1 - y0), flags=interp)
            a = cv2.warpAffine(np.ascontiguousarray(weight), m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)[..., None]
            out[y0:y1, x0:x1] = layer * a + out[y0:y1, x0:x1] * (1.0 - a)
        boxes.append((fid, (cx * width - s * fw / 2, cy * height - s * fh / 2, s * fw, s * fh)))
    frame = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    x, y, w, h = cat_box((width, height))
    frame[y:y + h, x:x + w] = cv2.resize(load_photo("chelsea.png"), (w, h), interpolation=cv2.INTER_AREA)
    return frame, boxes


def build_clip(path: str | Path, tracks: tuple[Track, ...] = DEFAULT_TRACKS, *, size: tuple[int, int] = (1280, 720),
               fps: int = 30, frames: int | None = None, audio: bool = True, pan: int = 0) -> Clip:
    """Write the composite clip to ``path`` (H.264 crf 16, yuv420p, with a stereo AAC tone if ``audio``); with
    ``pan`` (px per frame) the background slides left as under a panning camera, so every tile changes."""
    path = Path(path)
    frames = frames if frames is not None else max(t.end for t in tracks)
    wide = background((size[0] + pan * frames, size[1]))
    truth = []
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "16", "preset": "fast"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=AUDIO_RATE)
            sound.layout = "stereo"
        for index in range(frames):
            image, boxes = compose(wide[:, pan * index:pan * index + size[0]], tracks, index)
            truth.append(boxes)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            samples = tone(round(frames / fps * AUDIO_RATE))
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                                   format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts, chunk.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return Clip(path, size, fps, truth, cat_box(size), tuple(tracks))


def decoy_frame(base: np.ndarray, index: int, fps: int = 30) -> tuple[np.ndarray, list[tuple[int, Box]]]:
    """Frame ``index`` of the decoy clip: the whole astronaut photo, 0.9 of the frame high, swaying over
    ``base`` (a coffee.png background) by a tenth of the frame width, once every 2 s, with the cat
    beside it; (frame, [(0, the one true face box)]). The photo's mission badge, shuttle model, flag
    and stars are the face-like objects that must stay unblurred."""
    height, width = base.shape[:2]
    photo = load_photo("astronaut.png")
    s = 0.9 * height / photo.shape[0]
    cx = 0.38 * width + 0.05 * width * np.sin(2 * np.pi * index / (2 * fps))
    cy = 0.5 * height + 0.01 * height * np.cos(2 * np.pi * index / (3 * fps))
    m = np.float32([[s, 0, cx - s * photo.shape[1] / 2], [0, s, cy - s * photo.shape[0] / 2]])
    frame = cv2.warpAffine(photo, m, (width, height), dst=base.copy(), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_TRANSPARENT)
    fx, fy, fw, fh = ASTRONAUT_FACE
    box = (float(m[0, 2] + s * fx), float(m[1, 2] + s * fy), s * fw, s * fh)
    x, y, w, h = cat_box((width, height))
    x = width * 78 // 100
    frame[y:y + h, x:x + w] = cv2.resize(load_photo("chelsea.png"), (w, h), interpolation=cv2.INTER_AREA)
    return frame, [(0, box)]


def build_decoy_clip(path: str | Path, *, size: tuple[int, int] = (1280, 720), fps: int = 30,
                     frames: int = 60) -> Clip:
    """Write the decoy clip (`decoy_frame`) to ``path`` like `build_clip` (no sound)."""
    base = background(size)
    truth = []
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "16", "preset": "fast"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(frames):
            image, boxes = decoy_frame(base, index, fps)
            truth.append(boxes)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    x, y, w, h = cat_box(size)
    return Clip(Path(path), size, fps, truth, (size[0] * 78 // 100, y, w, h))


def count_searches(lenses) -> list[tuple[int, int, int]]:
    """Record, for each frame an `OfflineLenses` with a privacy lens analyses from now on, its face search's
    (model calls, tiles searched, looks from a face's centre) (`search.FaceDetector`'s counts); the list fills
    as the frames are analysed (on the look-back's thread: each entry is read as its call ends)."""
    detector = lenses.stage._analyzer._detector
    detect, counts = detector.detect, []

    def counted(*args, **kwargs):
        found = detect(*args, **kwargs)
        counts.append((detector.calls, detector.searched, detector.looks))
        return found

    detector.detect = counted
    return counts


def false_area(clip: Clip, before: list[np.ndarray], after: list[np.ndarray]) -> float:
    """The share of the frame area changed away from every true head, over the clip: 8x8 blocks whose
    mean absolute change exceeds `FALSE_LEVEL` levels and whose centre lies outside every face box grown
    to twice its head (`far_from_faces`), over all blocks."""
    changed = total = 0
    for index, (a, b) in enumerate(zip(before, after)):
        h8, w8 = a.shape[0] // 8 * 8, a.shape[1] // 8 * 8
        diff = np.abs(a[:h8, :w8].astype(np.int16) - b[:h8, :w8].astype(np.int16)).astype(np.float32).mean(axis=2)
        blocks = diff.reshape(h8 // 8, 8, w8 // 8, 8).mean(axis=(1, 3))
        far = far_from_faces([box for _, box in clip.truth[index]], clip.size)[4:h8:8, 4:w8:8]
        changed += int((blocks[far] > FALSE_LEVEL).sum())
        total += blocks.size
    return changed / max(1, total)


@dataclass(frozen=True)
class Coverage:
    """How an anonymised copy of a clip covers its faces and spares the rest."""

    face_frames: int
    covered: int
    missed: tuple[tuple[int, int], ...]  # (frame, face id) of each face-frame not covered
    background_changed: float  # share of the pixels far from every face changed by > 24 levels
    cat_change: float  # mean absolute change over the cat (levels)

    @property
    def recall(self) -> float:
        return self.covered / self.face_frames if self.face_frames else 1.0


def centre_region(box: Box, size: tuple[int, int]) -> tuple[slice, slice] | None:
    """The (rows, cols) of the central `CENTRE` share of ``box``, clipped to the frame; None if empty."""
    x, y, w, h = box
    m = (1.0 - CENTRE) / 2.0
    x0, x1 = max(0, round(x + m * w)), min(size[0], round(x + w - m * w))
    y0, y1 = max(0, round(y + m * h)), min(size[1], round(y + h - m * h))
    return (slice(y0, y1), slice(x0, x1)) if x1 - x0 >= 3 and y1 - y0 >= 3 else None


def is_covered(before: np.ndarray, after: np.ndarray, box: Box) -> bool:
    """Whether the face at ``box`` in frame ``before`` is covered in ``after`` (the module's metric)."""
    region = centre_region(box, (before.shape[1], before.shape[0]))
    if region is None:
        return False
    a, b = before[region].astype(np.float32), after[region].astype(np.float32)
    if np.abs(a - b).mean() < MIN_CHANGE:
        return False
    sigma = max(0.8, box[2] / 20.0)
    ga, gb = (cv2.cvtColor(before, cv2.COLOR_BGR2GRAY).astype(np.float32),
              cv2.cvtColor(after, cv2.COLOR_BGR2GRAY).astype(np.float32))
    ha = (ga - cv2.GaussianBlur(ga, (0, 0), sigma))[region].ravel()
    hb = (gb - cv2.GaussianBlur(gb, (0, 0), sigma))[region].ravel()
    denom = float(np.linalg.norm(ha - ha.mean()) * np.linalg.norm(hb - hb.mean()))
    corr = float(np.dot(ha - ha.mean(), hb - hb.mean()) / denom) if denom > 0 else 0.0
    return corr <= MAX_DETAIL_CORR


def missed_faces(clip: Clip, before: list[np.ndarray], after: list[np.ndarray]) -> list[tuple[int, int]]:
    """(frame, face id) of each face-frame of ``clip`` that ``after`` does not cover (`is_covered`)."""
    return [(i, fid) for i, fid, box in clip.face_frames() if not is_covered(before[i], after[i], box)]


def far_from_faces(boxes: list[Box], size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the pixels outside every face box grown to twice its head (where no lens may draw)."""
    mask = np.ones((size[1], size[0]), bool)
    for x, y, w, h in boxes:
        x0, x1 = max(0, int(x - 1.2 * w)), min(size[0], int(x + 2.2 * w) + 1)
        y0, y1 = max(0, int(y - 1.5 * h)), min(size[1], int(y + 2.0 * h) + 1)
        mask[y0:y1, x0:x1] = False
    return mask


def coverage(clip: Clip, output: str | Path, *, before: list[np.ndarray] | None = None) -> Coverage:
    """Compare ``output`` (an anonymised copy of ``clip``) with the clip, frame by frame.

    ``before`` is the decoded clip (decoded here when not given). Raises ValueError when the
    frame counts differ.
    """
    before = before if before is not None else decode(clip.path)
    after = decode(output)
    if len(after) != len(before):
        raise ValueError(f"{output} has {len(after)} frames, the clip {len(before)}")
    face_frames = clip.face_frames()
    missed = missed_faces(clip, before, after)
    changed = total = 0
    cat_change = 0.0
    cx, cy, cw, ch = (int(v) for v in clip.cat)
    for index, (a, b) in enumerate(zip(before, after)):
        far = far_from_faces([box for _, box in clip.truth[index]], clip.size)
        diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
        changed += int((diff[far] > 24).sum())
        total += int(far.sum())
        cat_change += float(np.abs(a[cy:cy + ch, cx:cx + cw].astype(np.float32) - b[cy:cy + ch, cx:cx + cw]).mean())
    return Coverage(len(face_frames), len(face_frames) - len(missed), tuple(missed),
                    changed / max(1, total), cat_change / max(1, len(before)))
