"""The autoframe lens on a clip of the real astronaut's head moving across coffee.png.

The output is checked against an independent crop-and-resize of the input (cv2.remap of
the crop the lens reports), and the known face centre is mapped through that crop.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = (960, 540)  # (W, H) of the clip
FPS = 30.0
HEAD = (80, 0, 300, 320)  # (x, y, w, h) of astronaut.png pasted
FACE_CENTRE = (224.5, 129.5)  # centre of the face box (177, 82, 95, 95) in astronaut.png
SCALE = 0.8  # the pasted head's scale: a face about 76 px wide


def clip_frames(astronaut, coffee, xs, y=250, noise=3.0):
    """Frames with the head pasted so that the face centre is at (x, y) for each x in ``xs`` (ints), and the centres.

    Each frame gets its own Gaussian noise (``noise`` levels, seeded) as a camera's sensor
    does, so the detector's boxes jitter on a still face as they do live.
    """
    rng = np.random.default_rng(13)
    background = cv2.resize(coffee, SIZE, interpolation=cv2.INTER_AREA)
    hx, hy, hw, hh = HEAD
    head = cv2.resize(astronaut[hy:hy + hh, hx:hx + hw], (round(hw * SCALE), round(hh * SCALE)),
                      interpolation=cv2.INTER_AREA)
    fx, fy = round((FACE_CENTRE[0] - hx) * SCALE), round((FACE_CENTRE[1] - hy) * SCALE)
    frames = []
    for x in xs:
        frame = background.copy()
        frame[y - fy:y - fy + head.shape[0], x - fx:x - fx + head.shape[1]] = head
        frames.append(np.clip(frame + rng.normal(0.0, noise, frame.shape), 0, 255).astype(np.uint8))
    return frames, [(float(x), float(y)) for x in xs]


def reference(frame, crop):
    """``frame``'s region ``crop`` (x, y, w, h, float px) resized to the frame size, bilinear, by pixel centres."""
    h, w = frame.shape[:2]
    x0, y0, cw, ch = crop
    map_x = (x0 + (np.arange(w, dtype=np.float32) + 0.5) * cw / w - 0.5)[None, :].repeat(h, 0)
    map_y = (y0 + (np.arange(h, dtype=np.float32) + 0.5) * ch / h - 0.5)[:, None].repeat(w, 1)
    return cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def run(stage, frames, start=0):
    """Per frame: (output copy, crop, the lens)."""
    lens = stage.lenses[0]
    results = []
    for i, frame in enumerate(frames):
        out = stage.process(frame, (start + i) / FPS)
        results.append((out.copy(), lens.crop))
    return results


def in_output(point, crop):
    x0, y0, cw, ch = crop
    return np.array([(point[0] - x0) * SIZE[0] / cw, (point[1] - y0) * SIZE[1] / ch])


def test_autoframe_follows_a_moving_face(make_stage, astronaut, coffee):
    """Still 1.5 s, a 2 s move of 300 px, still 1.5 s: the output is the reported crop of the input (within
    2 levels); the face centre stays within 10 % of the frame centre from 0.33 s on; it moves at most 1 px
    while still (each frame has its own sensor noise); the crop lags the face by at most 0.3 s."""
    xs = [330] * 45 + [330 + 5 * k for k in range(1, 61)] + [630] * 45
    frames, centres = clip_frames(astronaut, coffee, xs)
    stage = make_stage(["autoframe:zoom=2"])
    results = run(stage, frames)
    offsets = []
    for i, ((out, crop), frame, centre) in enumerate(zip(results, frames, centres)):
        assert crop[3] < SIZE[1] * 0.75, f"frame {i}: no zoom, crop {crop}"
        if i % 10 == 0:
            # Both sides interpolate in OpenCV's 1/32 px fixed point: a sharp edge may differ by a few levels.
            diff = np.abs(out.astype(int) - reference(frame, crop))
            assert diff.mean() < 0.3 and np.percentile(diff, 99.9) <= 2, \
                f"frame {i}: the output is not the crop {crop} (mean {diff.mean():.2f} levels)"
        offsets.append(in_output(centre, crop) - np.array(SIZE) / 2)
    offsets = np.array(offsets)
    settled = np.ones(len(xs), bool)
    settled[:10] = False
    share = np.abs(offsets[settled]) / SIZE
    assert share.max() <= 0.10, f"the face is {share.max():.1%} of the frame off centre"
    for still in (offsets[20:45], offsets[120:]):  # still and settled: before the move, and 0.5 s after it
        jitter = still.max(axis=0) - still.min(axis=0)
        assert jitter.max() <= 1.0, f"{jitter} px jitter on a still face"
    # Lag: the shift (frames) best aligning the crop centre's x with the face's x during the move.
    crop_x = np.array([c[0] + c[2] / 2 for _, c in results])
    face_x = np.array(xs, float)
    errors = [np.abs(crop_x[45 + k:105] - face_x[45:105 - k]).mean() for k in range(0, 20)]
    assert int(np.argmin(errors)) / FPS <= 0.3, errors


