"""bg-replace quality on a moving clip built from real photos: halo and ghost, against the old recipe.

The clip: the astronaut, cut out of astronaut.png by an IMAGE-mode segmentation of the photo
(so the true silhouette is known exactly), pasted on coffee.png at 1280x720; it stands still
for `STILL` frames, then walks right by `STEP` px a frame. Each frame goes through the
bg-replace lens (colour `REPLACEMENT`).

Metrics, per frame, with ``sil`` the pasted silhouette (alpha >= 0.5) and "closer" the
Euclidean BGR distance:
- halo width (px): the pixels within `BAND` px outside ``sil`` whose output colour is closer
  to the old background (the input frame) than to the replacement, divided by the length of
  the silhouette's outline (its boundary pixel count): the mean width of the fringe.
- ghost area (px): the pixels inside the previous frame's silhouette but more than `BAND`
  px outside the current one (the place the person just left) whose output is closer to the
  input frame than to the replacement.
- leak (levels): the mean colour distance from the replacement more than `BAND` px outside
  both silhouettes: a faint wash of the old background there fails here.
- bite (px): the same as the halo, inside: pixels within `BAND` px inside ``sil`` whose output
  is closer to the replacement than to the input: a mask that is only shrunk fails here.

The "before" recipe is the old implementation, kept here as the reference: a plain EMA
(weight 0.5) of the model's confidence, ``clip((m - 0.25) * 2)`` blurred by sigma = width/320
and upscaled, composited as is.

    python tests/face/test_bg_quality.py    # prints the numbers, writes docs/bg_replace_{before,after}.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests/helpers.py, when run as a script
from helpers import MODELS, load_photo  # noqa: E402

SIZE = (1280, 720)  # W, H
PERSON = 620  # pasted photo size, px
STILL, STEP, MOVING = 6, 32, 8
BAND = 8  # px
REPLACEMENT = (160, 90, 40)  # BGR of color=40,90,160
SEGMENTATION_MODEL = MODELS / "selfie_segmentation.tflite"


def cutout() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photo (PERSON px square, BGR uint8) and its person alpha (float32, 1 px anti-aliased)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    photo = load_photo("astronaut.png")
    options = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(SEGMENTATION_MODEL)),
                                           output_confidence_masks=True)
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        rgb = cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)
        conf = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)).confidence_masks[0]
        conf = conf.numpy_view().reshape(photo.shape[:2]).astype(np.float32)
    big = cv2.resize(photo, (PERSON, PERSON), interpolation=cv2.INTER_CUBIC)
    alpha = cv2.resize((conf >= 0.5).astype(np.float32), (PERSON, PERSON), interpolation=cv2.INTER_LINEAR)
    return big, alpha


def build_clip() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The frames (H, W, 3) uint8 BGR and their true alphas (H, W) float32."""
    person, alpha = cutout()
    back = cv2.resize(load_photo("coffee.png"), SIZE, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    frames, alphas = [], []
    for i in range(STILL + MOVING):
        x = 120 + STEP * max(0, i - STILL + 1)
        a = np.zeros(SIZE[::-1], np.float32)
        a[SIZE[1] - PERSON:, x:x + PERSON] = alpha
        fg = np.zeros_like(back)
        fg[SIZE[1] - PERSON:, x:x + PERSON] = person
        frames.append(np.clip(fg * a[..., None] + back * (1 - a[..., None]) + 0.5, 0, 255).astype(np.uint8))
        alphas.append(a)
    return frames, alphas


def run_after(make_stage, frames: list[np.ndarray]) -> list[np.ndarray]:
    """The clip through today's bg-replace lens (synchronous face stage)."""
    stage = make_stage(["bg-replace:color=40,90,160"])
    return [stage.process(f, i / 30.0).copy() for i, f in enumerate(frames)]


def run_before(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The clip through the old bg-replace recipe (see the module docstring)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(SEGMENTATION_MODEL)),
                                           running_mode=vision.RunningMode.VIDEO, output_confidence_masks=True)
    state, outs = None, []
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        for i, frame in enumerate(frames):
            small = cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)
            rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
            m = segmenter.segment_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), i * 33)
            m = np.clip(m.confidence_masks[0].numpy_view().reshape(360, 640).astype(np.float32), 0, 1)
            state = m if state is None else 0.5 * m + 0.5 * state
            soft = cv2.GaussianBlur(np.clip((state - 0.25) * 2.0, 0, 1), (0, 0), 2.0)
            a = cv2.resize(soft, SIZE, interpolation=cv2.INTER_LINEAR)[..., None]
            outs.append(np.clip(frame * a + np.float32(REPLACEMENT) * (1 - a) + 0.5, 0, 255).astype(np.uint8))
    return outs


