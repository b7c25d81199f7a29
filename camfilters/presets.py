"""Saved settings: a TOML file with defaults for every run and named presets.

The file is ``config.toml`` in the platform's config folder (``~/.config/camfilters`` on
Linux), or the path in ``CAMFILTERS_CONFIG``::

    [defaults]                 # applied to every `camfilters run`
    mirror = true

    [presets.meeting]          # camfilters run --preset meeting
    filters = ["blur:ksize=9"]
    lenses = ["bg-blur"]
    size = "1280x720"
    virtual_cam = true

Keys (`KEYS`): filters, lenses (lists of specs), source, size ("WxH"), fps, toast_seconds, mirror,
audio_denoise, output_dir, virtual_cam (true for the default device, or a device name). Command-line
flags override the preset, the preset overrides the defaults. A bad file is refused with
one line naming the file, the line and the key. `save_preset` rewrites only its own
table, keeping the rest of the file (comments included), and replaces the file atomically.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from filters.errors import shorten

from .errors import CamfiltersError, ParameterError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["CONFIG_ENV", "KEYS", "ConfigError", "UnknownPresetError", "config_path", "delete_preset", "list_presets", "load_preset",
           "rename_preset", "save_preset"]

CONFIG_ENV = "CAMFILTERS_CONFIG"
MAX_CONFIG_BYTES = 2**20  # a config of presets is a few kB
_NAME = re.compile(r"^[A-Za-z0-9_+-]{1,64}$")  # "+" as in "cartoon+glasses" (a quoted TOML key)


class ConfigError(CamfiltersError, ValueError):
    """The config file cannot be read or holds a bad value."""


class UnknownPresetError(ConfigError, ParameterError):
    """A preset name that the file does not hold: a usage error (exit 2)."""


def _strings(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    return None if ok else "must be a list of strings, e.g. [\"blur:ksize=9\"]"


def _size(value: Any) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"[1-9]\d*x[1-9]\d*", value.lower()) is not None
    return None if ok else 'must look like "1280x720"'


def _positive(value: Any) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    return None if ok else "must be a positive number"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _device(value: Any) -> str | None:
    return None if isinstance(value, bool) or (isinstance(value, str) and value.strip()) else \
        'must be true, false or a device name such as "/dev/video10"'


#: Each key a preset may hold, with its check (an error text, or None when the value is fine).
KEYS = {"filters": _strings, "lenses": _strings, "source": _text, "size": _size, "fps": _positive,
        "toast_seconds": _positive, "mirror": _flag, "audio_denoise": _flag, "output_dir": _text, "virtual_cam": _device}


def config_path() -> Path:
    """Where the config file is (it may not exist)."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("camfilters")) / "config.toml"


def _read(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed, checked file and its text ({} and "" when there is no file)."""
    if not path.exists():
        return {}, ""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)  # never more: CAMFILTERS_CONFIG=/dev/zero
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is over {MAX_CONFIG_BYTES // 2**20} MB; is it the right file?")
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}; fix the TOML or delete the file") from None
    except RecursionError:
        raise ConfigError(f"config file {path}: arrays or tables nested too deeply; fix the TOML or delete "
                          "the file") from None
    for key in data:
        if key not in ("defaults", "presets"):
            raise ConfigError(f"config file {path} line {_line_of(text, key)}: unknown table {key!r}; "
                              f"use [defaults] and [presets.NAME]")
    tables = [("defaults", data.get("defaults", {}))]
    presets = data.get("presets", {})
    if not isinstance(presets, dict):
        raise ConfigError(f"config file {path} line {_line_of(text, 'presets')}: presets must be tables "
                          f"like [presets.meeting]")
    tables += [(f"presets.{name}", table) for name, table in presets.items()]
    for section, table in tables:
        if not isinstance(table, dict):
            raise ConfigError(f"config file {path} line {_line_of(text, section)}: {section} must be a table")
        for key, value in table.items():
            check = KEYS.get(key)
            problem = "is not a setting (use " + ", ".join(KEYS) + ")" if check is None else check(value)
            if problem:
                raise ConfigError(f"config file {path} line {_line_of(text, key, section)}: "
                                  f"[{section}] {key} {problem}")
    return data, text


def _line_of(text: str, key: str, section: str | None = None) -> int:
    """The 1-based line where ``key`` is set (inside ``[section]`` when given), else 1."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]\s*(#.*)?", stripped)
        if header:
            current = header.group(1).replace('"', "")
            if section is None and current.split(".")[0] == key:
                return number
            continue
        if (section is None or current == section) and re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return 1


