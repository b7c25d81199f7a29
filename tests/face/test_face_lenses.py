"""Each lens on real photos with the real models: it changes its region and leaves the rest alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camfilters.errors import ParameterError

FACE_LENSES = ["mesh", "glasses", "face-blur", "face-pixelate", "big-eyes"]
ASTRONAUT_FACE = (177, 82, 95, 95)  # FaceDetector's box (x, y, w, h), shared/README.md


def face_box_mask(shape, grow: float) -> np.ndarray:
    """Boolean mask of the known astronaut face box grown by ``grow`` of its size on each side."""
    x, y, w, h = ASTRONAUT_FACE
    mask = np.zeros(shape[:2], bool)
    mask[max(0, int(y - grow * h)):int(y + h + grow * h), max(0, int(x - grow * w)):int(x + w + grow * w)] = True
    return mask


def changed(a: np.ndarray, b: np.ndarray, tol: int = 2) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > tol


class Invert:
    """A filter chain stand-in with an obvious reference: 255 - pixel."""

    name = "invert"

    def __init__(self):
        self.calls = 0

    def process(self, image, timestamp):
        self.calls += 1
        return cv2.bitwise_not(image)


@pytest.mark.parametrize("lens", FACE_LENSES)
def test_face_lens_changes_only_the_face(make_stage, astronaut, lens):
    """Pixels change inside the face box and nowhere outside it (grown by 35 %; by 100 % for the
    privacy lenses, which hide the whole head)."""
    stage = make_stage([lens])
    out = stage.process(astronaut, 0.0)
    diff = changed(out, astronaut)
    inside = face_box_mask(astronaut.shape, 0.0)
    assert diff[inside].mean() > 0.04, f"{lens} changed only {diff[inside].mean():.1%} of the face box"
    grow = 1.0 if lens in ("face-blur", "face-pixelate") else 0.35
    assert not diff[~face_box_mask(astronaut.shape, grow)].any(), f"{lens} drew outside the face"
    assert out.shape == astronaut.shape and out.dtype == np.uint8


@pytest.mark.parametrize("lens", FACE_LENSES + ["face-only"])
def test_no_face_leaves_the_frame_untouched(make_stage, chelsea, lens):
    """chelsea.png (a cat) has no human face: face lenses change nothing."""
    stage = make_stage([lens], Invert() if lens == "face-only" else None)
    for i in range(3):
        out = stage.process(chelsea, i / 30.0)
        assert np.array_equal(out, chelsea)
    assert stage.faces == []


def regions(person: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """(sure person, sure background): reference mask > 0.98 / < 0.02, both shrunk by ``margin`` px."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    sure_person = cv2.erode((person > 0.98).astype(np.uint8), kernel).astype(bool)
    sure_background = cv2.erode((person < 0.02).astype(np.uint8), kernel).astype(bool)
    assert sure_person.mean() > 0.15 and sure_background.mean() > 0.1  # the photo has both
    return sure_person, sure_background


def test_bg_replace_colour(make_stage, astronaut, person_reference):
    """The background becomes exactly the colour (given as R G B); the person keeps its pixels."""
    out = make_stage(["bg-replace:color=10 200 30"]).process(astronaut, 0.0)
    person, background = regions(person_reference, 12)
    assert np.abs(out[background].astype(int) - [30, 200, 10]).max() <= 1
    assert np.abs(out[person].astype(int) - astronaut[person]).max() <= 1


def test_bg_replace_image(make_stage, astronaut, coffee, person_reference, tmp_path):
    """A picture background is scaled to cover the frame and centre-cropped (reference: cv2.resize)."""
    path = tmp_path / "coffee.png"
    cv2.imwrite(str(path), coffee)
    out = make_stage([f"bg-replace:image={path}"]).process(astronaut, 0.0)
    # coffee is 600x400: scaled by 512/400 to 768x512, then 128 px cut on each side.
    expected = cv2.resize(coffee, (768, 512), interpolation=cv2.INTER_LINEAR)[:, 128:640]
    person, background = regions(person_reference, 12)
    assert np.abs(out[background].astype(int) - expected[background]).max() <= 1
    assert np.abs(out[person].astype(int) - astronaut[person]).max() <= 1


