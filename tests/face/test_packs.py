"""Lens packs: stickers land on their landmarks under translation, scale, roll and two faces; broken packs are one line.

The faces are crops of the real astronaut.png on coffee.png; the sticker is a test PNG with
two marker discs (magenta on the pivot, cyan one axis length along), anchored to the
temples 127 -> 356, so each disc must land on its landmark.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from camfilters.errors import ParameterError
from camfilters.face import lens_help
from camfilters.face.lenses import parse_lens
from camfilters.face.packs import builtin_packs, load_pack

HEAD = (80, 0, 300, 320)  # (x, y, w, h) of astronaut.png pasted: head and shoulders
A, B = 127, 356  # temple landmarks: the two markers' anchors
MAGENTA, CYAN = (255, 0, 255), (255, 255, 0)  # BGR


def make_marker_pack(folder, k=1):
    """A pack whose PNG (200k x 60k) has a magenta disc at the pivot (20k, 30k) and a cyan one at (180k, 30k),
    scaled so that 160k PNG px = the temple distance: magenta lands on landmark 127, cyan on 356."""
    png = np.zeros((60 * k, 200 * k, 4), np.uint8)
    cv2.circle(png, (20 * k, 30 * k), 9 * k, (*MAGENTA, 255), -1, cv2.LINE_AA)
    cv2.circle(png, (180 * k, 30 * k), 9 * k, (*CYAN, 255), -1, cv2.LINE_AA)
    cv2.imwrite(str(folder / "markers.png"), png)
    layer = {"image": "markers.png", "anchor": [A], "axis": [A, B], "pivot": [20 * k, 30 * k], "scale": 200 / 160}
    (folder / "lens.json").write_text(json.dumps({"name": "markers", "layers": [layer]}))
    return folder


@pytest.fixture
def marker_pack(tmp_path):
    return make_marker_pack(tmp_path)


def scene(astronaut, coffee, placements, size=(800, 450)):
    """coffee.png scaled to ``size`` (W, H) with the astronaut's head pasted at each (x, y, scale, roll degrees)."""
    canvas = cv2.resize(coffee, size, interpolation=cv2.INTER_AREA)
    x, y, w, h = HEAD
    head = astronaut[y:y + h, x:x + w]
    for px, py, scale, roll in placements:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), roll, scale)
        m[:, 2] += (np.array([w, h]) * (scale - 1)) / 2
        sw, sh = round(w * scale), round(h * scale)
        canvas[py:py + sh, px:px + sw] = cv2.warpAffine(head, m, (sw, sh), borderMode=cv2.BORDER_REFLECT)
    return canvas


def blobs(image, colour):
    """Centroids (x, y) of the connected regions of pixels close to ``colour`` (BGR), largest first."""
    near = (np.abs(image.astype(np.int16) - colour).max(axis=2) < 60).astype(np.uint8)
    n, _, stats, centroids = cv2.connectedComponentsWithStats(near)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA])
    return [centroids[1 + i] for i in order if stats[1 + i, cv2.CC_STAT_AREA] >= 12]


@pytest.mark.parametrize(("name", "placements"), [
    ("translated", [(20, 40, 1.0, 0.0)]),
    ("moved", [(480, 120, 1.0, 0.0)]),
    ("scaled", [(200, 0, 1.4, 0.0)]),
    ("rolled", [(250, 60, 1.0, 25.0)]),
    ("rolled-other-way", [(250, 30, 1.2, -20.0)]),
    ("two-faces", [(0, 0, 1.0, 10.0), (400, 60, 1.2, -8.0)]),
])
def test_sticker_markers_land_on_their_landmarks(make_stage, astronaut, coffee, marker_pack, name, placements):
    """Each marker disc's centroid is within 3 px of its landmark, for every face."""
    image = scene(astronaut, coffee, placements)
    assert not blobs(image, MAGENTA) and not blobs(image, CYAN)  # the photos hold no marker colours
    stage = make_stage([f"pack:path={marker_pack}"])
    for i in range(12):  # the landmarker may need a few frames to find every face (tile scan)
        out = stage.process(image, i / 30.0)
        faces = [f for f in stage.faces if f.landmarks is not None]
        if len(faces) == len(placements):
            break
    assert len(faces) == len(placements)
    for colour, index in ((MAGENTA, A), (CYAN, B)):
        found = blobs(out, colour)
        assert len(found) == len(placements), f"{name}: {len(found)} {colour} markers"
        for face in faces:
            want = face.landmarks[index, :2]
            error = min(float(np.hypot(*(c - want))) for c in found)
            assert error <= 3.0, f"{name}: marker of landmark {index} is {error:.2f} px off"


def test_a_big_png_is_drawn_from_its_mip_level(make_stage, astronaut, coffee, tmp_path):
    """A PNG 8x larger (drawn at about 1/13 of its size, from the 1/8 mip level) lands as precisely."""
    pack = make_marker_pack(tmp_path, k=8)
    assert len(load_pack(pack).layers[0].levels) >= 4
    stage = make_stage([f"pack:path={pack}"])
    out = stage.process(scene(astronaut, coffee, [(20, 40, 1.0, 15.0)]), 0.0)
    face = stage.faces[0]
    for colour, index in ((MAGENTA, A), (CYAN, B)):
        (found,) = blobs(out, colour)
        assert float(np.hypot(*(found - face.landmarks[index, :2]))) <= 3.0


