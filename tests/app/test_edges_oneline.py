"""Inputs that ended in a traceback or a leaked warning: each is one line and its exit code now."""

from __future__ import annotations

import errno

import pytest

from camfilters.errors import ExitCode

from cli_helpers import assert_one_line_error, cli_main

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize("text", ["a = " + "[" * 100_000 + "]" * 100_000,
                                  "a = " + "{b = " * 100_000 + "1" + "}" * 100_000])
def test_deeply_nested_config_is_one_line(tmp_path, text):
    config = tmp_path / "config.toml"
    config.write_text(text)
    proc = cli_main("presets", env={"CAMFILTERS_CONFIG": str(config)})
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert_one_line_error(proc, f"config file {config}", "nested too deeply")


@pytest.mark.parametrize(("option", "value"), [("--max-frames", "1.5"), ("--fps", "1e-300"), ("--fps", "2000")])
def test_run_numbers_out_of_range_are_usage_errors(option, value):
    proc = cli_main("run", "--source", "demo", "--no-window", option, value)
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    want = "must be a whole number >= 1" if option == "--max-frames" else "must be a number from 0.01 to 1000"
    assert_one_line_error(proc, option, want, repr(value))
    assert "Overflow" not in proc.stderr


@pytest.mark.parametrize(("option", "value", "want"), [("--jobs", "1.5", "must be a whole number >= 1"),
                                                       ("--crf", "1.5", "must be a whole number from 0 to 51"),
                                                       ("--crf", "52", "must be a whole number from 0 to 51")])
def test_render_whole_numbers_say_whole(tmp_path, option, value, want):
    proc = cli_main("render", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out.mp4"), option, value)
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert_one_line_error(proc, option, want)


@pytest.mark.parametrize(("text", "want"), [("inf 1e39", "--input must hold finite numbers"),
                                            ("1 1e39", "--input must hold finite numbers"),
                                            ("nan", "--input must hold finite numbers"),
                                            ("1 2; 3 nan", "--input must hold finite numbers")])
def test_explain_refuses_numbers_that_are_not_finite(text, want, recwarn):
    """NaN was accepted, and 1e39 (over float32) leaked numpy's RuntimeWarning (in this process pytest records
    warnings instead of printing them: `recwarn` holds them)."""
    proc = cli_main("explain", "--kernel", "1", "--input", text)
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert_one_line_error(proc, want)
    assert "RuntimeWarning" not in proc.stderr
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]


def test_explain_result_overflowing_is_one_line(recwarn):
    proc = cli_main("explain", "--kernel", "3e38 3e38", "--input", "3e38 3e38")
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert_one_line_error(proc, "the output overflows")
    assert "RuntimeWarning" not in proc.stderr
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]


def test_saving_a_preset_into_a_read_only_folder_names_the_file_and_why(tmp_path, monkeypatch):
    """The error names the config file and why, not the hidden temporary file that could not be made; the old
    file is left as it was."""
    from camfilters import presets
    from camfilters.media import atomic

    folder = tmp_path / "conf"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text("[defaults]\nmirror = true\n")
    monkeypatch.setenv(presets.CONFIG_ENV, str(config))

    def refuse(file, *args, **kwargs):  # what a read-only folder does to a new file (tests run as root)
        raise PermissionError(errno.EACCES, "Permission denied", str(file))

    monkeypatch.setattr(atomic, "open", refuse, raising=False)
    with pytest.raises(presets.ConfigError) as info:
        presets.save_preset("p", {"mirror": True})
    message = str(info.value)
    assert message == (f"cannot save preset p: cannot write the config file {config}: Permission denied; "
                       "choose a writable folder")
    assert config.read_text() == "[defaults]\nmirror = true\n" and sorted(folder.iterdir()) == [config]


@pytest.mark.parametrize("endless", [True, False])
def test_config_file_is_not_read_without_bound(tmp_path, endless):
    """CAMFILTERS_CONFIG=/dev/zero (or a 1 GB file) is refused after 1 MB, not read until memory runs out."""
    config = "/dev/zero" if endless else str(tmp_path / "config.toml")
    if not endless:
        with open(config, "wb") as f:
            f.truncate(2**30)  # sparse
    proc = cli_main("presets", env={"CAMFILTERS_CONFIG": config})
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert_one_line_error(proc, f"config file {config} is over 1 MB")
