"""Registry, spec parsing, JIT warm-up and third-party plugins through entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import filters
from filters import Filter, Option, ParameterError, register_filter

from helpers import plugin_site

# The checkout under test, ahead of any installed copy, for the subprocesses.
ROOT = Path(filters.__file__).resolve().parents[1]

BUILTINS = {"blur", "box", "cartoon", "edge", "emboss", "identity", "kernel", "sharpen", "sketch"}


def test_available_is_sorted_and_has_every_builtin():
    names = filters.available()
    assert names == sorted(names)
    assert BUILTINS <= set(names)


def test_unknown_filter_suggests_the_closest_and_lists_valid_names():
    with pytest.raises(ParameterError, match="unknown filter 'edgy'; did you mean edge\\? valid filters: blur, box, ") as info:
        filters.get("edgy")
    assert "\n" not in str(info.value)
    with pytest.raises(ParameterError, match="unknown filter 'zzz'; valid filters: blur, box, "):
        filters.get("zzz")


def test_parse_converts_option_text():
    flt = filters.parse("edge:ksize=5")
    assert flt.name == "edge" and flt.ksize == 5


def test_parse_kernel_value_with_spaces_and_semicolons():
    flt = filters.parse("kernel:k=0 -1 0; -1 5 -1; 0 -1 0,normalize=false")
    assert flt.normalize is False
    frame = np.full((5, 5, 3), 100, np.uint8)
    np.testing.assert_array_equal(flt(frame), frame)  # the sharpen kernel sums to 1


@pytest.mark.parametrize("spec, message", [
    ("", "empty filter name"),
    (":ksize=3", "empty filter name"),
    ("edge:5", "expected key=value"),
    ("edge:ksize=4", "ksize"),
    ("edge:ksize=five", "ksize must be int, got 'five'"),
    ("edge:ksize=3,ksize=5", "option 'ksize' given twice"),
    ("blur:radius=3", "unknown option 'radius'; valid options: "),
])
def test_parse_errors_are_one_line(spec, message):
    with pytest.raises(ParameterError, match=message) as info:
        filters.parse(spec)
    assert "\n" not in str(info.value)


def test_duplicate_registration_raises():
    with pytest.raises(ParameterError, match="already registered"):
        @register_filter("edge")
        class Again(Filter):
            pass


def test_register_requires_a_filter_subclass():
    with pytest.raises(ParameterError, match="must be a subclass of Filter"):
        register_filter("not-a-filter")(object)


def test_option_conversion_and_checks():
    opt = Option("amount", float, 1.0, "strength", check=lambda v: None if v >= 0 else "must be >= 0")
    assert opt.convert("f", "2.5") == 2.5
    with pytest.raises(ParameterError, match=r"f: option amount must be >= 0, got -1.0"):
        opt.convert("f", "-1")
    with pytest.raises(ParameterError, match="must be float"):
        opt.convert("f", "nan")
    flag = Option("on", bool, False, "switch")
    assert flag.convert("f", "yes") is True and flag.convert("f", "0") is False
    with pytest.raises(ParameterError, match="must be bool"):
        flag.convert("f", "maybe")


def test_warm_up_runs_every_filter():
    seconds = filters.warm_up()
    assert set(seconds) == set(filters.available())


PLUGIN = '''
import numpy as np
from filters import Filter, Option, register_filter

@register_filter("invert")
class Invert(Filter):
    """Negative of the frame."""
    options = (Option("strength", float, 1.0, "0..1 blend with the original"),)

    def _apply(self, src, out):
        np.subtract(255, src, out=out)
'''


@pytest.mark.slow  # a process with the plugins on its path
def test_plugins_load_like_builtins_and_broken_ones_are_skipped(tmp_path):
    """A plugin registered through the camfilters.filters entry point works; a broken one is named and skipped."""
    site = plugin_site(tmp_path, "camfilters-test-plugins", """
        [camfilters.filters]
        invert = invert_plugin
        broken = broken_plugin
        """, {"invert_plugin": PLUGIN, "broken_plugin": "raise RuntimeError('boom at import')\n"})
    code = textwrap.dedent("""
        import numpy as np, filters
        names = filters.available()
        assert "invert" in names and "broken" not in names, names
        out = filters.parse("invert")(np.full((2, 2, 3), 10, np.uint8))
        assert (out == 245).all()
        print(filters.load_plugins())
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(site), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "{'broken': 'RuntimeError: boom at import'}" in proc.stdout
    assert "filter plugin 'broken'" in proc.stderr and "boom at import" in proc.stderr


def _env(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), "PATH": "/usr/bin:/bin"}


@pytest.mark.slow  # a process with the plugins on its path
def test_plugin_calling_sys_exit_at_import_is_skipped_and_the_program_goes_on(tmp_path):
    """A plugin whose import calls sys.exit(3) is named and skipped: the others are listed, the program goes on
    (`camfilters list` with it: tests/app/test_cli.py)."""
    site = plugin_site(tmp_path, "camfilters-test-plugins", """
        [camfilters.filters]
        invert = invert_plugin
        quitter = quitting_plugin
        """, {"invert_plugin": PLUGIN, "quitting_plugin": "import sys\nsys.exit(3)\n"})
    code = "import filters; print(filters.available()); print('went on')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(site), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "filter plugin 'quitter'" in proc.stderr and "SystemExit: 3" in proc.stderr
    listed, went_on = proc.stdout.splitlines()
    assert "'invert'" in listed and "'blur'" in listed and "quitter" not in listed and went_on == "went on"


def test_warm_up_of_instances_uses_their_options_and_leaves_them_untouched(monkeypatch):
    """An instance is warmed through a new filter with the same options; the instance keeps its buffers."""
    box = filters.parse("box:ksize=31")
    kernel = filters.parse("kernel:k=1 2 1 2 1; 0 0 0 0 0; -1 -2 -1 -2 -1; 0 0 1 0 0; 0.5 0 0 0 0")
    frame = np.zeros((40, 30, 3), np.uint8)
    box(frame)
    before = dict(box._buffers)
    called = []
    real = filters.Filter.__call__
    monkeypatch.setattr(filters.Filter, "__call__", lambda self, *a, **k: called.append(self) or real(self, *a, **k))
    seconds = filters.warm_up([box, kernel, "edge"])
    assert list(seconds) == ["box:ksize=31", kernel.spec, "edge"]
    assert [f.spec for f in called] == list(seconds)
    assert box not in called and kernel not in called
    assert box._buffers.keys() == before.keys() and all(box._buffers[k] is v for k, v in before.items())


PICKY = '''
from filters import Filter, register_filter

@register_filter("picky")
class Picky(Filter):
    def _apply(self, src, out):
        raise ValueError("too small")
'''


@pytest.mark.slow  # a process with the plugin on its path
def test_warm_up_in_background_never_raises(tmp_path):
    """A filter failing on the warm-up frame is logged by spec; the thread ends normally."""
    site = plugin_site(tmp_path, "camfilters-test-plugins", """
        [camfilters.filters]
        picky = picky_plugin
        """, {"picky_plugin": PICKY})
    code = textwrap.dedent("""
        import threading, filters
        errors = []
        threading.excepthook = lambda args: errors.append(args.exc_value)
        thread = filters.warm_up_in_background(["picky", "identity"])
        if thread is not None:
            thread.join()
        print("thread errors", errors)
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(site), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "thread errors []" in proc.stdout
    assert "warming up picky failed: ValueError: too small" in proc.stderr
