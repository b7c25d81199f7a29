"""The ``light`` lens against two references, side by side on the same badly lit 720p clips.

    python benchmarks/light.py [--frames 75] [--json] [--pictures docs]

Clips (`tests/face/light_clips.py`: the real astronaut photo over coffee.png, each frame with its
own sensor noise): half a second as shot, then the light changes and stays so, still, to the end:
``dark`` (a third of the mean luma, by gamma and gain) or ``backlit`` (the subject at 40 %, the
background lifted towards white). The methods, each on every frame:

- ``light``: the lens, on the face stage's analysis (real models, synchronous);
- ``plain AE``: a global auto exposure without faces: grey-world white balance and a gain bringing
  the frame's mean luma to 45 %, smoothed with the same time constant (0.25 s), clipped at 255;
- ``CLAHE``: OpenCV's ``createCLAHE(clipLimit=2, tileGridSize=(8, 8))`` on the Y of YCrCb (no state).

Figures: the face's mean luma (central 60 % of its known box) 1 s after the change, and the
settling time, from the change until the face's luma enters 45-60 % of full scale and stays there;
pumping, the largest frame-to-frame change of the mean luma over the last second, relative; the
largest share of pixels clipped at 255 (any channel) more than in the input frame; and ms per frame
of the method alone, wall and CPU (medians; the lens without the analysis, whose cost is printed beside it,
as is that of the lens's table pass alone, its floor, and of ``cv2.LUT`` doing the same for reference).
``--pictures DIR`` writes DIR/light_<clip>.png: the face's crop, input then each method, 1 s after the change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "face"), str(ROOT / "tests")]
import light_clips  # noqa: E402

from camfilters.face import build_face_stage  # noqa: E402
from camfilters.face.lenses import Scene  # noqa: E402
from filters import apply_tables  # noqa: E402

from helpers import MODELS  # noqa: E402

SIZE = (1280, 720)
FPS = 30.0
CHANGE = 15  # the frame at which the light changes
GOOD = (0.45, 0.60)
TAU = 0.25  # s, the lens's default time constant, also given to plain AE


class PlainAE:
    """Grey-world white balance and a global gain to a mean luma of 45 %, log-smoothed with time constant TAU."""

    def __init__(self) -> None:
        self.value: np.ndarray | None = None
        self.t = 0.0

    def __call__(self, frame: np.ndarray, t: float) -> np.ndarray:
        small = cv2.resize(frame, (80, 45), interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float64) + 1.0
        means = small.mean(axis=0)
        balance = np.clip(means.mean() / means, 2 / 3, 1.5)
        luma = float(np.array([0.114, 0.587, 0.299]) @ (means * balance)) / 255.0
        wanted = np.log(balance * min(4.0, 0.45 / luma))
        if self.value is None:
            self.value = wanted
        else:
            self.value = self.value + (1.0 - math.exp(-(t - self.t) / TAU)) * (wanted - self.value)
        self.t = t
        table = np.clip(np.arange(256)[None, :] * np.exp(self.value)[:, None] + 0.5, 0, 255).astype(np.uint8)
        return cv2.LUT(frame, np.ascontiguousarray(table.T[None]))


CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def clahe(frame: np.ndarray, _t: float) -> np.ndarray:
    ycc = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
    ycc[..., 0] = CLAHE.apply(np.ascontiguousarray(ycc[..., 0]))
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)


def run_all(frames: list[np.ndarray]):
    """Every method on every frame, one after the other per frame (so a change of load hits all of them):
    {method: (outputs, ms per frame)}, and the face analysis' ms per frame. The lens draws from a synchronous
    face stage's analysis of the frame; only its own ``apply`` is timed."""
    stage = build_face_stage(["light"], face_model=str(MODELS / "face_landmarker.task"), synchronous=True)
    lens = stage.lenses[0]
    others = {"plain AE": PlainAE(), "CLAHE": clahe}
    runs = {name: ([], []) for name in ("light", *others)}
    analysis, lut, lut_cv2 = [], [], []
    with stage:
        for i, frame in enumerate(frames):
            t = i / FPS
            _, flags = stage.prepare(frame, t)
            result = stage.analyse(frame, t, flags)
            analysis.append(result.cost_ms)
            out = frame.copy()
            _, ms = clocked(lens.apply, out, Scene(result.faces, None, t))
            runs["light"][0].append(out)
            runs["light"][1].append(ms)
            floor = frame.copy()
            lut.append(clocked(lambda: apply_tables(floor, lens.table()))[1])  # the floor: the tables alone
            table = np.ascontiguousarray(lens.table().T[None])
            lut_cv2.append(clocked(lambda: cv2.LUT(floor, table, dst=floor))[1])  # the same with OpenCV
            for name, method in others.items():
                out, ms = clocked(method, frame, t)
                runs[name][0].append(out)
                runs[name][1].append(ms)
    return runs, analysis, lut, lut_cv2


