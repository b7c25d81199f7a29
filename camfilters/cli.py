"""The ``camfilters`` command: run, render, list, devices, explain, bench."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from pathlib import Path

from . import signals
from .argtypes import FPS_RANGE, between, frame_size, path, positive, seconds, source_spec, width_or_size
from .exitcodes import ExitCode
from .hotkeys import HOTKEYS, TOAST_SECONDS
from .listings import devices_command, list_command, presets_command

# Only the standard library and tiny modules above: the heavy imports happen in `main`, where a Ctrl-C
# while starting up ends quietly with exit code 130 (see `main`).

log = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  camfilters run --filter edge                  webcam (or the demo source) through the edge filter
  camfilters run --filter blur:ksize=9 --filter sketch --mirror
  camfilters run --source clip.mp4 --filter cartoon --record out.mp4 --no-window
  camfilters run --lens glasses --lens bg-blur  face lenses (needs the face extra)
  camfilters run --filter edge --virtual-cam    send to a virtual webcam for video calls
  camfilters render in.mp4 -o out.mp4 --filter cartoon
  camfilters render archive/ -o blurred/ --lens face-blur --jobs 2   every video of a folder, 2 at a time
  camfilters render "cam/**/*.mp4" -o out/ --start 0:30 --end 1:00 --scheduler tcp://host:8786
  camfilters explain --kernel "0 1; 1 0" --input "1 2 3; 4 5 6; 7 8 9" -o explain.png
"""


EXIT_CODES = """\
exit codes:
  0    done
  1    runtime error (an output that cannot be written, a filter that failed, no or a busy microphone, ...)
  2    usage error (bad command line, option or value, an unknown --audio DEVICE); nothing was started
  3    the source failed, or the input is corrupt or truncated (what was read is kept)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP); recordings are finalised
"""


