"""Faces crossing the left and right frame edges, with the real detector on real composite frames.

A face cut by the frame edge is the hard case of a privacy lens: the detector sees half a
face. Each clip (`clips.compose`: the astronaut's head pasted on coffee.png) moves four faces
(2.5 % to 12 % of the width) across the left and right edges, 0.15 face widths per frame (4.5 per
second: a brisk walk across a 720p frame at 2 m); a fresh stage runs on it, so an entering face has no track to be held
from. The bar: every frame in which at least half of a face's box is inside the frame (the
`clips` face-frame) is hidden by the `clips` metric. Half is the bar because that is where a
face becomes recognisable and where the detector, which sees the frame mirrored out past its
edges, finds it (a half face and its mirror image read as one whole face).
"""

from __future__ import annotations

import numpy as np
import pytest

from clips import Clip, Track, background, compose, far_from_faces, is_covered

SIZE = (1280, 720)
FRAMES = 12
STEP = 0.15  # face widths per frame
# (face width, centre height, side): sizes apart so that no head covers another's face.
FACES = ((0.025, 0.15, "left"), (0.12, 0.62, "left"), (0.05, 0.22, "right"), (0.08, 0.72, "right"))


def tracks(direction: str) -> tuple[Track, ...]:
    """The four faces entering (40 % inside on the first frame) or leaving (30 % inside on the last)."""
    out = []
    for width, y, side in FACES:
        edge = -0.1 * width if direction == "enter" else -0.2 * width  # the centre's x beyond the left edge
        begin, finish = edge, edge + STEP * width * (FRAMES - 1)
        if direction == "leave":
            begin, finish = finish, begin
        if side == "right":
            begin, finish = 1.0 - begin, 1.0 - finish
        out.append(Track(width, 0, FRAMES, (begin, y), (finish, y), mirror=side == "right"))
    return tuple(out)


@pytest.mark.parametrize("direction", ["enter", "leave"])
def test_a_face_crossing_the_side_edge_is_hidden_while_half_of_it_is_inside(need_mediapipe, direction):
    """Through render's path (`OfflineLenses`, which looks back): a face found or confirmed a few frames after
    it is half inside is hidden from there."""
    from camfilters.face.offline import OfflineLenses

    base = background(SIZE)
    clip_tracks = tracks(direction)
    before, after, truth = [], [], []
    with OfflineLenses(["face-blur"]) as lenses:
        for i in range(FRAMES):
            frame, boxes = compose(base, clip_tracks, i)
            before.append(frame)
            after += [image for image, _ in lenses.push(frame, i / 30.0)]
            truth.append(boxes)
        after += [image for image, _ in lenses.drain()]
    clip = Clip(None, SIZE, 30, truth, (0, 0, 0, 0), clip_tracks)
    face_frames = clip.face_frames()
    # The clip does what it says: each face is cut by the edge, and counted on some frames but not all.
    assert {fid for _, fid, _ in face_frames} == set(range(len(FACES)))
    assert len(face_frames) < FRAMES * len(FACES)
    missed = [(i, fid, round(box[2])) for i, fid, box in face_frames if not is_covered(before[i], after[i], box)]
    assert missed == [], f"shown (frame, face, width px): {missed}"
    # And the mirror images the detector sees past the edge put no blur on the background.
    changed = total = 0
    for i in range(FRAMES):
        far = far_from_faces([box for _, box in truth[i]], SIZE)
        diff = np.abs(before[i].astype(np.int16) - after[i].astype(np.int16)).max(axis=2)
        changed += int((diff[far] > 24).sum())
        total += int(far.sum())
    assert changed / total < 0.001
