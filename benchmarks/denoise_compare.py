"""``denoise`` against ffmpeg's ``hqdn3d``, a 5x5 Gaussian blur and OpenCV's ``fastNlMeansDenoisingColored``.

    python benchmarks/denoise_compare.py [--frames 40] [--nlm-frames 3] [--photos astronaut,coffee,chelsea]
                                         [--json PATH]

Clips: 1280x720 frames cut from the three photos in ``../shared/media`` (mirror-tiled to
fill the frame, never scaled, so the fine detail is real), with three kinds of motion:

- ``still``: the same frame every time;
- ``pan``: a window sliding 3 px right and 1 px down per frame over a larger canvas;
- ``object``: the still frame with a 320x240 crop of another photo moving over it, 6 px
  right and 2 px down per frame (local motion the global shift cannot explain).

Noise, new on every frame, against which every method is scored on the clean frames:
Gaussian of sigma 10 and 20 per channel, and Poisson photon noise of gain 2
(``2 * Poisson(v / 2)``: sigma ``sqrt(2 v)``, 8 levels at 32, 16 at 128, 23 at 255).

PSNR is the mean over the frames after the first 10 (``fastNlMeans``: ``--nlm-frames`` of
them, spread evenly; it takes seconds a frame). ``hqdn3d`` runs in the ffmpeg binary on raw
frames through pipes (BGR to full-range YUV 4:4:4 and back, a round trip that alone costs
nothing measurable: see ``yuv444 round trip``), at its default, at ``8:6:12:9`` and at
``16:12:24:18``, and the best is reported. The ghost test scores a band around the moving edges (edges of the
clean frame, dilated 3 px, where the clean frame changed since the last one) for ours and
ours with ``temporal=false``. Speed: wall clock per 720p frame with 2 Numba and OpenCV
threads, ours and ``cv2.GaussianBlur`` 5x5 timed alternately in the same run (their
ratio survives a loaded machine), and the CPU time of both on one thread; first-frame
latency of a new instance, and of the first call in the process (the JIT's disk cache loading).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media"
WIDTH, HEIGHT = 1280, 720
PAN = (1, 3)  # (dy, dx) per frame
OBJECT = (2, 6)
NOISES = ("gauss10", "gauss20", "poisson")
MOTIONS = ("still", "pan", "object")
#: fastNlMeans' filter strength h (= hColor) for each noise: the best of 4..22 on 480x360 crops of two photos
NLM_H = {"gauss10": 7, "gauss20": 13, "poisson": 8}
#: hqdn3d's default, the strong setting the issue names, and twice that (sigma 20 needs it)
HQDN3D = ("hqdn3d", "hqdn3d=8:6:12:9", "hqdn3d=16:12:24:18")
SKIP = 10  # frames left out of the means: every temporal method needs a few to settle
THREADS = 2


def load(name: str) -> np.ndarray:
    image = cv2.imread(str(MEDIA / f"{name}.png"), cv2.IMREAD_COLOR)
    if image is None:
        sys.exit(f"cannot read {MEDIA / name}.png")
    return image


def tiled(photo: np.ndarray, height: int, width: int) -> np.ndarray:
    """``photo`` mirror-tiled (no scaling) to at least ``height`` x ``width``, cropped to it."""
    ph, pw = photo.shape[:2]
    reps = (-(-height // ph), -(-width // pw))
    rows = [np.concatenate([photo if (i + j) % 2 == 0 else photo[:, ::-1] for j in range(reps[1])], axis=1)
            for i in range(reps[0])]
    rows = [r if i % 2 == 0 else r[::-1] for i, r in enumerate(rows)]
    return np.ascontiguousarray(np.concatenate(rows, axis=0)[:height, :width])


def clean_clip(name: str, motion: str, frames: int) -> list[np.ndarray]:
    photo = load(name)
    if motion == "pan":
        canvas = tiled(photo, HEIGHT + PAN[0] * frames, WIDTH + PAN[1] * frames)
        return [np.ascontiguousarray(canvas[k * PAN[0]:k * PAN[0] + HEIGHT, k * PAN[1]:k * PAN[1] + WIDTH])
                for k in range(frames)]
    still = tiled(photo, HEIGHT, WIDTH)
    if motion == "still":
        return [still] * frames
    other = load("chelsea" if name != "chelsea" else "coffee")
    patch = other[30:270, 100:420] if name != "chelsea" else other[80:320, 150:470]
    clip = []
    for k in range(frames):
        frame = still.copy()
        y, x = HEIGHT // 4 + OBJECT[0] * k, WIDTH // 6 + OBJECT[1] * k
        frame[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
        clip.append(frame)
    return clip


def noisy_clip(clean: list[np.ndarray], noise: str, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for frame in clean:
        if noise == "poisson":
            value = 2.0 * rng.poisson(frame / 2.0)
        else:
            value = np.rint(frame + rng.normal(0.0, 10.0 if noise == "gauss10" else 20.0, frame.shape))
        out.append(np.clip(value, 0, 255).astype(np.uint8))
    return out


def mse(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = (a.astype(np.float32) - b.astype(np.float32)) ** 2
    return float(d.mean()) if mask is None else float(d[mask].mean())


def psnr(m: float) -> float:
    return 10 * np.log10(255.0**2 / max(m, 1e-10))


def mean_psnr(outs: list[np.ndarray], clean: list[np.ndarray], frames: list[int]) -> float:
    return float(np.mean([psnr(mse(outs[k], clean[k])) for k in frames]))


def band_masks(clean: list[np.ndarray]) -> list[np.ndarray | None]:
    """Per frame: pixels near an edge of the clean frame where the clean frame changed since the last one."""
    kernel = np.ones((7, 7), np.uint8)
    masks: list[np.ndarray | None] = [None]
    for prev, cur in zip(clean, clean[1:]):
        edges = cv2.dilate(cv2.Canny(cv2.cvtColor(cur, cv2.COLOR_BGR2GRAY), 60, 150), kernel)
        moved = cv2.dilate((np.abs(cur.astype(np.int16) - prev).max(axis=2) > 12).astype(np.uint8), kernel)
        mask = (edges > 0) & (moved > 0)
        masks.append(mask if mask.any() else None)
    return masks


def band_psnr(outs: list[np.ndarray], clean: list[np.ndarray], masks: list, frames: list[int]) -> float | None:
    errors = [mse(outs[k], clean[k], masks[k]) * masks[k].sum() for k in frames if masks[k] is not None]
    pixels = sum(masks[k].sum() for k in frames if masks[k] is not None)
    return psnr(sum(errors) / pixels) if pixels else None


def hqdn3d(noisy: list[np.ndarray], spec: str) -> list[np.ndarray]:
    """``noisy`` through ffmpeg's ``spec`` filter graph (``format=yuv444p`` full range around it)."""
    graph = "scale=in_range=full:out_range=full,format=yuvj444p" + ("," + spec if spec else "") + ",format=bgr24"
    command = ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{WIDTH}x{HEIGHT}",
               "-i", "-", "-vf", graph, "-sws_flags", "accurate_rnd+full_chroma_int+bitexact",
               "-threads", str(THREADS), "-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
    done = subprocess.run(command, input=b"".join(f.tobytes() for f in noisy), capture_output=True, check=True)
    data = np.frombuffer(done.stdout, np.uint8)
    return list(data.reshape(len(noisy), HEIGHT, WIDTH, 3))


