"""GIF palettes: `GifOutput` (PyAV palettegen/paletteuse, 6-bit histogram) against the same with the full
24-bit histogram, Pillow's quantize over sampled frames, and the ffmpeg command line (the reference).

    PYTHONPATH=. python benchmarks/gif_palette.py [--frames 45]

Three 480x270 clips at 15 fps: smooth colour waves (tests/app/media.py), a pan over a photo, and
the same pan with camera-like noise (sigma 4 levels). For each writer: seconds for the palette
and for the frames, and the mean absolute error per channel (B, G, R levels) of the decoded GIF
against the source frames. Ratios are within one run; the machine is shared.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "app")]

from camfilters.media.gif import GifOutput  # noqa: E402

from media import frame_image  # noqa: E402

SIZE = (480, 270)


def clips(count: int) -> dict[str, list[np.ndarray]]:
    width, height = SIZE
    photo = cv2.imread(str(ROOT / "tests" / "data" / "chelsea.png"))
    big = cv2.resize(photo, (width * 2, width * 2 * photo.shape[0] // photo.shape[1]), interpolation=cv2.INTER_AREA)
    pan = [np.ascontiguousarray(big[20 + i : 20 + i + height, 10 + 2 * i : 10 + 2 * i + width]) for i in range(count)]
    rng = np.random.default_rng(0)
    noisy = [np.clip(f + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8) for f in pan]
    return {"waves": [frame_image(i, SIZE) for i in range(count)], "photo pan": pan, "noisy pan": noisy}


def error(path: Path, frames: list[np.ndarray]) -> np.ndarray:
    """Mean absolute error per channel (B, G, R) of the decoded GIF against ``frames``."""
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(decoded) == len(frames), (path, len(decoded), len(frames))
    return np.mean([np.abs(d.astype(np.int16) - f).mean(axis=(0, 1)) for d, f in zip(decoded, frames)], axis=0)


def camfilters_gif(path: Path, frames: list[np.ndarray], full_histogram: bool = False) -> tuple[float, float]:
    import camfilters.media.gif as gif

    saved = gif._STATS_MASK, gif._STATS_MID
    if full_histogram:
        gif._STATS_MASK, gif._STATS_MID = 0xFF, 0
    try:
        started = time.perf_counter()
        output = GifOutput(path, SIZE, time_base=Fraction(1, 15))
        for i, frame in enumerate(frames):
            output.encode(frame, i, 1)
        taken = time.perf_counter()
        output.close()
    finally:
        gif._STATS_MASK, gif._STATS_MID = saved
    return taken - started, time.perf_counter() - taken  # frames in (with the histogram), then palette and GIF


def pillow_gif(path: Path, frames: list[np.ndarray]) -> tuple[float, float]:
    started = time.perf_counter()
    sample = np.concatenate([f[::2, ::2, ::-1] for f in frames[::3]])
    palette = Image.fromarray(np.ascontiguousarray(sample)).quantize(256, method=Image.Quantize.MEDIANCUT)
    made = time.perf_counter()
    images = [Image.fromarray(np.ascontiguousarray(f[..., ::-1])).quantize(palette=palette,
                                                                          dither=Image.Dither.FLOYDSTEINBERG)
              for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=67, loop=0)
    return made - started, time.perf_counter() - made


def ffmpeg_gif(path: Path, frames: list[np.ndarray]) -> tuple[float, float]:
    """The reference: ``ffmpeg -vf palettegen`` then ``-lavfi paletteuse`` (both defaults) on a lossless copy."""
    source, palette = path.with_suffix(".mkv"), path.with_suffix(".png")
    with av.open(str(source), "w") as container:
        stream = container.add_stream("ffv1", rate=15)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "bgr0"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24").reformat(format="bgr0")))
        container.mux(stream.encode(None))
    started = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-vf", "palettegen", str(palette)], check=True)
    made = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-i", str(palette), "-lavfi", "paletteuse",
                    str(path)], check=True)
    return made - started, time.perf_counter() - made


WRITERS = {
    "ffmpeg CLI (reference)": ffmpeg_gif,
    "camfilters (6-bit histogram)": camfilters_gif,
    "PyAV, 24-bit histogram": lambda p, f: camfilters_gif(p, f, full_histogram=True),
    "Pillow median cut, 1/3 frames": pillow_gif,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=45)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for clip, frames in clips(args.frames).items():
            print(f"{clip}: {len(frames)} frames {SIZE[0]}x{SIZE[1]}")
            for name, write in WRITERS.items():
                path = Path(folder) / f"{len(name)}.gif"
                path.unlink(missing_ok=True)
                first, second = write(path, frames)
                b, g, r = error(path, frames)
                print(f"  {name:<30} {first:6.2f} s + {second:5.2f} s  error B {b:5.2f} G {g:5.2f} R {r:5.2f}  "
                      f"{path.stat().st_size / 1e6:6.2f} MB", flush=True)


if __name__ == "__main__":
    main()