def _hotkey_help() -> str:
    return "hotkeys (in the window):\n" + "\n".join(f"  {k:<8} {text}" for k, text in HOTKEYS) + "\n"


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line ("camfilters: error: ...") plus the --help hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _RenamedTo(argparse.Action):
    """Store like the option ``new`` that replaced this one, with a one-line deprecation note on stderr."""

    def __init__(self, *args, new: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"{parser.prog}: note: {option_string} is deprecated, use {self.new} (same values)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="camfilters", description="Real-time webcam filters.",
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=_hotkey_help() + "\n" + EXAMPLES + "\n" + EXIT_CODES)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (per-stage timings, devices)")
    # -v also works after the command name; SUPPRESS keeps a subcommand from resetting it.
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    sub.add_parser = functools.partial(sub.add_parser, parents=[verbose])

    run = sub.add_parser("run", help="show the webcam through filters", formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Show the webcam (or a video file, or the demo) through a chain of filters.",
                         epilog=_hotkey_help() + "\n" + EXAMPLES)
    run.add_argument("--filter", "-f", dest="filters", action="append", default=[], metavar="SPEC",
                     help="NAME or NAME:key=value,... (repeat to chain; see `camfilters list`)")
    run.add_argument("--lens", dest="lenses", action="append", default=[], metavar="SPEC",
                     help="face lens, e.g. glasses or bg-blur:strength=25 (repeatable; face extra)")
    run.add_argument("--preset", metavar="NAME",
                     help="start from a saved preset (see `camfilters presets`); the flags given here override it")
    run.add_argument("--source", type=source_spec,
                     help="auto (camera 0, else the demo), a camera INDEX, a video PATH or URL, or demo")
    run.add_argument("--size", type=frame_size, metavar="WxH", help="ask the camera / demo for this size")
    run.add_argument("--fps", type=between(float, *FPS_RANGE),
                     help="ask the camera / demo for this frame rate (0.01 to 1000)")
    run.add_argument("--loop", action="store_true", help="replay a video file source until you quit")
    run.add_argument("--mirror", action=argparse.BooleanOptionalAction,
                     help="flip the picture left-right (selfie view)")
    run.add_argument("--record", type=path, metavar="PATH", help="record the filtered video (.mp4 H.264, .mkv, .webm, .mov, .gif)")
    run.add_argument("--audio", nargs="?", const="", default=None, metavar="DEVICE",
                     help="record the microphone too (audio extra): the default input, or DEVICE, an index or "
                          "part of a name from `camfilters devices`; AAC in .mp4/.mov, Opus in .mkv/.webm")
    run.add_argument("--audio-denoise", action=argparse.BooleanOptionalAction,
                     help="remove noise from the recorded sound, speech kept (RNNoise, denoise extra; a: on / off)")
    run.add_argument("-y", "--overwrite", action="store_true", help="replace an existing --record file")
    run.add_argument("--gif-size", type=width_or_size, metavar="W[xH]",
                     help="a .gif --record's width, or size (default: 480 wide at most, the height to match)")
    run.add_argument("--gif-fps", type=positive(float), metavar="FPS",
                     help="a .gif --record's frame rate, 0.1 to 50 (default 15)")
    run.add_argument("--output-dir", type=path, help="folder for hotkey recordings and snapshots (default: the platform's Videos and Pictures "
                          "folders, in a camfilters subfolder)")
    run.add_argument("--toast-seconds", type=positive(float), metavar="SECONDS",
                     help=f"how long each message stays at the top of the window (default {TOAST_SECONDS:g})")
    run.add_argument("--no-window", dest="window", action="store_false", help="no preview window (headless)")
    run.add_argument("--max-frames", type=positive(int), metavar="N", help="stop after N frames")
    run.add_argument("--duration", type=positive(float), metavar="SECONDS", help="stop after this many seconds")
    run.add_argument("--virtual-cam", nargs="?", const="", default=None, metavar="DEVICE",
                     help="also send to a virtual webcam (vcam extra); DEVICE e.g. /dev/video10")
    run.add_argument("--virtual-cam-mirror", action="store_true",
                     help="mirror what the virtual camera sends (call apps mirror the self-view themselves)")
    run.add_argument("--privacy-delay", type=between(float, 0, 2000, " ms"), default=100.0, metavar="MS",
                     help="with face-blur or face-pixelate, hold each frame this long so that the face search "
                          "covering it is done before it is shown, recorded or sent (default 100; 0: no delay)")
    run.add_argument("--face-model", type=path, metavar="PATH", help="MediaPipe face_landmarker.task to use")
    run.add_argument("--segmentation-model", type=path, metavar="PATH",
                     help="MediaPipe selfie segmentation .tflite to use")

    from .x264 import DEFAULT_CRF, DEFAULT_PRESET, PRESETS

    render = sub.add_parser("render", help="filter video files offline, as fast as possible",
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            description="Filter a video file into another, or many (folders, globs) into a folder.",
                            epilog="One file renders in this process. Several inputs, a folder or a glob render "
                                   "--jobs files at a time\n(or on a Dask cluster with --scheduler) into the output "
                                   "folder, each output keeping its input's\nrelative name; a file that fails is "
                                   "reported and the others go on (exit 1 if any failed).\nOutputs are complete or "
                                   "absent: a re-run skips finished files (unless -y), so an interrupted\nbatch "
                                   "resumes where it stopped.")
    render.add_argument("inputs", type=path, nargs="+", metavar="INPUT",
                        help="video file, folder (its videos, at any depth) or glob (quote it; ** recurses)")
    render.add_argument("-o", "--output", type=path, required=True,
                        help="output file; with several inputs, a folder")
    render.add_argument("-y", "--overwrite", action="store_true", help="replace existing output files")
    render.add_argument("--start", type=seconds, metavar="TIME",
                        help="render from this time: seconds or HH:MM:SS.mmm (audio is cut to match)")
    render.add_argument("--end", type=seconds, metavar="TIME", help="render until this time (after --start)")
    render.add_argument("--crf", type=between(int, 0, 51), default=DEFAULT_CRF, metavar="0-51",
                        help="H.264 quality: 0 lossless, 51 worst, +6 about halves the size (default: %(default)s)")
    render.add_argument("--speed", choices=PRESETS, default=DEFAULT_PRESET, metavar="SPEED",
                        help=f"H.264 speed: {', '.join(PRESETS)} (default: %(default)s)")
    render.add_argument("--preset", dest="speed", choices=PRESETS, action=_RenamedTo, new="--speed",
                        help=argparse.SUPPRESS)  # the old name of --speed; run --preset is a saved preset
    render.add_argument("--jobs", "-j", type=positive(int), metavar="N",
                        help="files rendered at once with several inputs (default: the number of cores)")
    render.add_argument("--scheduler", metavar="ADDRESS",
                        help="render the files on a Dask cluster, e.g. tcp://host:8786 (cluster extra; inputs and "
                             "outputs on storage every worker sees)")
    render.add_argument("--suffix", default="", metavar="TEXT",
                        help="add to each output's name, e.g. --suffix=-blurred")
    render.add_argument("--ext", metavar="EXT", help="the outputs' extension, e.g. mkv or gif (default: the input's)")
    render.add_argument("--size", type=width_or_size, metavar="W[xH]",
                        help="a .gif output's width, or size (default: 480 wide at most, the height to match)")
    render.add_argument("--fps", type=positive(float), help="a .gif output's frame rate, 0.1 to 50 (default 15)")
    render.add_argument("--filter", "-f", dest="filters", action="append", default=[], metavar="SPEC",
                        help="NAME or NAME:key=value,... (repeat to chain; see `camfilters list`)")
    render.add_argument("--audio-denoise", action="store_true",
                        help="remove noise from the sound, speech kept (RNNoise, denoise extra; re-encodes it)")
    render.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    render.add_argument("--lens", dest="lenses", action="append", default=[], metavar="SPEC",
                        help="face lens, e.g. face-blur or face-pixelate:scale=1.5 (repeatable; every frame "
                             "is analysed; face extra)")
    render.add_argument("--face-model", metavar="PATH", help="MediaPipe face_landmarker.task to use")
    render.add_argument("--detector-model", metavar="PATH",
                        help="face detector .tflite of face-blur/face-pixelate (default: the bundled one)")
    render.add_argument("--segmentation-model", metavar="PATH", help="MediaPipe selfie segmentation .tflite to use")
    render.add_argument("--faces-csv", type=path, nargs="?", const=Path(), metavar="PATH",
                        help="also write every face found: frame, time, id, box, score (needs a face --lens); "
                             "without PATH (required with several inputs), to OUT.faces.csv beside each output")

    sub.add_parser("list", help="filters and lenses with their options and defaults",
                   description="List every filter and face lens with its options and their defaults.")
    presets = sub.add_parser("presets", help="the saved presets (camfilters run --preset NAME) and where they are kept",
                             description="List the saved presets, or rename or delete one.")
    presets.add_argument("action", nargs="?", choices=("rename", "delete"),
                         help="rename OLD NEW, or delete NAME (without: list them)")
    presets.add_argument("names", nargs="*", metavar="NAME", help="the preset(s) the action works on")
    sub.add_parser("devices", help="cameras found, with their resolution, and audio inputs",
                   description="List the cameras found, with their resolution, and the audio inputs.")

    explain = sub.add_parser("explain", help="show what a convolution (correlation) computes, step by step",
                             description="Show what a convolution (correlation, no kernel flip) computes on a "
                                         "small matrix, step by step.")
    explain.add_argument("--kernel", required=True, help='rows separated by ";", e.g. "0 1; 1 0"')
    explain.add_argument("--input", default="1 2 3; 4 5 6; 7 8 9", help="the input matrix, same syntax")
    explain.add_argument("-o", "--output", type=path, help="also draw input, kernel and result as heat maps (PNG)")
    explain.add_argument("-y", "--overwrite", action="store_true", help="replace an existing -o file")
    bench = sub.add_parser("bench", help="speed: filters vs OpenCV, the live loop, JIT start-up",
                           description="Measure every filter against its OpenCV equivalent (same run, alternating), "
                                       "the live loop with recording, and JIT start-up; print a table or JSON.")
    from .bench.options import configure_parser  # the options only: the benchmark loads when it runs

    configure_parser(bench)
    return parser


