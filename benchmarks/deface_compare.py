"""camfilters ``render --lens face-blur`` against deface, side by side on the same composite clips.

    python benchmarks/deface_compare.py [--frames 48] [--venv /tmp/deface-venv] [--json]

deface (https://github.com/ORB-HD/deface, CenterFace detector) is the open-source reference
for anonymising faces in videos. It is not a dependency: this script installs it (with
onnxruntime, its fast backend) into its own virtualenv on first use. Both tools run on the
same clips from ``tests/face/clips.py`` (real astronaut faces pasted on a real photo,
moving, entering and leaving, with the true face boxes), one after the other for each clip
so load changes on a shared machine hit both; seconds are wall-clock for the whole command
(start-up and model loading included). Recall, background and cat use `clips.coverage`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "face"), str(ROOT / "tests")]  # clips, and the helpers it imports
import clips  # noqa: E402

MODEL = clips.MODELS / "face_landmarker.task"
# Six faces at 2 % to 3.4 % of a 1080p frame's width, drifting (the hardest case).
SMALL_TRACKS = tuple(
    clips.Track(0.020 + 0.0028 * i, 0, 10_000, (0.12 + 0.15 * i, 0.35 + 0.1 * (i % 3)),
                (0.16 + 0.15 * i, 0.37 + 0.1 * (i % 3)), mirror=bool(i % 2))
    for i in range(6)
)
CLIPS = {  # name: (tracks, frame size)
    "8 faces 2-30 %, 720p": (clips.DEFAULT_TRACKS, (1280, 720)),
    "6 faces 2-3.4 %, 1080p": (SMALL_TRACKS, (1920, 1080)),
}


def deface_command(venv_dir: Path) -> Path:
    """The ``deface`` executable in ``venv_dir``, installing deface and onnxruntime there first if needed."""
    exe = venv_dir / "bin" / "deface"
    if not exe.exists():
        print(f"installing deface into {venv_dir} ...", file=sys.stderr)
        venv.create(venv_dir, with_pip=True)
        subprocess.run([str(venv_dir / "bin" / "pip"), "install", "-q", "deface", "onnxruntime"], check=True)
    return exe


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Run ``command`` (its output discarded); wall-clock seconds. Raises CalledProcessError on failure."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    return time.perf_counter() - start


def compare(frames: int, venv_dir: Path, work: Path) -> list[dict]:
    deface = deface_command(venv_dir)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rows = []
    for name, (tracks, size) in CLIPS.items():
        tracks = tuple(t if t.end <= frames else clips.Track(t.width, t.start, frames, t.begin, t.finish, t.mirror)
                       for t in tracks if t.start < frames)
        clip = clips.build_clip(work / f"clip{len(rows)}.mp4", tracks, size=size, frames=frames)
        before = clips.decode(clip.path)
        runs = {
            "camfilters": [sys.executable, "-m", "camfilters", "render", str(clip.path), "-o", "{out}", "-y",
                           "--lens", "face-blur", "--face-model", str(MODEL), "--no-progress"],
            # macro_block_size=1: imageio would otherwise scale 1080 rows to 1088.
            "deface": [str(deface), str(clip.path), "-o", "{out}", "--ffmpeg-config",
                       '{{"codec": "libx264", "macro_block_size": 1}}'],
        }
        seconds = {}
        for tool, command in runs.items():
            out = work / f"{clip.path.stem}-{tool}.mp4"
            seconds[tool] = timed([part.format(out=out) for part in command], env)
            report = clips.coverage(clip, out, before=before)
            rows.append({"clip": name, "tool": tool, "frames": clip.frames, "face_frames": report.face_frames,
                         "covered": report.covered, "recall": report.recall, "seconds": seconds[tool],
                         "fps": clip.frames / seconds[tool], "background_changed": report.background_changed,
                         "cat_change": report.cat_change})
        rows[-2]["speed_vs_deface"] = seconds["deface"] / seconds["camfilters"]
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| clip | tool | recall (face-frames) | seconds | fps | speed vs deface | background changed | cat |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        speed = f"{r['speed_vs_deface']:.1f}x" if "speed_vs_deface" in r else ""
        lines.append(f"| {r['clip']} | {r['tool']} | {r['recall']:.1%} ({r['covered']}/{r['face_frames']}) | "
                     f"{r['seconds']:.1f} | {r['fps']:.1f} | {speed} | {r['background_changed']:.3%} | "
                     f"{r['cat_change']:.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48, help="frames per clip (at 30 fps)")
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "deface-venv",
                        help="virtualenv for deface (created if missing)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="deface-compare-") as work:
        rows = compare(args.frames, args.venv, Path(work))
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    # The machine may be shared: the seconds depend on the load, the ratio much less.
    print(f"load average (1 min): {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
