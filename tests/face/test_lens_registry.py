"""The lens registry: the shared spec grammar, ``@register_lens`` and ``camfilters.lenses`` plugins.

None of this needs mediapipe: lenses are built and parsed without analysing a frame.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from camfilters.errors import ParameterError
from camfilters.face.lenses import LENSES, BgReplaceLens, Lens, parse_lens, register_lens

from helpers import plugin_site

ROOT = Path(__file__).resolve().parents[2]
BUILT_INS = ["mesh", "glasses", "face-blur", "face-pixelate", "big-eyes", "bg-blur", "bg-replace", "face-only",
             "bg-only"]


def test_built_ins_register_in_the_hotkey_order():
    assert LENSES.names()[:len(BUILT_INS)] == BUILT_INS
    assert all(LENSES.get_class(name).name == name for name in BUILT_INS)


@pytest.mark.parametrize("spec", ["bg-replace:color=0,177,64", "bg-replace:color=0 177 64",
                                  "bg-replace: color = 0, 177, 64"])
def test_colour_with_commas_is_one_value(spec):
    """A colour's commas belong to the value (it runs to the next ``,KEY=``); stored as BGR."""
    lens = parse_lens(spec)
    assert isinstance(lens, BgReplaceLens)
    assert tuple(lens.background((2, 3, 3))[0, 0]) == (64, 177, 0)


def test_colour_then_another_option(tmp_path):
    """``color=R,G,B,image=...``: the colour ends where the next key starts (both given: refused by the lens)."""
    with pytest.raises(ParameterError, match=r"give image or color, not both, got image='x.png' and color='1,2,3'"):
        parse_lens("bg-replace:color=1,2,3,image=x.png")


@pytest.mark.parametrize(("spec", "message"), [
    ("bg-blur:strength=3,strength=4", r"^lens bg-blur: option 'strength' given twice in 'bg-blur:strength=3,strength=4'$"),
    ("glasses:tint=0.5,tint=0.6", r"^lens glasses: option 'tint' given twice"),
    ("sparkles:x=1", r"^unknown lens 'sparkles'; valid lenses: autoframe, beauty, bg-blur, bg-only, bg-replace, big-eyes, "),
    (":strength=3", r"^empty lens name in ':strength=3'"),
    ("bg-blur:3", r"^lens bg-blur: expected key=value in 'bg-blur:3', got '3'$"),
    ("bg-replace:color=0,177", r"option color must be three numbers 0..255 'R,G,B', got '0,177'$"),
    ("light:target=0.9", r"^lens light: option target must be between 0.3 and 0.7, got 0.9$"),
    ("light:smoothing=0", r"^lens light: option smoothing must be between 0.02 and 5.0, got 0.0$"),
    ("light:balance=x", r"^lens light: option balance"),
    ("light:gain=2", r"^lens light: unknown option 'gain'; valid options: target, smoothing, max_gain, balance"),
])
def test_bad_lens_specs_are_one_line(spec, message):
    """Repeated keys are refused (the old lens parser kept the last one); every error names the bad part."""
    with pytest.raises(ParameterError, match=message) as info:
        parse_lens(spec)
    assert "\n" not in str(info.value)


def test_register_lens_refuses_duplicates_and_non_lenses():
    with pytest.raises(ParameterError, match=r"lens name 'mesh' is already registered by MeshLens"):
        @register_lens("mesh")
        class Again(Lens):
            pass
    with pytest.raises(ParameterError, match=r"lens 'thing' must be a subclass of Lens"):
        register_lens("thing")(object)


PLUGIN = '''
from camfilters.face.lenses import Lens, register_lens
from filters import Option

@register_lens("sepia")
class Sepia(Lens):
    """A plugin lens registered with the decorator."""
    help = "warm brown tones"
    needs_faces = False
    options = (Option("amount", float, 1.0, "0..1"),)

    def apply(self, frame, scene):
        frame[...] = frame.mean(axis=2, keepdims=True).astype(frame.dtype)


class Outline(Lens):
    """A plugin lens named by its entry point (registered under that name)."""
    help = "an outline"
'''


def test_lens_plugins_load_like_built_ins_and_broken_ones_are_skipped(tmp_path):
    """``camfilters.lenses`` entry points: a module that registers, a class, one raising, one calling sys.exit."""
    site = plugin_site(tmp_path, "camfilters-test-lenses", """
        [camfilters.lenses]
        sepia = sepia_plugin
        outline = sepia_plugin:Outline
        broken = broken_plugin
        quitter = quitter_plugin
        """, {"sepia_plugin": PLUGIN, "broken_plugin": "raise RuntimeError('boom at import')\n",
              "quitter_plugin": "import sys\nsys.exit(3)\n"})
    code = textwrap.dedent("""
        import logging
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        from camfilters.face import available_lenses, lens_help
        from camfilters.face.lenses import parse_lens
        names = available_lenses()
        assert names[-2:] == ["sepia", "outline"], names
        assert "broken" not in names and "quitter" not in names
        lens = parse_lens("sepia:amount=0.5")
        assert type(lens).__name__ == "Sepia" and lens.amount == 0.5 and lens.name == "sepia"
        assert parse_lens("outline").name == "outline"
        assert [(n, d, [(o.name, o.default, o.help) for o in opts]) for n, d, opts in lens_help() if n == "sepia"] \
            == [("sepia", "warm brown tones", [("amount", 1.0, "0..1")])]
        print("ok")
        """)
    env = {"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    warnings = [line for line in proc.stderr.splitlines() if "plugin" in line]
    assert len(warnings) == 2, proc.stderr
    assert "lens plugin 'broken' (broken_plugin) failed to load and is skipped: RuntimeError: boom at import" in warnings[0]
    assert "lens plugin 'quitter' (quitter_plugin) failed to load and is skipped: SystemExit: 3" in warnings[1]