def _bench(args: argparse.Namespace) -> int:
    from .bench.run import main

    return main(args)


def _apply_preset(args: argparse.Namespace) -> None:
    """Fill what the command line left unset from ``--preset`` on top of the config's [defaults].

    A value given on the command line wins; a list (``--filter``) given there replaces the preset's.
    """
    from .presets import load_preset, options_from

    for key, value in options_from(load_preset(args.preset)).items():
        if getattr(args, key) in (None, []):
            setattr(args, key, value)
    if args.source is None:
        args.source = "auto"
    if args.toast_seconds is None:
        args.toast_seconds = TOAST_SECONDS
    if args.preset is not None:
        log.info("preset %s", args.preset)


def _run(args: argparse.Namespace) -> int:
    from .capture import source_file
    from .errors import ParameterError
    from .live import LiveSession
    from .options import LiveOptions
    from .processor import check_specs

    _apply_preset(args)
    check_specs(args.filters, args.lenses)  # a typo is a usage error, found before the display or camera
    endless = source_file(args.source) is None or args.loop  # a camera, the demo, a stream, a looped file
    if not args.window and args.record is None and args.virtual_cam is None and endless \
            and args.max_frames is None and args.duration is None:
        raise ParameterError("--no-window without --record or --virtual-cam shows, saves and sends nothing, "
                             "until stopped; add one of them, or --duration / --max-frames for a trial run")
    stats = LiveSession(LiveOptions.from_args(args)).run()  # Ctrl-C / SIGTERM propagate after run() has finalised files
    log.info("%d frames in %.1f s (%.1f fps), %d dropped", stats.frames, stats.seconds, stats.fps, stats.dropped)
    code = stats.ended.exit_code if stats.ended is not None else ExitCode.OK
    if code != ExitCode.OK:
        log.error("error: %s", stats.end_message)
    return code