def _closer_to_input(out: np.ndarray, frame: np.ndarray) -> np.ndarray:
    o = out.astype(np.float32)
    return np.linalg.norm(o - frame, axis=2) < np.linalg.norm(o - np.float32(REPLACEMENT), axis=2)


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def measure(frames, alphas, outs) -> dict[str, float]:
    """Mean halo width (px), bite (px) and leak (levels) over every frame; mean ghost area (px) over the
    moving frames."""
    halo, bite, ghost, leak = [], [], [], []
    for i, (frame, a, out) in enumerate(zip(frames, alphas, outs)):
        sil = (a >= 0.5).astype(np.uint8)
        outline = float((sil - cv2.erode(sil, _disk(1), borderType=cv2.BORDER_REPLICATE)).sum())
        outside = (cv2.dilate(sil, _disk(BAND)) > 0) & (sil == 0)
        inside = (sil > 0) & (cv2.erode(sil, _disk(BAND), borderType=cv2.BORDER_REPLICATE) == 0)
        near = _closer_to_input(out, frame)
        halo.append((near & outside).sum() / outline)
        bite.append((~near & inside).sum() / outline)
        far = cv2.dilate(sil | (alphas[max(0, i - 1)] >= 0.5).astype(np.uint8), _disk(BAND)) == 0
        leak.append(float(np.linalg.norm(out[far].astype(np.float32) - np.float32(REPLACEMENT), axis=1).mean()))
        if i >= STILL:
            left = (alphas[i - 1] >= 0.5) & (cv2.dilate(sil, _disk(BAND)) == 0)
            ghost.append(float((near & left).sum()))
    return {"halo_px": float(np.mean(halo)), "bite_px": float(np.mean(bite)), "ghost_px": float(np.mean(ghost)),
            "leak": float(np.mean(leak))}


@pytest.fixture(scope="module")
def moving_clip(request):
    pytest.importorskip("mediapipe")
    if not SEGMENTATION_MODEL.is_file():
        pytest.skip(f"model {SEGMENTATION_MODEL} is missing")
    return build_clip()


def test_bg_replace_has_less_halo_and_ghost_than_the_old_recipe(moving_clip, make_stage):
    frames, alphas = moving_clip
    before = measure(frames, alphas, run_before(frames))
    after = measure(frames, alphas, run_after(make_stage, frames))
    # Measured: halo 1.28 -> 0.65 px, ghost 960 -> 288 px, bite 5.68 -> 5.40 px. The ghost left
    # is the model's own error on that frame (an IMAGE-mode segmenter, with no history, makes it too).
    assert after["halo_px"] < 0.8 and after["halo_px"] < 0.7 * before["halo_px"], (before, after)
    assert after["ghost_px"] < 400 and after["ghost_px"] < 0.5 * before["ghost_px"], (before, after)
    assert after["bite_px"] < before["bite_px"] + 0.5, (before, after)
    assert after["leak"] < 3.0, (before, after)  # not bought by eating into the person


if __name__ == "__main__":
    from camfilters.face import build_face_stage

    frames, alphas = build_clip()
    before = run_before(frames)
    with build_face_stage(["bg-replace:color=40,90,160"], None, face_model=str(MODELS / "face_landmarker.task"),
                          segmentation_model=str(SEGMENTATION_MODEL), synchronous=True) as stage:
        after = [stage.process(f, i / 30.0).copy() for i, f in enumerate(frames)]
    print("before", measure(frames, alphas, before))
    print("after ", measure(frames, alphas, after))
    docs = Path(__file__).resolve().parents[2] / "docs"
    k = STILL + 1  # one frame into the move
    for name, outs in (("before", before), ("after", after)):
        crop = outs[k][60:720, 100:1000]
        cv2.imwrite(str(docs / f"bg_replace_{name}.png"), cv2.resize(crop, (450, 330), interpolation=cv2.INTER_AREA))
        zoom = outs[k][100:400, 300:600]  # the hair and helmet edge, 2x
        cv2.imwrite(str(docs / f"bg_replace_{name}_zoom.png"), cv2.resize(zoom, (600, 600), interpolation=cv2.INTER_NEAREST))


def test_mask_smoother_takes_the_new_mask_where_the_picture_moved():
    """Still picture: the EMA (weight 0.5); a region whose picture changed by 12+ levels: the new mask
    whole there (and a few px around), the EMA elsewhere."""
    from camfilters.face.segmentation import MaskSmoother

    smooth = MaskSmoother(0.5)
    frame = np.full((90, 160, 3), 100, np.uint8)
    smooth(np.ones((90, 160), np.float32), frame)
    still = smooth(np.zeros((90, 160), np.float32), frame)
    np.testing.assert_allclose(still, 0.5, atol=1e-6)
    moved = frame.copy()
    moved[30:60, 40:80] = 160  # the person left this place
    out = smooth(np.zeros((90, 160), np.float32), moved)
    assert np.abs(out[30:60, 40:80]).max() < 1e-6  # no ghost
    np.testing.assert_allclose(out[:, 100:], 0.25, atol=1e-6)  # far from the change: the EMA
