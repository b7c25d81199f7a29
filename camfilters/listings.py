"""The commands that print what there is: ``list`` (filters and lenses), ``presets`` and ``devices``.

Standard library only at import, as `camfilters.cli`; what they list is imported when they run.
"""

from __future__ import annotations

import argparse
import sys

from .exitcodes import ExitCode


def _first_sentence(doc: str | None) -> str:
    """The docstring's first sentence on one line, without reST markup."""
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    sentence = paragraph.split(". ")[0].rstrip(".")
    return sentence.replace("``", "")


def _plain(value: object) -> str:
    """An option's value as it is typed in a spec: true / false, none, numbers and words as they are."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _entry(name: str, summary: str, options: tuple) -> list[str]:
    """One filter or lens in `list`: its name and summary, then each option with its default and choices."""
    summary = summary if summary[1:2].isupper() else summary[:1].lower() + summary[1:]  # "BT.601" stays
    lines = [f"  {name:<14} {summary}"]
    for opt in options:
        choices = f" ({'|'.join(map(_plain, opt.choices))})" if opt.choices else ""
        lines.append(f"      {opt.name}={_plain(opt.default)}{choices}  {opt.help}")
    return lines


def list_command(args: argparse.Namespace) -> int:
    """`camfilters list`: every filter and lens with its options and their defaults."""
    import filters

    lines = ["filters (use with --filter NAME:key=value,...):"]
    for name in filters.available():
        cls = filters.filter_class(name)
        lines += _entry(name, cls.summary or _first_sentence(cls.__doc__), cls.options)
    from .face import lens_help

    lines.append("")
    lines.append('lenses (use with --lens NAME:key=value,...; needs pip install "camfilters[face]"):')
    for name, summary, options in lens_help():
        lines += _entry(name, summary, options)
    lines += ["", 'sound (camfilters run --audio, and render; needs pip install "camfilters[denoise]"):',
              "  --audio-denoise   remove noise (fan, hum, street) from speech: RNNoise, 20 ms delay; a: on / off"]
    print("\n".join(lines))
    return ExitCode.OK


def presets_command(args: argparse.Namespace) -> int:
    """`camfilters presets [rename OLD NEW | delete NAME]`: the saved presets, or that change to them."""
    from .presets import config_path, delete_preset, list_presets, rename_preset

    wanted = {None: 0, "rename": 2, "delete": 1}[args.action]
    if len(args.names) != wanted:
        usage = {None: "camfilters presets", "rename": "camfilters presets rename OLD NEW",
                 "delete": "camfilters presets delete NAME"}[args.action]
        print(f"camfilters: error: usage: {usage} (see camfilters presets --help)", file=sys.stderr)
        return ExitCode.USAGE
    if args.action == "rename":
        path = rename_preset(*args.names)
        print(f"renamed preset {args.names[0]} to {args.names[1]} in {path}")
        return ExitCode.OK
    if args.action == "delete":
        path = delete_preset(args.names[0])
        print(f"deleted preset {args.names[0]} from {path}")
        return ExitCode.OK

    presets = list_presets()
    print(f"presets in {config_path()} (use with camfilters run --preset NAME; save one with w in the window):")
    if not presets:
        print("  none yet")
    for name, settings in sorted(presets.items()):
        print(f"  {name:<20} " + "  ".join(f"{k}={' '.join(v) if isinstance(v, list) else v}"
                                          for k, v in settings.items()))
    return ExitCode.OK


def _print_section(items: list, title: str, empty: str, row) -> None:
    """``title`` then one ``row(item)`` line per item, or the ``empty`` line when there is none."""
    print(title if items else empty)
    for item in items:
        print("  " + row(item))


def devices_command(args: argparse.Namespace) -> int:
    """`camfilters devices`: the cameras with their resolution, and the audio inputs."""
    from .audio import AudioError, list_inputs
    from .capture import list_devices

    _print_section(list_devices(), "cameras (--source INDEX):",
                   "no cameras found; use --source PATH to play a video file, or --source demo",
                   lambda d: f"{d.index}: {d.width}x{d.height} at {d.fps:.0f} fps ({d.backend})")
    try:
        inputs = list_inputs()
    except AudioError as exc:  # no sounddevice / PortAudio: the cameras are still listed
        print(f"audio inputs: unavailable ({exc})")
        return ExitCode.OK
    _print_section(inputs, "audio inputs (--audio DEVICE):", "no audio inputs found",
                   lambda a: f"{a.index}: {a.name} ({a.channels} ch, {a.rate:.0f} Hz, {a.host_api})")
    return ExitCode.OK