def test_autoframe_eases_back_to_the_full_frame(make_stage, astronaut, coffee):
    """A face for 1 s, then none: within 2 s the crop is the whole frame and the output is the input itself."""
    faces, _ = clip_frames(astronaut, coffee, [480] * 30)
    empty = [cv2.resize(coffee, SIZE, interpolation=cv2.INTER_AREA)] * 60
    stage = make_stage(["autoframe:zoom=3"])
    results = run(stage, faces + empty)
    assert results[29][1][3] < 0.7 * SIZE[1]
    heights = [crop[3] for _, crop in results[30:]]
    assert all(b >= a - 0.5 for a, b in zip(heights, heights[1:])), "the zoom does not ease out monotonically"
    out, crop = results[-1]
    assert np.allclose(crop, (0, 0, *SIZE), atol=0.5), crop
    assert np.array_equal(out, empty[-1])


def test_zoom_one_never_crops(make_stage, astronaut, coffee):
    """zoom=1 keeps the whole frame even with a face."""
    frames, _ = clip_frames(astronaut, coffee, [480] * 5)
    results = run(make_stage(["autoframe:zoom=1"]), frames)
    assert all(np.array_equal(out, frame) for (out, _), frame in zip(results, frames))


def test_autoframe_draws_after_the_stickers(make_stage, astronaut, coffee):
    """With a pack before it on the command line, autoframe still crops last: the hat is drawn in the
    uncropped frame and zoomed with it (the output is the crop of the stickered frame)."""
    frames, _ = clip_frames(astronaut, coffee, [480] * 6)
    both = make_stage(["autoframe", "pack:name=hat"])
    assert [lens.name for lens in both.lenses] == ["pack", "autoframe"]
    hat = make_stage(["pack:name=hat"])
    for i, frame in enumerate(frames):
        stickered = hat.process(frame, i / FPS)
        out = both.process(frame, i / FPS)
    assert not np.array_equal(stickered, frame)
    diff = np.abs(out.astype(int) - reference(stickered, both.lenses[1].crop))
    assert diff.mean() < 0.3 and np.percentile(diff, 99.9) <= 2


def test_autoframe_keeps_every_face_in_the_picture(make_stage, astronaut, coffee):
    """Two faces 400 px apart: the crop zooms in (less than the whole frame) yet holds both face boxes."""
    left, _ = clip_frames(astronaut, coffee, [260] * 10)
    right, _ = clip_frames(astronaut, coffee, [660] * 10)
    frames = [np.where(np.arange(SIZE[0])[None, :, None] < SIZE[0] // 2, a, b) for a, b in zip(left, right)]
    stage = make_stage(["autoframe:zoom=3"])
    results = run(stage, frames)
    boxes = [face.box for face in stage.faces]
    assert len(boxes) == 2
    x0, y0, cw, ch = results[-1][1]
    assert ch < 0.95 * SIZE[1]
    for x, y, w, h in boxes:
        assert x0 <= x and x + w <= x0 + cw and y0 <= y and y + h <= y0 + ch, ((x, y, w, h), results[-1][1])