def clocked(fn, *args):
    """(``fn(*args)``, (wall ms, CPU ms of the process: OpenCV's own threads included))."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, ((time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0)


def figures(frames, outs, box, ms) -> dict:
    region = light_clips.face_region(box)
    face = np.array([light_clips.luma(out)[region].mean() / 255.0 for out in outs])
    means = np.array([light_clips.luma(out).mean() for out in outs])
    good = (face >= GOOD[0]) & (face <= GOOD[1])
    bad_after = [i for i in range(CHANGE, len(outs)) if not good[i]]
    settle = (bad_after[-1] + 1 - CHANGE) / FPS if bad_after else 0.0
    last = means[-round(FPS):]
    clipped = [(out == 255).any(axis=2).mean() - (frame == 255).any(axis=2).mean() for frame, out in zip(frames, outs)]
    return {"face_in": float(light_clips.luma(frames[-1])[region].mean() / 255.0),
            "face_1s": float(face[min(len(face) - 1, CHANGE + round(FPS))]),
            "settle_s": settle if settle < (len(outs) - CHANGE) / FPS else None,
            "pumping_pct": float(100.0 * (np.abs(np.diff(last)) / last[:-1]).max()),
            "more_clipped_pct": float(100.0 * max(clipped)), "ms": float(np.median([m[0] for m in ms[1:]])),
            "cpu_ms": float(np.median([m[1] for m in ms[1:]]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=75, help="frames a clip (30 fps), the change at frame 15")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--pictures", type=Path, help="write light_<clip>.png crops into this folder")
    args = parser.parse_args()
    results = {}
    for lighting in ("dark", "backlit"):
        shot, box = light_clips.clip("even", CHANGE, size=SIZE)
        changed, _ = light_clips.clip(lighting, args.frames - CHANGE, size=SIZE)
        frames = shot + changed
        runs, analysis, lut, lut_cv2 = run_all(frames)
        results[lighting] = {name: figures(frames, o, box, m) for name, (o, m) in runs.items()}
        results[lighting]["analysis_ms"] = float(np.median(analysis[1:]))
        results[lighting]["lut_ms"] = [float(np.median([m[k] for m in lut[1:]])) for k in (0, 1)]
        results[lighting]["lut_cv2_ms"] = [float(np.median([m[k] for m in lut_cv2[1:]])) for k in (0, 1)]
        if args.pictures:
            x, y, w, h = box
            crop = (slice(max(0, round(y - 0.6 * h)), round(y + 1.5 * h)), slice(max(0, round(x - 0.5 * w)), round(x + 1.5 * w)))
            k = min(len(frames) - 1, CHANGE + round(FPS))
            row = np.hstack([frames[k][crop]] + [o[k][crop] for o, _ in runs.values()])
            cv2.imwrite(str(args.pictures / f"light_{lighting}.png"), row, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"load average {os.getloadavg()[0]:.1f}; {SIZE[0]}x{SIZE[1]}, {args.frames} frames, change at {CHANGE / FPS:.1f} s")
    print("| clip | method | face in | face 1 s after | settling s | pumping % | more clipped % | ms/frame | CPU ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for lighting, by_method in results.items():
        for name in ("light", "plain AE", "CLAHE"):
            r = by_method[name]
            settle = "never" if r["settle_s"] is None else f"{r['settle_s']:.2f}"
            print(f"| {lighting} | {name} | {r['face_in']:.2f} | {r['face_1s']:.2f} | {settle} | {r['pumping_pct']:.2f} | "
                  f"{r['more_clipped_pct']:.2f} | {r['ms']:.2f} | {r['cpu_ms']:.2f} |")
        print(f"| {lighting} | (face analysis) | | | | | | {by_method['analysis_ms']:.1f} | |")
        print(f"| {lighting} | (its tables alone) | | | | | | {by_method['lut_ms'][0]:.2f} | {by_method['lut_ms'][1]:.2f} |")
        print(f"| {lighting} | (cv2.LUT, same tables) | | | | | | {by_method['lut_cv2_ms'][0]:.2f} | "
              f"{by_method['lut_cv2_ms'][1]:.2f} |")


if __name__ == "__main__":
    main()
