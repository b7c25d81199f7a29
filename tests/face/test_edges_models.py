"""An empty model file is one line saying it is empty (MediaPipe said "Unable to get file size, errno=11")."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from camfilters.errors import ExitCode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from cli_helpers import assert_one_line_error, camfilters  # noqa: E402

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize(("lens", "option"), [("glasses", "--face-model"), ("bg-blur", "--segmentation-model")])
def test_empty_model_file_is_one_line(need_mediapipe, tmp_path, lens, option):
    empty = tmp_path / "empty.task"
    empty.touch()
    proc = camfilters("run", "--source", "demo", "--size", "320x180", "--lens", lens, option, str(empty),
                      "--no-window", "--max-frames", "2")
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert_one_line_error(proc, f"cannot load the model {empty}: the file is empty (0 bytes)")
    assert "errno" not in proc.stderr


def test_models_under_names_that_are_not_utf8(need_mediapipe, tmp_path):
    """MediaPipe refused such a name ("surrogates not allowed"); they load like any other."""
    import os
    import shutil

    from helpers import MODELS

    face = shutil.copyfile(MODELS / "face_landmarker.task", tmp_path / os.fsdecode(b"face\xff.task"))
    mask = shutil.copyfile(MODELS / "selfie_segmentation.tflite", tmp_path / os.fsdecode(b"mask\xfe.tflite"))
    proc = camfilters("run", "--source", "demo", "--size", "320x180", "--lens", "glasses", "--lens", "bg-blur",
                      "--face-model", str(face), "--segmentation-model", str(mask), "--no-window", "--max-frames", "3")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "error" not in proc.stderr
