"""camfilters ``render --lens face-blur`` against deface, side by side on the same composite clips.

    python benchmarks/deface_compare.py [--short 30] [--long 150] [--venv /tmp/deface-venv] [--json]
    python benchmarks/deface_compare.py --live 300    # camfilters run, live, on 300-frame versions
    python benchmarks/deface_compare.py --calls       # model calls per frame of render's face search

deface (https://github.com/ORB-HD/deface, CenterFace detector) is the open-source reference for
anonymising faces in videos. It is not a dependency: this script installs it (with onnxruntime, its
fast backend) into its own virtualenv on first use. Both tools run on the same clips from
``tests/face/clips.py`` (real astronaut faces pasted on a real photo, moving, entering and leaving,
with the true face boxes; the decoy clip: the whole astronaut photo with its badge, shuttle model
and flag), one after the other, so load changes on a shared machine hit both.

Each clip is made twice, ``--short`` and ``--long`` frames long (the same motion, slower in the long
one). Throughput is frames per second once started: the extra frames over the extra seconds of the
long run; start-up (imports, model loads, first compile) is what is left of the short run's
seconds. Recall and false area come from the long run: recall is `clips.coverage`'s share of
face-frames hidden; false area is `clips.false_area`, the share of the frame changed by more than 12
levels in 8x8 blocks away from every true head. ``--live N`` plays N-frame versions of the clips through
``camfilters run --lens face-blur --record`` instead (deface has no live mode): the frame rate the run
reports, the frames recorded, recall and false area of the recording. ``camfilters bench`` prints the CPU beside its own
figures; here the load average is printed, since only the ratio holds across machines.
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

# Six faces at 2 % to 3.4 % of a 1080p frame's width, drifting (the hardest case).
SMALL_TRACKS = tuple(
    clips.Track(0.020 + 0.0028 * i, 0, 48, (0.12 + 0.15 * i, 0.35 + 0.1 * (i % 3)),
                (0.16 + 0.15 * i, 0.37 + 0.1 * (i % 3)), mirror=bool(i % 2))
    for i in range(6)
)
CLIPS = {  # name: (tracks, frame size, background pan in px per frame at 48 frames); no tracks: the decoy clip
    "8 faces 2-30 %, 720p, still camera": (clips.DEFAULT_TRACKS, (1280, 720), 0),
    "8 faces 2-30 %, 720p, panning camera": (clips.DEFAULT_TRACKS, (1280, 720), 6),
    "6 faces 2-3.4 %, 1080p, panning camera": (SMALL_TRACKS, (1920, 1080), 9),
    "decoys (badge, model, flag), 1 face, 720p": ((), (1280, 720), 0),
}


ENV = dict(os.environ, PYTHONPATH=str(ROOT))  # camfilters from this checkout


def chosen(only: str) -> list[tuple[int, str, tuple]]:
    """(index, name, (tracks, size, pan)) of the clips whose name has ``only`` in it."""
    return [(n, name, clip) for n, (name, clip) in enumerate(CLIPS.items()) if only in name]


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


def make_clip(path: Path, tracks: tuple, size: tuple[int, int], pan: int, frames: int) -> clips.Clip:
    """The clip of ``frames`` frames: the 48-frame motion of ``tracks`` stretched over them (the decoy clip
    when there are no tracks)."""
    if not tracks:
        return clips.build_decoy_clip(path, size=size, frames=frames)
    k = frames / 48
    stretched = tuple(clips.Track(t.width, round(t.start * k), round(t.end * k), t.begin, t.finish, t.mirror)
                      for t in tracks)
    return clips.build_clip(path, stretched, size=size, frames=frames, audio=False, pan=pan)


def compare(short: int, long: int, venv_dir: Path, work: Path, only: str = "") -> list[dict]:
    deface = deface_command(venv_dir)
    commands = {
        "camfilters": [sys.executable, "-m", "camfilters", "render", "{clip}", "-o", "{out}", "-y",
                       "--lens", "face-blur", "--no-progress"],
        # macro_block_size=1: imageio would otherwise scale 1080 rows to 1088.
        "deface": [str(deface), "{clip}", "-o", "{out}", "--ffmpeg-config",
                   '{{"codec": "libx264", "macro_block_size": 1}}'],
    }
    rows = []
    for n, name, (tracks, size, pan) in chosen(only):
        made = {frames: make_clip(work / f"clip{n}-{frames}.mp4", tracks, size, pan, frames) for frames in (short, long)}
        seconds: dict[tuple[str, int], float] = {}
        for frames, clip in made.items():
            for tool, command in commands.items():
                out = work / f"{clip.path.stem}-{tool}.mp4"
                seconds[tool, frames] = timed([part.format(clip=clip.path, out=out) for part in command], ENV)
        clip = made[long]
        before = clips.decode(clip.path)
        for tool in commands:
            out = work / f"{clip.path.stem}-{tool}.mp4"
            report = clips.coverage(clip, out, before=before)
            fps = (long - short) / max(1e-6, seconds[tool, long] - seconds[tool, short])
            rows.append({"clip": name, "tool": tool, "frames": long, "face_frames": report.face_frames,
                         "covered": report.covered, "recall": report.recall,
                         "false_area": clips.false_area(clip, before, clips.decode(out)),
                         "fps": fps, "startup": seconds[tool, short] - short / fps,
                         "seconds_short": seconds[tool, short], "seconds_long": seconds[tool, long]})
        rows[-2]["speed_vs_deface"] = rows[-2]["fps"] / rows[-1]["fps"]
    return rows


def live(frames: int, work: Path, only: str = "") -> list[dict]:
    """Each clip, ``frames`` frames at 30 fps, through ``camfilters run`` with the default privacy delay."""
    rows = []
    for n, name, (tracks, size, pan) in chosen(only):
        clip = make_clip(work / f"live{n}.mp4", tracks, size, pan, frames)
        out = work / f"live{n}-out.mp4"
        done = subprocess.run([sys.executable, "-m", "camfilters", "run", "--source", str(clip.path), "--lens",
                               "face-blur", "--record", str(out), "--no-window"], check=True, env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # The run's own summary: "camfilters: N frames in S s (F fps), D dropped".
        summary = next(line for line in done.stderr.splitlines() if " frames in " in line)
        before, after = clips.decode(clip.path), clips.decode(out)
        report = clips.coverage(clip, out, before=before)
        rows.append({"clip": name, "frames": frames, "recorded": len(after),
                     "fps": float(summary.split("(")[1].split()[0]), "face_frames": report.face_frames,
                     "covered": report.covered, "recall": report.recall, "missed": report.missed,
                     "false_area": clips.false_area(clip, before, after)})
    return rows


def calls(frames: int, work: Path, only: str = "") -> list[dict]:
    """Model calls per frame of render's face search (`search.FaceDetector`'s counts), in this process, on each
    clip of ``frames`` frames: the first frame (every tile) apart."""
    from camfilters.face.offline import OfflineLenses

    rows = []
    for n, name, (tracks, size, pan) in chosen(only):
        clip = make_clip(work / f"calls{n}.mp4", tracks, size, pan, frames)
        with OfflineLenses(["face-blur"]) as lenses:
            counts = clips.count_searches(lenses)
            for i, frame in enumerate(clips.decode(clip.path)):
                lenses.push(frame, i / clip.fps)
            lenses.drain()
        calls_, tiles, looks = (sum(c[k] for c in counts[1:]) / max(1, len(counts) - 1) for k in range(3))
        rows.append({"clip": name, "frames": frames, "calls": calls_, "tiles": tiles, "looks": looks,
                     "first_frame_calls": counts[0][0]})
    return rows


def calls_table(rows: list[dict]) -> str:
    lines = ["| clip (render) | model calls per frame | whole frame | tiles | looks from a face's centre | "
             "full-range looks after a short-range miss | first frame |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['clip']} | {r['calls']:.2f} | 1 | {r['tiles']:.2f} | {r['looks']:.2f} | "
                     f"{r['calls'] - 1 - r['tiles'] - r['looks']:.2f} | {r['first_frame_calls']} |")
    return "\n".join(lines)


def live_table(rows: list[dict]) -> str:
    lines = ["| clip (live, default privacy delay) | fps | frames recorded | recall (face-frames) | false area |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['clip']} | {r['fps']:.1f} | {r['recorded']}/{r['frames']} | {r['recall']:.1%} "
                     f"({r['covered']}/{r['face_frames']}) | {r['false_area']:.3%} |")
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    lines = ["| clip | tool | recall (face-frames) | false area | fps once started | start-up s | speed vs deface |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        speed = f"{r['speed_vs_deface']:.1f}x" if "speed_vs_deface" in r else ""
        lines.append(f"| {r['clip']} | {r['tool']} | {r['recall']:.1%} ({r['covered']}/{r['face_frames']}) | "
                     f"{r['false_area']:.3%} | {r['fps']:.1f} | {r['startup']:.1f} | {speed} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=30, help="frames of the short clips (at 30 fps)")
    parser.add_argument("--long", type=int, default=150, help="frames of the long clips")
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "deface-venv",
                        help="virtualenv for deface (created if missing)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--only", default="", help="only the clips whose name has this in it (e.g. '720p, still')")
    parser.add_argument("--live", type=int, default=0, metavar="N",
                        help="instead: camfilters run live on N-frame versions of the clips (no deface)")
    parser.add_argument("--calls", action="store_true",
                        help="instead: model calls per frame of render's face search on the --long clips (no deface)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="deface-compare-") as work:
        if args.live:
            rows, show = live(args.live, Path(work), args.only), live_table
        elif args.calls:
            rows, show = calls(args.long, Path(work), args.only), calls_table
        else:
            rows, show = compare(args.short, args.long, args.venv, Path(work), args.only), table
    print(json.dumps(rows, indent=1) if args.json else show(rows))
    # The machine may be shared: the seconds depend on the load, the ratio much less.
    from camfilters.bench.machine import cpu_info

    cpu = cpu_info()
    print(f"{cpu.get('model', 'unknown CPU')}, {os.cpu_count()} cores; load average (1 min): {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