def _render(args: argparse.Namespace) -> int:
    from .batch import run_batch, summary
    from .batch_plan import check_scheduler, one_file, plan, with_render_options
    from .errors import ParameterError
    from .options import RenderOptions
    from .render import RenderInterrupted, render_file

    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    options = RenderOptions.from_args(args)
    options.check()
    if options.audio_denoise:  # a missing package is one line before any file is opened
        from .audio_denoise import load_rnnoise

        load_rnnoise()
    if one_file(args.inputs) and args.scheduler is None:
        source, output = Path(args.inputs[0]), args.output
        if os.path.isdir(output):
            output = output / source.name
        csv = options.faces_csv_for(output)
        try:
            result, faces = render_file(source, output, options, progress=args.progress)
        except RenderInterrupted as exc:  # one line naming the partial file, instead of a bare "stopped"
            log.warning("%s", exc)
            return ExitCode.INTERRUPTED
        log.info("wrote %s (%d frames)%s", output, result.frames, f" and {csv} ({faces} faces)" if csv else "")
        return ExitCode.OK
    if options.faces_csv is not None:
        raise ParameterError(f"--faces-csv {options.faces_csv} names one file; with several inputs give --faces-csv "
                             f"without a path (each output's faces go to OUT.faces.csv beside it)")
    pairs = plan(args.inputs, args.output, suffix=args.suffix, ext=args.ext)
    if options.gif is not None and any(target.suffix.lower() != ".gif" for _, target in pairs):
        raise ParameterError("--size and --fps set the size and rate of GIF outputs; add --ext gif")
    try:
        outcomes = run_batch(with_render_options(pairs, options), workers=args.jobs, scheduler=args.scheduler,
                             progress=args.progress)
    except KeyboardInterrupt:
        log.warning("stopped: the files in progress were removed; run the same command again to render the rest "
                    "(finished files are skipped)")
        return ExitCode.INTERRUPTED
    print(summary(outcomes), flush=True)
    return ExitCode.ERROR if any(o.status == "failed" for o in outcomes) else ExitCode.OK


def _explain(args: argparse.Namespace) -> int:
    from .explain import explain

    print(explain(args.input, args.kernel, args.output, overwrite=args.overwrite))
    return ExitCode.OK


COMMANDS = {"run": _run, "render": _render, "list": list_command, "presets": presets_command,
            "devices": devices_command, "explain": _explain, "bench": _bench}


def _configure_logging(verbose: bool) -> None:
    """One stderr handler: our loggers at INFO (what was saved, written, recorded), DEBUG with -v.

    Other libraries log at WARNING and above.
    """
    level = logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("camfilters: %(message)s"))
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("camfilters", "filters"):
        logging.getLogger(name).setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``camfilters`` console script; returns the exit code (`ExitCode`)."""
    # Numba's idle OpenMP threads otherwise spin and halve OpenCV's speed in the same process; it takes
    # effect here because the OpenMP library loads with the first parallel kernel.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    signals.allow_interrupt()  # a run started from a script's background job could not be stopped with SIGINT
    try:
        # A KeyboardInterrupt raised inside an import can be swallowed by importlib ("Exception ignored in ...
        # _get_module_lock") and the Ctrl-C lost: one while starting up is held, then ends the run quietly.
        with signals.deferred_interrupts():
            args = _start(argv)
        return args if isinstance(args, int) else _execute(args)
    except KeyboardInterrupt:  # Ctrl-C while starting up: nothing was started
        return ExitCode.INTERRUPTED


def _start(argv: list[str] | None) -> argparse.Namespace | int:
    """The parsed command line, or the exit code when there is nothing to run (help, no usable OpenCV)."""
    _configure_logging(False)  # already for what building the parser imports (the filters' kernels)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    _configure_logging(args.verbose)
    from . import errors  # noqa: F401 - the heavy imports, while Ctrl-C is held
    from .opencv_check import opencv_problem

    problem = opencv_problem()
    if problem:
        log.error("error: %s", problem)
        return ExitCode.ERROR
    from . import recording  # noqa: F401 - after cv2, as before: PyAV first made cv2.namedWindow hang (Xvfb)
    return args


def _execute(args: argparse.Namespace) -> int:
    from .errors import CamfiltersError, exit_code
    from .native_log import quiet_native_stderr

    try:
        with signals.interrupt_on_sigterm(), quiet_native_stderr():  # SIGTERM finalises recordings like Ctrl-C
            return COMMANDS[args.command](args)
    except KeyboardInterrupt as exc:
        if not signals.announced(exc):
            log.warning("stopped")
        return ExitCode.INTERRUPTED
    except CamfiltersError as exc:
        log.error("error: %s", exc)
        if args.verbose:
            log.exception("details")
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
