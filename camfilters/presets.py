"""Saved settings: a TOML file with defaults for every run and named presets.

The file's place, its syntax and its keys are told in the README's "Presets"; the keys are
`SETTINGS`, named as `camfilters.options.LiveOptions`'s fields and ``run``'s options. A bad file
is refused with one line naming the file, the line and the key. Saving, renaming and deleting
edit the document with tomlkit, so the rest of the file (comments included) stays as written,
and replace the file atomically.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tomlkit

from filters.errors import shorten

from .argtypes import frame_size, source_spec
from .errors import CamfiltersError, ParameterError, RecordingError
from .hotkeys import TOAST_SECONDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["CONFIG_ENV", "SETTINGS", "ConfigError", "Setting", "UnknownPresetError", "config_path", "delete_preset",
           "list_presets", "load_preset", "options_from", "rename_preset", "save_preset", "settings_from"]

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


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Setting:
    """One key a preset may hold, named as the `LiveOptions` field and ``run`` option it sets.

    ``check`` returns what is wrong with a TOML value (None when it is fine); ``to_option`` turns a
    checked TOML value into the option's value (may raise `argparse.ArgumentTypeError`);
    ``to_toml`` turns an option's value back into TOML, None leaving the key out.
    """

    check: Callable[[Any], str | None]
    to_option: Callable[[Any], Any] = _same
    to_toml: Callable[[Any], Any] = _same


#: The preset schema: every key, its check and its conversions to and from the run's options.
SETTINGS = {
    "filters": Setting(_strings, list),
    "lenses": Setting(_strings, list, lambda v: v or None),
    "source": Setting(_text, source_spec),
    "size": Setting(_size, frame_size, lambda v: None if v is None else f"{v[0]}x{v[1]}"),
    "fps": Setting(_positive, float),
    "toast_seconds": Setting(_positive, float, lambda v: None if v == TOAST_SECONDS else v),
    "mirror": Setting(_flag, bool),
    "audio_denoise": Setting(_flag, bool, lambda v: v or None),
    "output_dir": Setting(_text, lambda v: Path(v).expanduser(), lambda v: None if v is None else str(v)),
    "virtual_cam": Setting(_device, lambda v: ("" if v else None) if isinstance(v, bool) else v,
                           lambda v: None if v is None else v or True),  # "": the default device
}


def options_from(settings: dict[str, Any]) -> dict[str, Any]:
    """The run options that checked preset ``settings`` (from `load_preset`) stand for, by option name."""
    options = {}
    for key, value in settings.items():
        try:
            options[key] = SETTINGS[key].to_option(value)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(f"config file {config_path()}: {key}: {exc}") from None
    return options


def settings_from(options: Any) -> dict[str, Any]:
    """The preset settings that save ``options`` (a `LiveOptions` or anything with its fields), unset ones left out."""
    settings = {key: setting.to_toml(getattr(options, key)) for key, setting in SETTINGS.items()}
    return {key: value for key, value in settings.items() if value is not None}


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
            problem = "is not a setting (use " + ", ".join(SETTINGS) + ")" if key not in SETTINGS else \
                SETTINGS[key].check(value)
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
        problem = "is not a setting" if key not in SETTINGS else SETTINGS[key].check(value)
        if problem:
            raise ConfigError(f"preset {name}: {key} {problem}, got {value!r}")
    path = config_path()
    document, presets = _document(path)
    table = tomlkit.table()
    for key, value in settings.items():
        table.add(key, value)
    presets[name] = table
    _write(path, document, f"save preset {name}")
    return path


def rename_preset(old: str, new: str) -> Path:
    """Rename preset ``old`` to ``new`` (which must be free), keeping its settings, comments and place; returns
    the file."""
    _check_name(new)
    path, document, presets = _existing(old)
    if new in presets:
        raise ConfigError(f"there is already a preset {new!r} in {path}; delete it first or choose another name")
    tables = [(name, presets[name]) for name in list(presets)]
    for name, _ in tables:  # tomlkit renames no key in place: take them all out, put them back in order
        del presets[name]
    for name, table in tables:
        presets.add(new if name == old else name, table)
    _write(path, document, f"rename preset {old}")
    return path


def delete_preset(name: str) -> Path:
    """Remove preset ``name``'s table from the file; returns the file."""
    path, document, presets = _existing(name)
    del presets[name]
    _write(path, document, f"delete preset {name}")
    return path


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"preset name must be 1-64 letters, digits, -, _ or +, got {shorten(name)!r}")


def _document(path: Path) -> tuple[tomlkit.TOMLDocument, Any]:
    """The config file as a tomlkit document (checked by `_read` first), and its ``presets`` table."""
    _, text = _read(path)
    document = tomlkit.parse(text)
    if "presets" not in document:
        document.add("presets", tomlkit.table(is_super_table=True))  # only [presets.NAME] headers
    return document, document["presets"]


def _existing(name: str) -> tuple[Path, tomlkit.TOMLDocument, Any]:
    path = config_path()
    document, presets = _document(path)
    if name not in presets:
        known = ", ".join(sorted(presets)) or "none"
        raise UnknownPresetError(f"no preset {shorten(name)!r} in {path}; presets: {known}")
    return path, document, presets


def _write(path: Path, document: tomlkit.TOMLDocument, what: str) -> None:
    """Replace the config file with ``document``, complete or not at all (`media.atomic.write_bytes`), after
    checking that it reads back; ``what`` (e.g. "save preset p") names the action in an error."""
    from .media.atomic import write_bytes

    text = document.as_string()
    tomllib.loads(text)  # never write a file we could not read back
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot {what}: the config folder {path.parent} cannot be created "
                          f"({exc.strerror or exc})") from None
    try:
        write_bytes(path, text.encode("utf-8"), overwrite=True, what=f"the config file {path}")
    except RecordingError as exc:  # a folder that takes no file, or another process saving now
        raise ConfigError(f"cannot {what}: {exc}") from None
