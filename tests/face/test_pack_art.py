"""The built-in sticker art (outline, contact shadow) and ``behind`` layers against the person mask.

Outline and shadow are measured on the PNGs: the outermost opaque ring against the inside,
and the semi-transparent pixels against the outline's length (an anti-aliased edge alone
gives under one such pixel per outline pixel; the flat art before the redraw gave 0.6-0.8).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from camfilters.face.packs import BUILTIN_DIR, load_pack

STICKERS = ["hat", "cat-ears", "moustache"]


def disc(r):
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def measures(name):
    """(outline luma / inside luma, semi-transparent px per outline px, mean luma of those px) of a pack's PNG."""
    png = cv2.imread(str(BUILTIN_DIR / name / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    alpha = png[..., 3]
    luma = cv2.cvtColor(png[..., :3], cv2.COLOR_BGR2GRAY).astype(np.float64)
    solid = (alpha > 127).astype(np.uint8)
    ring = (solid & (1 - cv2.erode(solid, disc(1)))).astype(bool)
    inside = cv2.erode(solid, disc(5)).astype(bool)
    soft = (alpha > 8) & (alpha < 153)
    return luma[ring].mean() / luma[inside].mean(), soft.sum() / ring.sum(), luma[soft].mean()


@pytest.mark.parametrize("name", STICKERS + ["halo", "sunglasses"])
def test_pack_png_alpha_spans_transparent_to_opaque(name):
    """Every built-in PNG is BGRA with clear corners and an opaque body (at least 10 % of it)."""
    png = cv2.imread(str(BUILTIN_DIR / name / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    assert png.ndim == 3 and png.shape[2] == 4 and png.dtype == np.uint8
    alpha = png[..., 3]
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    assert (alpha == 255).mean() > 0.10


@pytest.mark.parametrize("name", STICKERS)
def test_sticker_has_a_dark_outline_and_a_soft_shadow(name):
    """The outer ring is under 30 % of the inside's luma (the outline); over 2 semi-transparent px per
    outline px, dark (luma < 40 of 255): a blurred contact shadow, not only anti-aliasing."""
    outline, soft_per_edge, soft_luma = measures(name)
    assert outline < 0.3, outline
    assert soft_per_edge > 2.0, soft_per_edge
    assert soft_luma < 40, soft_luma


def test_halo_glows():
    """The halo's glow: over 5 semi-transparent px per outline px, and bright (luma > 150)."""
    _, soft_per_edge, soft_luma = measures("halo")
    assert soft_per_edge > 5.0 and soft_luma > 150, (soft_per_edge, soft_luma)


def card_pack(folder, behind):
    """A pack of one opaque magenta card (300 x 400 px) centred on the nose tip, 2.2 temple distances wide."""
    folder.mkdir()
    cv2.imwrite(str(folder / "card.png"), np.full((400, 300, 4), (255, 0, 255, 255), np.uint8))
    layer = {"image": "card.png", "anchor": [1], "scale": 2.2, "behind": behind}
    (folder / "lens.json").write_text(json.dumps({"layers": [layer]}))
    return folder


def test_behind_layer_draws_only_on_the_background(make_stage, astronaut, person_reference, tmp_path):
    """Over the card's footprint (the same card drawn in front), the behind card covers over 97 % of what
    an independent IMAGE-mode segmenter calls sure background (confidence < 0.1) and under 1 % of
    sure person (> 0.9); the frame outside the footprint is untouched."""
    front = make_stage([f"pack:path={card_pack(tmp_path / 'front', False)}"])
    back = make_stage([f"pack:path={card_pack(tmp_path / 'back', True)}"])
    for i in range(3):  # the mask is smoothed over frames
        footprint_frame = front.process(astronaut, i / 30.0)
        out = back.process(astronaut, i / 30.0)
    footprint = np.abs(footprint_frame.astype(np.int16) - astronaut).max(axis=2) > 0
    magenta = np.abs(out.astype(np.int16) - (255, 0, 255)).max(axis=2) < 40
    changed = np.abs(out.astype(np.int16) - astronaut).max(axis=2) > 2
    assert footprint.mean() > 0.15  # the card covers the head and some background
    background = footprint & (person_reference < 0.1)
    person = footprint & (person_reference > 0.9)
    assert background.sum() > 5000 and person.sum() > 5000
    assert magenta[background].mean() > 0.97, magenta[background].mean()
    assert changed[person].mean() < 0.01, changed[person].mean()
    assert not changed[~footprint].any()


def test_behind_needs_the_mask():
    """Only a pack with a behind layer asks the face stage for the person mask."""
    from camfilters.face.lenses import parse_lens

    assert parse_lens("pack:name=halo").needs_mask and not parse_lens("pack:name=hat").needs_mask
    assert load_pack(BUILTIN_DIR / "halo").layers[0].behind
