"""Without mediapipe the package still imports, and asking for a lens gives the install hint."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCK_MEDIAPIPE = textwrap.dedent("""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "mediapipe" or name.startswith("mediapipe."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Block())
""")


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_MEDIAPIPE + textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_build_face_stage_without_mediapipe_gives_the_install_hint():
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
        assert "mediapipe" not in sys.modules
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("('mesh', 'glasses', ")
    assert lines[1] == "13"  # the 9 built-ins, autoframe, beauty, light, pack: listed without mediapipe
    assert lines[2] == 'ERROR:--lens needs the face extra: pip install "camfilters[face]"'


def test_the_blocker_really_blocks():
    """The simulated missing package is missing (so the test above tests what it says)."""
    done = run("import mediapipe")
    assert done.returncode != 0 and "No module named 'mediapipe'" in done.stderr
