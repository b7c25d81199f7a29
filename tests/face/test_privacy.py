"""The privacy lenses' drawing on real composite frames, from known face boxes (no detector).

`clips` pastes the astronaut's head at 2 % to 30 % of the frame width; these tests give the
lens the true boxes, so they check the drawing alone: every face hidden by the coverage
metric of `clips`, in every mode and shape, nothing drawn beyond the head region.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camfilters.errors import ParameterError
from camfilters.face.drawing import head_region
from camfilters.face.lenses import FaceBlurLens, FacePixelateLens, Scene, parse_lens
from camfilters.face.tracking import Face

from clips import DEFAULT_TRACKS, background, compose, is_covered

SIZE = (1280, 720)
LENSES = {
    "blur": FaceBlurLens(),
    "blur, weakest": FaceBlurLens(strength=8),
    "pixelate": FacePixelateLens(),
    "pixelate, finest": FacePixelateLens(blocks=8),
    "solid": FaceBlurLens(mode="solid"),
    "box": FacePixelateLens(shape="box"),
}


@pytest.fixture(scope="module")
def frames():
    """Three composite frames with their true face boxes: [(frame, [(id, box)]), ...]."""
    base = background(SIZE)
    return [compose(base, DEFAULT_TRACKS, i) for i in (0, 24, 45)]


def scene(boxes, scores=None) -> Scene:
    faces = [Face(i, box, score=1.0 if scores is None else scores[i]) for i, box in enumerate(boxes)]
    return Scene(faces, None, 0.0)


def visible(box) -> bool:
    x, y, w, h = box
    return 0 <= x + w / 2 < SIZE[0] and 0 <= y + h / 2 < SIZE[1]


@pytest.mark.parametrize("name", LENSES)
def test_every_face_is_hidden_at_every_size(frames, name):
    """Faces from 2 % (26 px) to 30 % (384 px) of the width are all covered, weakest settings included."""
    lens = LENSES[name]
    sizes = set()
    for image, truth in frames:
        out = image.copy()
        lens.apply(out, scene([box for _, box in truth]))
        for fid, box in truth:
            if visible(box):
                assert is_covered(image, out, box), f"{name}: face {fid} ({box[2]:.0f} px wide) still shows"
                sizes.add(round(box[2]))
    assert min(sizes) <= 26 and max(sizes) >= 384


def test_the_metric_rejects_a_faint_blur_and_a_copy(frames):
    """A 1-pixel Gaussian blur or the untouched frame does not count as hidden (the metric can fail)."""
    image, truth = frames[1]
    faint = cv2.GaussianBlur(image, (0, 0), 1.0)
    assert not any(is_covered(image, out, box) for out in (faint, image.copy()) for _, box in truth)


@pytest.mark.parametrize("name", LENSES)
def test_nothing_changes_beyond_the_head_region(frames, name):
    """Pixels farther than the feather (10 % of the smaller half-axis) outside every head region are untouched."""
    lens = LENSES[name]
    image, truth = frames[2]
    out = image.copy()
    lens.apply(out, scene([box for _, box in truth]))
    allowed = np.zeros(image.shape[:2], np.uint8)
    for _, box in truth:
        cx, cy, a, b = head_region(box, lens.scale)
        grow = 0.1 * min(a, b) + 2
        cv2.rectangle(allowed, (int(cx - a - grow), int(cy - b - grow)), (int(cx + a + grow), int(cy + b + grow)), 1, -1)
    assert np.array_equal(out[allowed == 0], image[allowed == 0])


def test_the_head_region_is_fully_hidden_in_solid_mode():
    """mode=solid: every pixel inside the ellipse is the solid colour (the feather lies outside)."""
    image = np.full((200, 300, 3), 200, np.uint8)
    box = (120.0, 80.0, 50.0, 50.0)
    FaceBlurLens(mode="solid").apply(image, scene([box]))
    cx, cy, a, b = head_region(box, 1.3)
    ys, xs = np.mgrid[0:200, 0:300]
    inside = ((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2 <= 1.0
    assert (image[inside] == FaceBlurLens.SOLID).all()
    assert a == pytest.approx(0.6 * 1.3 * 50) and b == pytest.approx(0.7 * 1.3 * 50)


@pytest.mark.parametrize("blocks", [2, 6, 8])
def test_pixel_blocks_follow_the_face_width(rng, blocks):
    """Along a row through the face, every block is at least 1/``blocks`` of the face width (any face size)."""
    for width in (30.0, 400.0):
        image = rng.integers(0, 256, (600, 900, 3), dtype=np.uint8)
        box = (250.0, 150.0, width, width)
        FacePixelateLens(blocks=blocks).apply(image, scene([box]))
        row = image[int(box[1] + width / 2), int(box[0]):int(box[0] + width)].astype(int)
        edges = np.flatnonzero(np.abs(np.diff(row, axis=0)).max(axis=1) > 0)
        inner_runs = np.diff(edges)  # the runs between two block edges (the two ends may be cut)
        assert len(edges) <= blocks + 1
        assert (inner_runs >= width / blocks - 1).all(), f"blocks of {inner_runs.min()} px on a {width:.0f} px face"


def test_blur_strength_grows_with_the_face(rng):
    """The same relative blur on a small and a big face: detail left (high-pass std) under 10 % for both."""
    for width in (40.0, 400.0):
        image = rng.integers(0, 256, (700, 1000, 3), dtype=np.uint8)
        box = (300.0, 200.0, width, width)
        out = image.copy()
        FaceBlurLens(strength=8).apply(out, scene([box]))
        x, y = int(box[0] + 0.2 * width), int(box[1] + 0.2 * width)
        s = int(0.6 * width)
        detail = lambda im: (im.astype(np.float32) - cv2.GaussianBlur(im.astype(np.float32), (0, 0), width / 20)).std()  # noqa: E731
        assert detail(out[y:y + s, x:x + s]) < 0.1 * detail(image[y:y + s, x:x + s])


def test_threshold_leaves_low_scores_alone(frames):
    """A face scored below ``threshold`` is not drawn; one at or above is."""
    image, truth = frames[1]
    boxes = [box for _, box in truth if visible(box)][:2]
    out = image.copy()
    parse_lens("face-blur:threshold=0.6").apply(out, scene(boxes, scores=[0.59, 0.6]))
    assert not is_covered(image, out, boxes[0]) and is_covered(image, out, boxes[1])
    assert FaceBlurLens().threshold <= 0.6  # the detector's measured no-false-face level (camfilters.face.detect)


@pytest.mark.parametrize(("spec", "message"), [
    ("face-blur:mode=smear", "lens face-blur: option mode must be one of blur, pixelate, solid, got 'smear'"),
    ("face-blur:shape=circle", "lens face-blur: option shape must be one of ellipse, box, got 'circle'"),
    ("face-blur:scale=0.5", "lens face-blur: option scale must be between 1.0 and 3.0, got 0.5"),
    ("face-blur:strength=2", "lens face-blur: option strength must be between 8.0 and 50.0, got 2.0"),
    ("face-pixelate:blocks=12", "lens face-pixelate: option blocks must be between 2 and 8, got 12"),
    ("face-pixelate:blocks=4.5", "lens face-pixelate: option blocks must be int, got '4.5'"),
    ("face-blur:threshold=1.5", "lens face-blur: option threshold must be between 0.05 and 0.95, got 1.5"),
    ("face-blur:margin=2", "lens face-blur: unknown option 'margin'; valid options: mode, shape, scale, strength, "
                           "blocks, threshold"),
])
def test_bad_options_are_one_line_errors(spec, message):
    with pytest.raises(ParameterError) as info:
        parse_lens(spec)
    assert str(info.value) == message


def test_modes_and_shapes_parse():
    lens = parse_lens("face-pixelate:mode=solid,shape=box,scale=2,threshold=0.1")
    assert (lens.mode, lens.shape, lens.scale, lens.threshold) == ("solid", "box", 2.0, 0.1)
    assert repr(FaceBlurLens()) == ("FaceBlurLens(mode='blur', shape='ellipse', scale=1.3, strength=15.0, blocks=6, "
                                    "threshold=0.6)")


def test_the_detector_keeps_what_the_lens_would_hide(make_stage):
    """The detector's score cut-off is the lowest threshold of the privacy lenses drawn."""
    stage = make_stage(["face-pixelate:threshold=0.7", "face-blur:threshold=0.2"])
    assert stage._analyzer.min_score == 0.2
