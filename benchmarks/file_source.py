"""File sources: decoding speed of `FileSource` (PyAV, with the sound) against OpenCV's VideoCapture, and the
timing a recording of a slowed preview keeps. Prints one line per measurement with the load average.

    PYTHONPATH=. python benchmarks/file_source.py [--seconds 8] [--size 1280x720] [--stall 0.05]

Makes a clip with ffmpeg (test pattern, 30 fps, H.264, a stereo AAC sweep). Decoding: every frame,
unpaced, best of three, frames per second and the ratio to OpenCV's. Recording: ``run --source CLIP
--record OUT.mp4`` with a stage sleeping ``--stall`` s a frame (every 10th four times that), then
ffprobe's frame count and duration of the source and of the recording side by side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "app")]

from camfilters.file_source import FileSource  # noqa: E402
from camfilters.live import LiveOptions, LiveSession  # noqa: E402

from media import probe  # noqa: E402


def make_clip(path: Path, seconds: float, size: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
                    "-f", "lavfi", "-i", f"aevalsrc=0.4*sin(2*PI*(200+300*t)*t):s=48000:d={seconds}:c=stereo",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def opencv_frames(path: Path) -> int:
    cap, frames = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG), 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    return frames


def file_source_frames(path: Path) -> int:
    with FileSource(path, realtime=False) as source:
        return sum(1 for _ in source)


def best_fps(read, path: Path) -> tuple[float, int]:
    best, frames = 0.0, 0
    for _ in range(3):
        started = time.perf_counter()
        frames = read(path)
        best = max(best, frames / (time.perf_counter() - started))
    return best, frames


class Stall:
    name = "stall"

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls = seconds, 0

    def process(self, image, timestamp):
        self.calls += 1
        time.sleep(self.seconds * (4 if self.calls % 10 == 0 else 1))
        return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--stall", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder) / "clip.mp4", args.seconds, args.size)
        load = os.getloadavg()[0]
        cv_fps, cv_n = best_fps(opencv_frames, clip)
        fs_fps, fs_n = best_fps(file_source_frames, clip)
        print(f"decode {args.size}: OpenCV VideoCapture {cv_fps:7.1f} fps ({cv_n} frames), FileSource "
              f"{fs_fps:7.1f} fps ({fs_n} frames, with sound): ratio {fs_fps / cv_fps:.2f}  load {load:.1f}")
        out = Path(folder) / "out.mp4"
        session = LiveSession(LiveOptions(source=str(clip), record=out, window=False))
        session.chain.stages = [Stall(args.stall)]
        started = time.monotonic()
        session.run()
        played = time.monotonic() - started
        src, rec = probe(clip), probe(out)
        print(f"record, preview slowed to {played:.2f} s: source {src.frames} frames {src.video_duration:.3f} s "
              f"(audio {src.audio_duration:.3f} s), recording {rec.frames} frames {rec.video_duration:.3f} s "
              f"(audio {rec.audio_duration:.3f} s)  load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
