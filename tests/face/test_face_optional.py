"""Without mediapipe or ai-edge-litert (the face extra) the package still imports, and asking for a lens gives
the install hint."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCK = textwrap.dedent("""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == BLOCKED or name.startswith(BLOCKED + "."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Block())
""")
EXTRA = ["mediapipe", "ai_edge_litert"]


def run(code: str, blocked: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"BLOCKED = {blocked!r}" + BLOCK + textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("blocked", EXTRA)
def test_build_face_stage_without_the_face_extra_gives_the_install_hint(blocked):
    done = run("""
        import camfilters.face as face
        from camfilters.errors import CamfiltersError
        print(tuple(face.available_lenses()))
        print(len(face.lens_help()))
        try:
            face.build_face_stage(["glasses"])
        except face.FaceUnavailableError as exc:
            assert isinstance(exc, CamfiltersError) and isinstance(exc, RuntimeError)
            print("ERROR:" + str(exc))
        assert BLOCKED not in sys.modules
    """, blocked)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("('mesh', 'glasses', ")
    assert lines[1] == "13"  # the 9 built-ins, autoframe, beauty, light, pack: listed without mediapipe
    assert lines[2] == 'ERROR:--lens needs the face extra: pip install "camfilters[face]"'


@pytest.mark.parametrize("blocked", EXTRA)
def test_the_blocker_really_blocks(blocked):
    """The simulated missing package is missing (so the test above tests what it says)."""
    done = run(f"import {blocked}", blocked)
    assert done.returncode != 0 and f"No module named '{blocked}'" in done.stderr
