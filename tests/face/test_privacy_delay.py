"""The live privacy delay (`face.delay.Delay`) alone: when a frame leaves, and which faces it is drawn with."""

from __future__ import annotations

import numpy as np

from camfilters.face.analysis import Analysis
from camfilters.face.delay import Delay
from camfilters.face.tracking import Face

FPS = 30.0
SIZE = (320, 180)  # W, H


def analysis(frame: int, *faces: Face) -> Analysis:
    return Analysis((frame - 1) / FPS, list(faces), seq=frame, frame=frame)


def run(analyses: dict[int, Analysis], frames: int) -> list[tuple[int, list[int], bool]]:
    """Feed ``frames`` frames (frame k is an image filled with k), each with the newest analysis made by then
    (``analyses``: frame analysed -> analysis); (frame, track ids drawn, fresh) for each frame taken, then the rest."""
    delay, out, newest = Delay(0.1), [], None
    for k in range(1, frames + 1):
        newest = analyses.get(k, newest)
        delay.add(np.full((SIZE[1], SIZE[0], 3), k, np.uint8), (k - 1) / FPS, k, newest)
        source, _, drawn, fresh = delay.take(2)
        out.append((int(source[0, 0, 0]), sorted(f.track_id for f in drawn.faces), fresh))
    out += [(int(source[0, 0, 0]), sorted(f.track_id for f in drawn.faces), True) for source, _, drawn in delay.rest()]
    return out


def test_frames_leave_after_the_delay_once_each_and_in_order():
    """At 30 fps a 100 ms delay holds three frames; while it fills, the oldest is shown again (not fresh); every
    frame is handed on once, in order, the last ones at the end of the run."""
    out = run({k: analysis(k) for k in range(1, 11)}, 10)
    assert [frame for frame, _, fresh in out if fresh] == list(range(1, 11))
    assert [fresh for _, _, fresh in out[:4]] == [False, False, False, True]


def test_a_face_coming_in_across_the_edge_is_drawn_on_the_frames_before_its_find():
    """Found on frame 5 half out of the frame: frames 4 and 5 are drawn with it, since the analysis of frame 3
    had not found it; the frames before that analysis are not."""
    entering = Face(7, (-20.0, 60.0, 40.0, 40.0))
    out = run({1: analysis(1), 3: analysis(3), 5: analysis(5, entering), 7: analysis(7, entering)}, 8)
    drawn = {frame: ids for frame, ids, fresh in out if fresh}
    assert [frame for frame, ids in drawn.items() if 7 in ids] == [4, 5, 6, 7, 8]


def test_a_face_that_appears_inside_the_frame_is_not_drawn_before_it_appears():
    """A face first found inside the frame on frame 5 (a cut, or a face uncovered) is drawn from frame 5: the
    frame before it, whose analysis comes after, is left as it is."""
    appearing = Face(7, (140.0, 60.0, 40.0, 40.0))
    out = run({1: analysis(1), 3: analysis(3), 5: analysis(5, appearing), 7: analysis(7, appearing)}, 8)
    drawn = {frame: ids for frame, ids, fresh in out if fresh}
    assert [frame for frame, ids in drawn.items() if 7 in ids] == [5, 6, 7, 8]


def test_a_followed_face_is_drawn_from_the_analyses_on_both_sides():
    """A face followed through two analyses is drawn on the frame between them with both boxes (the union
    covers where it moved in between)."""
    a, b = Face(3, (100.0, 60.0, 40.0, 40.0)), Face(3, (120.0, 60.0, 40.0, 40.0))
    delay = Delay(0.1)
    delay.add(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), 0.0, 1, analysis(1, a))
    delay.add(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), 1 / FPS, 2, analysis(1, a))
    delay.add(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), 2 / FPS, 3, analysis(3, b))
    [_, (_, _, drawn), _] = delay.rest()
    assert [f.box for f in drawn.faces] == [a.box, b.box]