def list_presets() -> dict[str, dict[str, Any]]:
    """Every preset by name, as written in the file."""
    data, _ = _read(config_path())
    return dict(data.get("presets", {}))


def load_preset(name: str | None) -> dict[str, Any]:
    """The settings of preset ``name`` on top of the defaults (just the defaults when None)."""
    data, _ = _read(config_path())
    settings = dict(data.get("defaults", {}))
    if name is not None:
        presets = data.get("presets", {})
        if name not in presets:
            known = ", ".join(sorted(presets)) or f"none yet (save one with the w key, or edit {config_path()})"
            raise UnknownPresetError(f"no preset {shorten(name)!r} in {config_path()}; presets: {known}")
        settings.update(presets[name])
    return settings


def save_preset(name: str, settings: dict[str, Any]) -> Path:
    """Write ``settings`` as ``[presets.NAME]``, replacing that table only; returns the file's path."""
    _check_name(name)
    for key, value in settings.items():
        problem = "is not a setting" if key not in KEYS else KEYS[key](value)
        if problem:
            raise ConfigError(f"preset {name}: {key} {problem}, got {value!r}")
    path = config_path()
    _, text = _read(path)
    table = _header(name) + "".join(f"{key} = {_toml(value)}\n" for key, value in settings.items())
    lines = text.splitlines(keepends=True)
    span = _span(lines, name)
    if span is None:
        new = text + ("\n" if text and not text.endswith("\n\n") else "") + table
    else:
        start, end = span
        new = "".join(lines[:start]) + table + ("\n" if end < len(lines) else "") + "".join(lines[end:])
    _write(path, new, f"save preset {name}")
    return path


def rename_preset(old: str, new: str) -> Path:
    """Rename preset ``old`` to ``new`` (which must be free), keeping its settings and comments; returns the file."""
    _check_name(new)
    path, lines, (start, _) = _existing(old)
    if _span(lines, new) is not None:
        raise ConfigError(f"there is already a preset {new!r} in {path}; delete it first or choose another name")
    lines[start] = _header(new)
    _write(path, "".join(lines), f"rename preset {old}")
    return path


def delete_preset(name: str) -> Path:
    """Remove preset ``name`` (its table and the blank line after it) from the file; returns the file."""
    path, lines, (start, end) = _existing(name)
    while end < len(lines) and not lines[end].strip():
        end += 1
    _write(path, "".join(lines[:start] + lines[end:]), f"delete preset {name}")
    return path


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"preset name must be 1-64 letters, digits, -, _ or +, got {shorten(name)!r}")


def _header(name: str) -> str:
    """The table header line of preset ``name`` (a quoted key when it is not a bare TOML key)."""
    return f"[presets.{name if re.fullmatch(r'[A-Za-z0-9_-]+', name) else json.dumps(name)}]\n"


def _span(lines: list[str], name: str) -> tuple[int, int] | None:
    """The [start, end) lines of preset ``name``'s table, or None."""
    start = next((i for i, line in enumerate(lines)
                  if re.fullmatch(rf"\[\s*presets\.\"?{re.escape(name)}\"?\s*\]\s*(#.*)?", line.strip())), None)
    if start is None:
        return None
    return start, next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))


def _existing(name: str) -> tuple[Path, list[str], tuple[int, int]]:
    path = config_path()
    _, text = _read(path)
    lines = text.splitlines(keepends=True)
    span = _span(lines, name)
    if span is None:
        known = ", ".join(sorted(list_presets())) or "none"
        raise UnknownPresetError(f"no preset {shorten(name)!r} in {path}; presets: {known}")
    return path, lines, span


def _write(path: Path, text: str, what: str) -> None:
    """Replace the config file with ``text`` atomically, after checking it reads back; ``what`` (e.g. "save
    preset p") names the action in an error."""
    tomllib.loads(text)  # never write a file we could not read back
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:  # its message would name the hidden temporary file
        raise ConfigError(f"cannot {what}: the config folder {path.parent} cannot be written "
                          f"({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot {what} in {path}: {exc.strerror or exc}") from None
        raise


def _toml(value: Any) -> str:
    """A TOML literal for a setting's value (strings, numbers, booleans, lists of strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's string escapes are TOML's
    return "[" + ", ".join(_toml(v) for v in value) + "]"
