"""``camfilters bench``'s command line: the options, their defaults, and the checks made before anything runs.

Light on purpose: ``camfilters --help`` and every other command build this parser without
importing the benchmark itself (`camfilters.bench.run`).
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..argtypes import between, frame_size_at_least, positive
from ..errors import OutputExistsError, ParameterError

log = logging.getLogger(__name__)

SECTIONS = ("opencv", "naive", "live", "lenses", "jit")
DEFAULT_SIZES = ((1280, 720), (1920, 1080))
QUICK_SIZES = ((320, 180),)
BENCH_SIZE = frame_size_at_least(64, 48)
NAIVE_SIZES = (8, 512)  # the Python loop takes about 1 s at 512 x 512
LOOP_SECONDS = (0.5, 3600.0)  # shorter runs give too few frames for a latency or an fps
LOOP_FPS = (1.0, 240.0)


@dataclass
class BenchOptions:
    """What to measure (see ``camfilters bench --help``); `resolve_options` fills the defaults."""

    filters: list[str]
    sizes: list[tuple[int, int]]
    repeat: int
    sections: tuple[str, ...] = SECTIONS
    source: str = "demo"
    loop_size: tuple[int, int] = (1280, 720)
    loop_fps: float = 60.0
    loop_seconds: float = 5.0
    window: bool = False
    naive_size: int = 128
    quick: bool = False
    ksizes: tuple[int, ...] = ()
    cpu_time: bool = False


def odd_ksize(text: str) -> int:
    """``--ksize``: an odd whole number >= 1."""
    value = positive(int)(text)
    if value % 2 == 0:
        raise argparse.ArgumentTypeError(f"must be odd, got {value}")
    return value


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``."""
    parser.description = ("Time our filters against OpenCV, the live loop end to end and the JIT start-up; "
                          "print a table (and JSON with --json) with the speed targets marked met or not. "
                          "The header and the JSON name the CPU model and its SIMD flags.")
    parser.add_argument("--filters", type=_names, metavar="NAME,...",
                        help="filters to measure (default: every registered filter)")
    parser.add_argument("--size", dest="sizes", type=BENCH_SIZE, action="append", metavar="WxH",
                        help="frame size for the filter timings (repeatable; default 1280x720 and 1920x1080)")
    parser.add_argument("--ksize", dest="ksizes", type=odd_ksize, action="append", metavar="N",
                        help="also time each filter that has a ksize option with ksize=N, where it accepts N "
                             "(repeatable: --ksize 5 --ksize 21)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time the filters and OpenCV on 1 thread each, in process CPU time instead of wall "
                             "clock on all threads: steadier on a machine other work shares")
    parser.add_argument("--repeat", type=positive(int), metavar="N", help="timed runs per filter and size "
                        "(default 20; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fast smoke run: small sizes, few repeats, 1 s loops")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': stdout, "
                        "then the table goes to stderr); its folder must exist")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace an existing --json file")
    parser.add_argument("--source", default="demo", help="where the benchmark frame and the live loop's frames "
                        "come from: demo (default), a video PATH, a camera INDEX")
    parser.add_argument("--sections", type=_names, default=list(SECTIONS), metavar="NAME,...",
                        help=f"what to run (default all): {', '.join(SECTIONS)}")
    parser.add_argument("--loop-size", type=BENCH_SIZE, metavar="WxH", help="live loop frame size (default 1280x720)")
    parser.add_argument("--loop-fps", type=between(float, *LOOP_FPS), default=60.0, metavar="FPS",
                        help=f"live loop source fps, {LOOP_FPS[0]:g} to {LOOP_FPS[1]:g} (default 60)")
    parser.add_argument("--loop-seconds", type=between(float, *LOOP_SECONDS, " seconds"), metavar="SECONDS",
                        help=f"live loop length per filter, {LOOP_SECONDS[0]:g} to {LOOP_SECONDS[1]:g} "
                             "(default 5; 1 with --quick)")
    parser.add_argument("--window", action="store_true", help="show the live loop in a window (needs a display)")
    parser.add_argument("--naive-size", type=between(int, *NAIVE_SIZES, " pixels"), metavar="N",
                        help=f"crop side for the naive-loop comparison, {NAIVE_SIZES[0]} to {NAIVE_SIZES[1]} "
                             "(default 128; 32 with --quick)")


def check_json_path(text: str | None, overwrite: bool = False) -> None:
    """Refuse a ``--json`` path whose folder is missing, that is a folder, or that exists (unless
    ``overwrite``), before the benchmark runs."""
    if text is None or text == "-":
        return
    path = Path(text).expanduser()
    if path.is_dir():
        raise ParameterError(f"--json {text}: it is a folder; give a file name such as {path / 'bench.json'}")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ParameterError(f"--json {text}: folder {folder} {what}; create it or choose another path")
    if not os.access(folder, os.W_OK):
        raise ParameterError(f"--json {text}: folder {folder} is not writable; choose another path")
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(f"--json {text} already exists; add -y (--overwrite) to replace it, "
                                "or choose another name")


def resolve_options(args: argparse.Namespace) -> BenchOptions:
    """`BenchOptions` from parsed arguments; raises ParameterError for unknown filters or sections, or a
    ``--json`` path that cannot be written, before anything is measured."""
    import filters

    names = args.filters or filters.available()
    for name in names:
        filters.filter_class(name)  # unknown names raise, listing the valid ones
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown or not args.sections:
        raise ParameterError(f"--sections must list some of {', '.join(SECTIONS)}, got {','.join(args.sections)!r}")
    check_json_path(getattr(args, "json", None), getattr(args, "overwrite", False))
    window = args.window and bool(os.environ.get("DISPLAY"))
    if args.window and not window:
        log.warning("--window ignored: no DISPLAY")
    quick = args.quick
    return BenchOptions(
        filters=list(names), sizes=list(args.sizes or (QUICK_SIZES if quick else DEFAULT_SIZES)),
        repeat=args.repeat or (3 if quick else 20), sections=tuple(s for s in SECTIONS if s in args.sections),
        source=args.source, loop_size=args.loop_size or ((320, 180) if quick else (1280, 720)),
        loop_fps=args.loop_fps, loop_seconds=args.loop_seconds or (1.0 if quick else 5.0), window=window,
        naive_size=args.naive_size or (32 if quick else 128), quick=quick,
        ksizes=tuple(getattr(args, "ksizes", None) or ()), cpu_time=getattr(args, "cpu_time", False))
