"""Fixtures of the face tests: the real MediaPipe models from ../shared/models, helpers to build stages."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from helpers import MODELS

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers beside these tests (clips)

FACE_MODEL = MODELS / "face_landmarker.task"
SEGMENTATION_MODEL = MODELS / "selfie_segmentation.tflite"

HAVE_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None


@pytest.fixture
def need_mediapipe() -> None:
    if not HAVE_MEDIAPIPE:
        pytest.skip("mediapipe is not installed (the face extra)")
    for model in (FACE_MODEL, SEGMENTATION_MODEL):
        if not model.is_file():
            pytest.skip(f"model {model} is missing")


@pytest.fixture
def make_stage(need_mediapipe):
    """Build a synchronous face stage on the shared models; closes them after the test."""
    from camfilters.face import build_face_stage

    stages = []

    def make(lenses, inner=None, **kwargs):
        kwargs.setdefault("synchronous", True)
        stage = build_face_stage(list(lenses), inner, face_model=str(FACE_MODEL),
                                 segmentation_model=str(SEGMENTATION_MODEL), **kwargs)
        stages.append(stage)
        return stage

    yield make
    for stage in stages:
        stage.close()


@pytest.fixture(scope="session")
def person_reference(astronaut):
    """Person confidence of astronaut.png from an independent IMAGE-mode ImageSegmenter, (H, W) float32."""
    if not HAVE_MEDIAPIPE or not SEGMENTATION_MODEL.is_file():
        pytest.skip("mediapipe or the segmentation model is missing")
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(SEGMENTATION_MODEL)),
                                           output_confidence_masks=True)
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
        result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        return result.confidence_masks[0].numpy_view().reshape(astronaut.shape[:2]).copy()