def run_clip(name: str, motion: str, noise: str, frames: int, nlm_frames: int, seed: int) -> dict:
    import filters

    clean = clean_clip(name, motion, frames)
    noisy = noisy_clip(clean, noise, seed)
    scored = list(range(SKIP, frames))
    row: dict = {"photo": name, "motion": motion, "noise": noise, "noisy": mean_psnr(noisy, clean, scored)}
    ours = []
    for key, options in (("ours", {}), ("ours_spatial", {"temporal": False})):
        flt = filters.get("denoise", **options)
        outs = [flt(f).copy() for f in noisy]
        ours.append(outs)
        row[key] = mean_psnr(outs, clean, scored)
        if motion != "still":
            row[key + "_band"] = band_psnr(outs, clean, band_masks(clean), scored)
    row["gaussian5"] = mean_psnr([cv2.GaussianBlur(f, (5, 5), 0) for f in noisy], clean, scored)
    scores = {spec: mean_psnr(hqdn3d(noisy, spec), clean, scored) for spec in HQDN3D}
    row["hqdn3d_setting"] = max(scores, key=scores.get)
    row["hqdn3d"] = scores[row["hqdn3d_setting"]]
    row["hqdn3d_all"] = scores
    picks = [scored[round(i)] for i in np.linspace(0, len(scored) - 1, nlm_frames)] if nlm_frames else []
    if picks:
        h = NLM_H[noise]
        outs = {k: cv2.fastNlMeansDenoisingColored(noisy[k], None, h, h, 7, 21) for k in picks}
        row["nlm"] = float(np.mean([psnr(mse(outs[k], clean[k])) for k in picks]))
        row["ours_nlm_frames"] = mean_psnr(ours[0], clean, picks)  # ours on the same frames
    return row


