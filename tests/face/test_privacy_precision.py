"""The privacy lenses' precision and look-back on composite clips of real photos (`clips`), in-process (the
live recording's: test_privacy_live.py).

The decoy clip sways the whole astronaut photo over coffee.png: one real face, and a mission badge, a
shuttle model, a flag with stars that a face detector can take for faces. The default clip has eight
faces, some entering across the frame's edges, where a face is found or confirmed a few frames late.
"""

from __future__ import annotations

import pytest

from clips import DEFAULT_TRACKS, build_clip, build_decoy_clip, count_searches, decode, false_area, missed_faces


def render(clip, lookback=None):
    """The clip's frames through face-blur as render draws them (`OfflineLenses`), and the look-back's count
    of face-frames it added."""
    from camfilters.face.offline import LOOKBACK, OfflineLenses

    frames = decode(clip.path)
    out = []
    with OfflineLenses(["face-blur"], lookback=LOOKBACK if lookback is None else lookback) as lenses:
        for i, frame in enumerate(frames):
            out += [image for image, _ in lenses.push(frame, i / clip.fps)]
        out += [image for image, _ in lenses.drain()]
        return frames, out, lenses.lookback.found_back


@pytest.fixture(scope="module", params=[45, 20], ids=["45-frames", "20-frames"])
def decoys(request, tmp_path_factory, need_mediapipe_module):
    """The decoy clip, 45 and 20 frames long: the encoding sets which decoys score highest (in the 20-frame
    one, the mission badge scores 0.77 in a tile on frame 7)."""
    return build_decoy_clip(tmp_path_factory.mktemp("decoy") / "decoy.mp4", frames=request.param)


@pytest.fixture(scope="module")
def need_mediapipe_module():
    import importlib.util

    if importlib.util.find_spec("mediapipe") is None:
        pytest.skip("mediapipe is not installed (the face extra)")


def test_badges_toys_and_flags_stay_sharp(decoys):
    """On the decoy clip the one face is hidden on every frame and the area changed away from it is at most
    0.1 % of the frame (the issue's bar; deface: 0.00 %; the weak-detection second look of before: 1.85 %;
    a new face counting from 0.75, and confirmed by the full-range look at 0.75: 2.2 % in the 20-frame clip,
    and 0.18 % in a 120-frame 1080p one, a sleeve's fold confirmed by the full-range look at 0.753)."""
    before, after, _ = render(decoys)
    assert len(after) == len(before)
    assert missed_faces(decoys, before, after) == []
    assert false_area(decoys, before, after) <= 0.001


def test_a_face_confirmed_late_is_hidden_from_where_it_entered(tmp_path, need_mediapipe_module):
    """Faces entering across the edges are found or confirmed a few frames after they are half inside; looking
    back hides them from there: every face-frame is hidden, some of them by looking back."""
    clip = build_clip(tmp_path / "clip.mp4", DEFAULT_TRACKS, audio=False)
    before, after, back = render(clip)
    assert missed_faces(clip, before, after) == [] and back > 0
    assert false_area(clip, before, after) <= 0.001


def test_a_panning_camera_costs_a_share_of_the_tiles(tmp_path, need_mediapipe_module):
    """Under a panning camera every tile changes on every frame, yet each frame searches ceil(tiles / every)
    of them (the first, all; one more when tiles due fill the share), and every face-frame is still hidden."""
    from camfilters.face.offline import OfflineLenses

    clip = build_clip(tmp_path / "pan.mp4", DEFAULT_TRACKS, audio=False, frames=30, pan=6)
    frames = decode(clip.path)
    after = []
    with OfflineLenses(["face-blur"]) as lenses:
        counts = count_searches(lenses)
        for i, frame in enumerate(frames):
            after += [image for image, _ in lenses.push(frame, i / clip.fps)]
        after += [image for image, _ in lenses.drain()]
        every = lenses.stage._analyzer._detector.every
    searched = [tiles for _, tiles, _ in counts]
    tiles = searched[0]
    assert tiles >= 20
    share = -(-tiles // every)
    assert max(searched[1:]) <= share + 1 and sum(searched[1:]) <= (share + 0.2) * len(searched[1:])
    assert missed_faces(clip, frames, after) == []
