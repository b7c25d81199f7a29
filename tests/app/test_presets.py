"""Presets: the TOML config file, round trips, merging, and one-line errors naming file, line and key."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from camfilters.presets import (
    CONFIG_ENV,
    SETTINGS,
    ConfigError,
    config_path,
    delete_preset,
    list_presets,
    load_preset,
    options_from,
    rename_preset,
    save_preset,
    settings_from,
)


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    return path


def test_without_a_file_there_are_no_presets_and_no_defaults(config):
    assert config_path() == config and list_presets() == {} and load_preset(None) == {}
    with pytest.raises(ConfigError, match=r"no preset 'x' in .*config.toml; presets: none yet"):
        load_preset("x")


def test_a_saved_preset_round_trips_with_every_kind_of_value(config):
    settings = {"filters": ["blur:ksize=9", 'kernel:k=0 1; 1 0'], "lenses": ["bg-replace:color=0,177,64"],
                "source": "clip \"one\".mp4", "size": "1280x720", "fps": 29.97, "mirror": True,
                "output_dir": "~/Videos", "virtual_cam": "/dev/video10"}
    assert save_preset("meeting", settings) == config
    assert load_preset("meeting") == settings
    assert list_presets() == {"meeting": settings}


def test_the_preset_overrides_the_defaults(config):
    config.parent.mkdir()
    config.write_text("[defaults]\nmirror = true\nfps = 30\n\n[presets.night]\nfps = 15\n")
    assert load_preset(None) == {"mirror": True, "fps": 30}
    assert load_preset("night") == {"mirror": True, "fps": 15}


def test_saving_replaces_only_its_own_table_and_keeps_comments(config):
    config.parent.mkdir()
    original = ("# my settings\n[defaults]\nmirror = true  # selfie view\n\n"
                "[presets.a]\nfps = 10\n\n[presets.b]\nfps = 20\n")
    config.write_text(original)
    save_preset("a", {"fps": 12, "filters": ["edge"]})
    text = config.read_text()
    assert text.startswith("# my settings\n[defaults]\nmirror = true  # selfie view\n")
    assert load_preset("a") == {"mirror": True, "fps": 12, "filters": ["edge"]}
    assert load_preset("b") == {"mirror": True, "fps": 20}
    save_preset("c", {"mirror": False})
    assert sorted(list_presets()) == ["a", "b", "c"] and "# my settings" in config.read_text()


def test_rename_and_delete_keep_comments_and_order(config):
    """tomlkit edits: the renamed table keeps its place and its comments; a delete removes only its table."""
    config.parent.mkdir()
    config.write_text("[presets.a]  # first\nfps = 10  # ten\n\n[presets.b]\nfps = 20\n\n[presets.c]\nfps = 30\n")
    rename_preset("a", "a+z")
    text = config.read_text()
    assert '[presets."a+z"]  # first\nfps = 10  # ten\n' in text
    assert text.index("a+z") < text.index("presets.b") < text.index("presets.c")
    delete_preset("b")
    assert list_presets() == {"a+z": {"fps": 10}, "c": {"fps": 30}} and "# ten" in config.read_text()


def test_the_schema_names_the_run_options_and_round_trips_them(config):
    """Each preset key is a field of LiveOptions and an option of `camfilters run`; options saved as settings
    read back as the same options."""
    import dataclasses
    from pathlib import Path

    from camfilters.cli import build_parser
    from camfilters.live import LiveOptions

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    assert set(SETTINGS) <= {f.name for f in dataclasses.fields(LiveOptions)}
    assert set(SETTINGS) <= {action.dest for action in run._actions}
    options = LiveOptions(filters=["edge"], lenses=["glasses"], source="demo", size=(320, 240), fps=15.0,
                          toast_seconds=2.5, mirror=True, audio_denoise=True, output_dir=Path("/tmp/x"), virtual_cam="")
    settings = settings_from(options)
    assert settings["virtual_cam"] is True and settings["size"] == "320x240"  # TOML's spelling
    save_preset("all", settings)
    assert options_from(load_preset("all")) == {key: getattr(options, key) for key in SETTINGS}
    assert settings_from(LiveOptions()) == {"filters": [], "source": "auto", "mirror": False}  # unset: left out


@pytest.mark.parametrize(("text", "match"), [
    ("[defaults]\nmirror = yes\n", r"config.toml: Invalid value \(at line 2, column 10\)"),
    ("[defaults]\nmirror = true\nfps = -3\n", r"config.toml line 3: \[defaults\] fps must be a positive number"),
    ("[presets.a]\ntoast_seconds = 0\n", r"line 2: \[presets.a\] toast_seconds must be a positive number"),
    ("[presets.a]\nsize = 'big'\n", r"line 2: \[presets.a\] size must look like \"1280x720\""),
    ("[presets.a]\nfilter = ['edge']\n", r"line 2: \[presets.a\] filter is not a setting \(use filters, lenses"),
    ("[presets.a]\nfilters = 'edge'\n", r"line 2: \[presets.a\] filters must be a list of strings"),
    ("[preset.a]\nfps = 1\n", r"line 1: unknown table 'preset'; use \[defaults\] and \[presets.NAME\]"),
])
def test_a_bad_file_is_one_line_naming_the_file_line_and_key(config, text, match):
    config.parent.mkdir()
    config.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_preset(None)
    assert str(config) in str(info.value) and "\n" not in str(info.value)


def test_a_bad_file_is_never_overwritten_by_save(config):
    config.parent.mkdir()
    config.write_text("[defaults]\nmirror = maybe\n")
    before = hashlib.sha256(config.read_bytes()).hexdigest()
    with pytest.raises(ConfigError):
        save_preset("x", {"fps": 30})
    assert hashlib.sha256(config.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(("name", "settings", "match"), [
    ("bad name", {}, r"preset name must be 1-64 letters"),
    ("ok", {"fps": 0}, r"preset ok: fps must be a positive number"),
    ("ok", {"colour": "red"}, r"preset ok: colour is not a setting"),
])
def test_save_validates_before_writing(config, name, settings, match):
    with pytest.raises(ConfigError, match=match):
        save_preset(name, settings)
    assert not config.exists()


def test_the_presets_command_lists_them_and_run_uses_one_with_flags_winning(config, tmp_path):
    from cli_helpers import cli_main
    from helpers import decode

    save_preset("small", {"source": "demo", "size": "160x120", "fps": 15, "filters": ["edge"],
                          "output_dir": str(tmp_path / "out")})
    listed = cli_main("presets")
    assert listed.returncode == 0 and str(config) in listed.stdout
    assert "small" in listed.stdout and "filters=edge" in listed.stdout and "size=160x120" in listed.stdout
    out = tmp_path / "run.mp4"
    proc = cli_main("run", "--preset", "small", "--size", "320x240", "--no-window", "--max-frames", "5",
                    "--record", str(out))
    assert proc.returncode == 0, proc.stderr
    frames, _, _ = decode(out)
    assert frames[0].shape == (240, 320, 3)  # --size on the command line wins over the preset's
    plain = tmp_path / "plain.mp4"
    proc = cli_main("run", "--preset", "small", "--filter", "identity", "--no-window", "--max-frames", "5",
                    "--record", str(plain))
    assert proc.returncode == 0, proc.stderr
    unfiltered, _, _ = decode(plain)
    assert unfiltered[0].shape == (120, 160, 3)  # the preset's size
    edge = cv2.resize(frames[-1], (160, 120), interpolation=cv2.INTER_AREA)
    assert np.abs(edge.astype(int) - unfiltered[-1]).mean() > 30  # edge maps vs the picture: --filter replaced edge


def test_an_unknown_or_bad_preset_is_one_line(config):
    from cli_helpers import cli_main

    proc = cli_main("run", "--preset", "nosuch", "--no-window")
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1  # a usage error
    assert "no preset 'nosuch'" in proc.stderr and "presets: none yet" in proc.stderr
    config.parent.mkdir()
    config.write_text("[defaults]\nfps = 'fast'\n")
    proc = cli_main("run", "--no-window")
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert f"{config} line 2: [defaults] fps must be a positive number" in proc.stderr


def test_presets_rename_and_delete_keep_the_rest_of_the_file(config):
    from cli_helpers import cli_main

    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("# mine\n[defaults]\nmirror = true\n")
    save_preset("cartoon+glasses", {"filters": ["cartoon"], "lenses": ["glasses"]})
    save_preset("b", {"fps": 12})
    proc = cli_main("presets", "rename", "cartoon+glasses", "toon")
    assert proc.returncode == 0 and "renamed preset cartoon+glasses to toon" in proc.stdout
    proc = cli_main("presets", "delete", "b")
    assert proc.returncode == 0
    assert list_presets() == {"toon": {"filters": ["cartoon"], "lenses": ["glasses"]}}
    assert config.read_text().startswith("# mine\n[defaults]\nmirror = true\n")
    proc = cli_main("presets", "delete", "nosuch")
    assert proc.returncode == 2 and "no preset 'nosuch'" in proc.stderr and "toon" in proc.stderr
    proc = cli_main("presets", "rename", "toon")
    assert proc.returncode == 2 and "rename OLD NEW" in proc.stderr