def test_bg_blur(make_stage, astronaut, person_reference):
    """Far from the person the output is a Gaussian blur of the input; the person stays sharp."""
    out = make_stage(["bg-blur:strength=8"]).process(astronaut, 0.0)
    person, background = regions(person_reference, 40)
    reference = cv2.GaussianBlur(astronaut, (0, 0), 8)
    error = np.abs(out[background].astype(int) - reference[background])
    assert error.mean() < 3.0, error.mean()
    assert np.abs(out[background].astype(int) - astronaut[background]).mean() > 2 * error.mean()
    assert np.abs(out[person].astype(int) - astronaut[person]).max() <= 1


def test_bg_only_applies_the_chain_to_the_background(make_stage, astronaut, person_reference):
    inner = Invert()
    out = make_stage(["bg-only"], inner).process(astronaut, 0.0)
    person, background = regions(person_reference, 12)
    assert np.abs(out[background].astype(int) - (255 - astronaut[background])).max() <= 1
    assert np.abs(out[person].astype(int) - astronaut[person]).max() <= 1
    assert inner.calls == 1


def test_face_only_applies_the_chain_inside_the_face(make_stage, astronaut):
    inner = Invert()
    stage = make_stage(["face-only"], inner)
    out = stage.process(astronaut, 0.0)
    core = face_box_mask(astronaut.shape, -0.25)
    assert np.abs(out[core].astype(int) - (255 - astronaut[core])).max() <= 1
    outside = ~face_box_mask(astronaut.shape, 0.35)
    assert np.array_equal(out[outside], astronaut[outside])
    assert inner.calls == 1


def test_face_only_with_glasses_draws_glasses_on_the_filtered_face(make_stage, astronaut):
    """Modifiers run first whatever the order given; the glasses are drawn over the result."""
    only_glasses = make_stage(["glasses"]).process(astronaut, 0.0).copy()
    combined = make_stage(["glasses", "face-only"], Invert())
    assert combined.name == "face-only+glasses"
    out = combined.process(astronaut, 0.0)
    from camfilters.face.lenses import GlassesLens

    rim = np.all(only_glasses == GlassesLens._FRAME.astype(np.uint8), axis=2)  # the opaque frame
    assert rim.sum() > 100
    assert np.abs(out[rim].astype(int) - only_glasses[rim]).max() <= 3  # alpha 0.99 at a few edge pixels
    lens_area = face_box_mask(astronaut.shape, -0.25) & ~changed(only_glasses, astronaut)
    assert np.abs(out[lens_area].astype(int) - (255 - astronaut[lens_area])).max() <= 1  # inverted face


def test_hotkey_cycle(make_stage, astronaut):
    stage = make_stage(["glasses", "bg-blur"])
    assert stage.name == "glasses+bg-blur"
    assert [stage.next_lens() for _ in range(4)] == ["glasses", "bg-blur", "none", "glasses+bg-blur"]
    for _ in range(3):
        stage.next_lens()
    assert stage.name == "none"
    assert stage.process(astronaut, 0.0) is astronaut


def test_no_lens_cycles_through_every_lens(make_stage):
    stage = make_stage([], Invert())
    names = [stage.name] + [stage.next_lens() for _ in range(14)]
    assert names == ["none", "mesh", "glasses", "face-blur", "face-pixelate", "big-eyes", "bg-blur",
                     "bg-replace", "face-only", "bg-only", "autoframe", "beauty", "light", "pack", "none"]