def timing(frames: int) -> dict:
    """Per-frame wall clock of ours and a 5x5 Gaussian, alternately, on the astronaut pan with sigma 20."""
    import filters

    clean = clean_clip("astronaut", "pan", frames)
    noisy = noisy_clip(clean, "gauss20", 7)
    out = np.empty_like(noisy[0])
    fresh = filters.get("denoise")
    start = time.perf_counter()
    fresh(noisy[0], out=out)
    first_instance = time.perf_counter() - start
    ours, gauss = [], []
    flt = filters.get("denoise")
    for _ in range(3):
        for f in noisy:
            start = time.perf_counter()
            flt(f, out=out)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            cv2.GaussianBlur(f, (5, 5), 0, dst=out)
            gauss.append(time.perf_counter() - start)
    steady = ours[SKIP:]
    # CPU time on one thread: what the work costs, whatever else the machine runs
    numba.set_num_threads(1)
    cv2.setNumThreads(1)
    cpu_ours, cpu_gauss = [], []
    try:
        for f in noisy[SKIP:]:
            start = time.process_time()
            flt(f, out=out)
            cpu_ours.append(time.process_time() - start)
            start = time.process_time()
            cv2.GaussianBlur(f, (5, 5), 0, dst=out)
            cpu_gauss.append(time.process_time() - start)
    finally:
        numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
        cv2.setNumThreads(THREADS)
    return {"cpu_ours_ms_1_thread": 1e3 * float(np.median(cpu_ours)),
            "cpu_gaussian5_ms_1_thread": 1e3 * float(np.median(cpu_gauss)),
            "ours_ms": 1e3 * float(np.median(steady)), "ours_p90_ms": 1e3 * float(np.percentile(steady, 90)),
            "gaussian5_ms": 1e3 * float(np.median(gauss[SKIP:])),
            "ratio": float(np.median(steady) / np.median(gauss[SKIP:])),
            "first_frame_new_instance_ms": 1e3 * first_instance}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--nlm-frames", type=int, default=3)
    parser.add_argument("--photos", default="astronaut,coffee,chelsea")
    parser.add_argument("--motions", default=",".join(MOTIONS))
    parser.add_argument("--noises", default=",".join(NOISES))
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    cv2.setNumThreads(THREADS)
    start = time.perf_counter()
    import filters

    first = filters.get("denoise")(np.zeros((HEIGHT, WIDTH, 3), np.uint8))  # noqa: F841
    first_call = time.perf_counter() - start
    result: dict = {"load_before": os.getloadavg(), "first_call_in_process_s": first_call, "clips": []}
    print(f"load average {os.getloadavg()[0]:.2f}; first call in this process (import, cached JIT) "
          f"{first_call * 1e3:.0f} ms", flush=True)
    if not args.no_timing:
        result["timing"] = timing(args.frames)
        print("timing:", json.dumps({k: round(v, 2) for k, v in result["timing"].items()}), flush=True)
    clip = clean_clip("coffee", "pan", 3)
    result["yuv444_roundtrip"] = mean_psnr(hqdn3d(clip, ""), clip, [0, 1, 2])
    print(f"yuv444 round trip alone: {result['yuv444_roundtrip']:.1f} dB", flush=True)
    seed = 0
    for noise in args.noises.split(","):
        for motion in args.motions.split(","):
            for name in args.photos.split(","):
                seed += 1
                row = run_clip(name, motion, noise, args.frames, args.nlm_frames, seed)
                result["clips"].append(row)
                print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()
                                  if k != "hqdn3d_all"}), flush=True)
    result["load_after"] = os.getloadavg()
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


def print_table(result: dict) -> None:
    keys = ("noisy", "ours", "ours_spatial", "hqdn3d", "gaussian5", "nlm")
    print("\n| noise | motion | " + " | ".join(keys) + " | band: ours / spatial-only |")
    print("| --- | --- |" + " ---: |" * (len(keys) + 1))
    clips = result["clips"]
    for noise in dict.fromkeys(c["noise"] for c in clips):
        for motion in dict.fromkeys(c["motion"] for c in clips):
            rows = [c for c in clips if c["noise"] == noise and c["motion"] == motion]
            if not rows:
                continue
            cells = [f"{np.mean([r[k] for r in rows]):.2f}" if all(k in r for r in rows) else "-" for k in keys]
            bands = [r.get("ours_band") for r in rows if r.get("ours_band") is not None]
            spatial = [r.get("ours_spatial_band") for r in rows if r.get("ours_spatial_band") is not None]
            band = f"{np.mean(bands):.2f} / {np.mean(spatial):.2f}" if bands else "-"
            print(f"| {noise} | {motion} | " + " | ".join(cells) + f" | {band} |")
    if "timing" in result:
        t = result["timing"]
        print(f"\nper 720p frame, {THREADS} threads: ours {t['ours_ms']:.2f} ms (p90 {t['ours_p90_ms']:.2f}), "
              f"GaussianBlur 5x5 {t['gaussian5_ms']:.2f} ms, ratio {t['ratio']:.2f}; first frame of a new instance "
              f"{t['first_frame_new_instance_ms']:.1f} ms; CPU time on 1 thread: ours {t['cpu_ours_ms_1_thread']:.2f} ms, "
              f"GaussianBlur {t['cpu_gaussian5_ms_1_thread']:.2f} ms; load {result['load_before'][0]:.2f} -> "
              f"{result['load_after'][0]:.2f}")


if __name__ == "__main__":
    main()