def test_sticker_follows_the_face_between_frames(make_stage, astronaut, coffee, marker_pack):
    """The face moves 150 px right and 1.3x larger: the marker moves with it (within 3 px of the
    first frame's marker moved by the same similarity transform)."""
    stage = make_stage([f"pack:path={marker_pack}"])
    first = blobs(stage.process(scene(astronaut, coffee, [(100, 100, 1.0, 0.0)]), 0.0), MAGENTA)[0]
    second = blobs(stage.process(scene(astronaut, coffee, [(250, 20, 1.3, 0.0)]), 1.0), MAGENTA)[0]
    # The pasted head's pixel (u, v) lands at (100 + u, 100 + v), then at (250 + 1.3 u, 20 + 1.3 v).
    expected = np.array([250, 20]) + 1.3 * (first - [100, 100])
    assert float(np.hypot(*(second - expected))) <= 3.0, (second, expected)


@pytest.mark.parametrize("name", ["hat", "cat-ears", "moustache", "halo", "sunglasses"])
def test_builtin_pack_draws_on_the_face(make_stage, astronaut, name):
    """Each built-in pack draws opaque art near the face and leaves the lower half of the picture alone."""
    out = make_stage([f"pack:name={name}"]).process(astronaut, 0.0)
    diff = np.abs(out.astype(np.int16) - astronaut).max(axis=2) > 30
    assert diff[:260, 90:380].mean() > 0.003  # the moustache covers 0.5 %
    assert not diff[320:].any() and not diff[:, :60].any()


def test_builtins_are_listed():
    """The five built-in packs ship in the package and `camfilters list` (lens_help) names them."""
    assert builtin_packs() == ["cat-ears", "halo", "hat", "moustache", "sunglasses"]
    pack = next(" ".join([desc] + [o.help for o in options]) for name, desc, options in lens_help() if name == "pack")
    assert all(name in pack for name in builtin_packs())
    for name in builtin_packs():
        layers = parse_lens(f"pack:name={name}").pack.layers
        assert layers and all(layer.levels[0][..., 3].max() > 0.99 for layer in layers)


def write_pack(folder, text, png=True):
    folder.mkdir(exist_ok=True)
    if png:
        cv2.imwrite(str(folder / "a.png"), np.full((8, 8, 4), 255, np.uint8))
    (folder / "lens.json").write_text(text)
    return folder


@pytest.mark.parametrize(("text", "message"), [
    ('{"layers": [\n  {"image": "a.png",\n   "anchor": [10,]}\n]}', r"lens\.json: line 3 column \d+: invalid JSON"),
    ('{"layers": [{"image": "b.png", "anchor": [10]}]}', r"lens\.json: layers\[0\]\.image: file 'b\.png' not found"),
    ('{"layers": [{"image": "a.png", "anchor": [10, 500]}]}',
     r"lens\.json: layers\[0\]\.anchor\[1\]: landmark index must be an integer 0\.\.477, got 500"),
    ('{"layers": [{"image": "a.png"}]}', r"lens\.json: layers\[0\]\.anchor: is missing"),
    ('{"layers": [{"image": "a.png", "anchor": [1], "axis": [1]}]}', r"layers\[0\]\.axis: must be 2 landmark"),
    ('{"layers": [{"image": "a.png", "anchor": [1], "scale": "big"}]}', r"layers\[0\]\.scale: must be a number"),
    ('{"layers": [{"image": "a.png", "anchor": [1], "size": 2}]}', r"layers\[0\]\.size: unknown field"),
    ('{"layers": [{"image": "a.png", "anchor": [1], "behind": "yes"}]}',
     r"layers\[0\]\.behind: must be true or false, got 'yes'"),
    ('{"layers": []}', r"lens\.json: layers: must be a non-empty list"),
])
def test_broken_pack_is_one_line_naming_file_and_field(tmp_path, text, message):
    folder = write_pack(tmp_path / "p", text)
    with pytest.raises(ParameterError, match=message) as info:
        parse_lens(f"pack:path={folder}")
    assert "\n" not in str(info.value) and str(folder) in str(info.value)


def test_not_a_png_and_no_pack(tmp_path):
    folder = write_pack(tmp_path / "p", '{"layers": [{"image": "a.png", "anchor": [1]}]}', png=False)
    (folder / "a.png").write_bytes(b"not a png")
    with pytest.raises(ParameterError, match=r"layers\[0\]\.image: 'a\.png' is not a readable PNG"):
        load_pack(folder)
    with pytest.raises(ParameterError, match=r"no lens\.json in it"):
        parse_lens(f"pack:path={tmp_path / 'nothing'}")
    with pytest.raises(ParameterError, match=r"option name must be one of cat-ears, halo, hat, moustache, sunglasses"):
        parse_lens("pack:name=wig")


def test_name_and_path_together_are_refused(marker_pack):
    with pytest.raises(ParameterError, match=r"give name=NAME \(a built-in pack\) or path=DIR, not both"):
        parse_lens(f"pack:name=hat,path={marker_pack}")
    assert parse_lens("pack").pack_name == "hat"
    assert parse_lens(f"pack:path={marker_pack}").pack_name == "markers"