@pytest.mark.parametrize(("spec", "message"), [
    ("sparkles", r"unknown lens 'sparkles'; valid lenses: autoframe, beauty, bg-blur, bg-only, "),
    ("bg-blur:radius=3", r"lens bg-blur: unknown option 'radius'; valid options: strength"),
    ("bg-blur:strength=0", r"lens bg-blur: option strength must be between 1.0 and 100.0, got 0.0"),
    ("bg-blur:strength", r"lens bg-blur: expected key=value in 'bg-blur:strength', got 'strength'"),
    ("big-eyes:scale=much", r"lens big-eyes: option scale must be float, got 'much'"),
    ("bg-replace:color=0 128", r"option color must be three numbers 0..255 'R,G,B', got '0 128'"),
    ("bg-replace:image=/no/such.png", r"option image must be a readable picture file, got '/no/such.png'"),
])
def test_bad_lens_specs(spec, message):
    from camfilters.face.lenses import parse_lens

    with pytest.raises(ParameterError, match=message):
        parse_lens(spec)


def test_modifier_without_chain(make_stage):
    with pytest.raises(ParameterError, match=r"lens face-only needs a filter chain"):
        make_stage(["face-only"])


def test_lens_help_lists_every_lens():
    from camfilters.face import available_lenses, lens_help

    rows = lens_help()
    assert [row[0] for row in rows] == available_lenses()
    name, desc, options = next(row for row in rows if row[0] == "bg-blur")
    assert desc == "blur the background behind the person"
    assert [(o.name, o.default, o.help) for o in options] == [("strength", 15.0, "blur sigma in pixels")]
    assert all(desc and "\n" not in desc for _, desc, _ in rows)


def test_unloadable_model_is_a_model_error(need_mediapipe, tmp_path):
    """A file that is not a model fails when the stage is built, as one line naming the file."""
    from camfilters.face import ModelError, build_face_stage

    bogus = tmp_path / "face.task"
    bogus.write_bytes(b"not a model" * 100)
    with pytest.raises(ModelError, match=r"cannot load the model .*face.task: "):
        build_face_stage(["glasses"], face_model=str(bogus))


def test_big_eyes_warp_matches_its_formula():
    """A line at distance d from the eye centre moves to the radius r solving r (1 - k (1 - r²/R²)²) = d."""
    from scipy.optimize import brentq

    from camfilters.face.lenses import BigEyesLens

    frame = np.full((101, 101, 3), 255, np.uint8)
    frame[:, 58] = 0  # a vertical line 8 px right of the centre (50, 50)
    radius, scale = 30.0, 1.6
    k = 1.0 - 1.0 / scale
    BigEyesLens._magnify(frame, np.array([50.0, 50.0], np.float32), radius, k)
    row = 255.0 - frame[50, :, 0].astype(float)
    found = (row * np.arange(101)).sum() / row.sum() - 50.0
    expected = brentq(lambda r: r * (1 - k * (1 - (r / radius) ** 2) ** 2) - 8.0, 0.0, radius)
    assert expected > 8.0 * 1.3  # magnified
    assert abs(found - expected) < 0.3, (found, expected)
    assert np.array_equal(frame[:, 85:], np.full((101, 16, 3), 255, np.uint8))  # outside the radius: untouched
    assert np.all(frame[10, :, 0] == np.where(np.arange(101) == 58, 0, 255))  # row 40 px away: untouched


def test_chain_runs_before_the_lenses_unless_a_modifier_places_it(make_stage, astronaut):
    """With a chain and no modifier, the lenses draw over the filtered frame; "none" is just the chain."""
    inner = Invert()
    plain = make_stage(["glasses"]).process(astronaut, 0.0).copy()
    stage = make_stage(["glasses", "face-only"], inner)
    assert [stage.next_lens(), stage.next_lens()] == ["face-only", "glasses"]
    out = stage.process(astronaut, 0.0)
    assert inner.calls == 1
    untouched = ~changed(plain, astronaut, 0)  # where the glasses draw nothing
    assert np.array_equal(out[untouched], 255 - astronaut[untouched])
    from camfilters.face.lenses import GlassesLens

    rim = np.all(plain == GlassesLens._FRAME.astype(np.uint8), axis=2)  # the opaque frame, drawn on top
    assert rim.sum() > 100
    assert np.abs(out[rim].astype(int) - plain[rim]).max() <= 3
    assert stage.next_lens() == "none"
    assert np.array_equal(stage.process(astronaut, 1 / 30), 255 - astronaut)
    assert inner.calls == 2
