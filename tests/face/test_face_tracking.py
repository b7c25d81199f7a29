"""Landmark tracking with the real FaceLandmarker: position, motion, jitter, several faces, live worker."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from camfilters.face.tracking import FaceTracks, OneEuroFilter

from helpers import wait_for

ASTRONAUT_FACE = (177, 82, 95, 95)  # FaceDetector's box (x, y, w, h), shared/README.md


def overlay_centroid(out: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """(x, y) centroid of the pixels a lens changed by more than 20 levels."""
    ys, xs = np.nonzero(np.abs(out.astype(np.int16) - frame).max(axis=2) > 20)
    assert len(xs) > 50, "the lens drew (almost) nothing"
    return np.array([xs.mean(), ys.mean()])


def test_landmarks_land_on_the_face(make_stage, astronaut):
    """The 478 landmarks lie on the face MediaPipe's FaceDetector finds (independent model)."""
    stage = make_stage(["mesh"])
    stage.process(astronaut, 0.0)
    [face] = stage.faces
    assert face.landmarks.shape == (478, 3) and face.landmarks.dtype == np.float32
    x, y, w, h = ASTRONAUT_FACE
    xy = face.landmarks[:, :2]
    inside = (xy[:, 0] > x - 0.2 * w) & (xy[:, 0] < x + 1.2 * w) & (xy[:, 1] > y - 0.2 * h) & (xy[:, 1] < y + 1.2 * h)
    assert inside.all()
    assert np.hypot(*(face.centroid - (x + w / 2, y + h / 2))) < 0.15 * w
    assert 0.7 * w < face.width < 1.3 * w


def test_overlay_follows_a_moving_scaled_face(make_stage, astronaut):
    """Astronaut moved and scaled with cv2.warpAffine: the glasses follow the known transform."""
    still = make_stage(["glasses"])
    c0 = overlay_centroid(still.process(astronaut, 0.0), astronaut)
    stage = make_stage(["glasses"])
    errors = []
    for i in range(16):
        s, tx, ty = 0.9 + 0.02 * i, 40 + 6 * i, 10 + 2 * i
        transform = np.float32([[s, 0, tx], [0, s, ty]])
        frame = cv2.warpAffine(astronaut, transform, (640, 480))
        c = overlay_centroid(stage.process(frame, i / 30.0), frame)
        errors.append(float(np.hypot(*(c - (transform[:, :2] @ c0 + transform[:, 2])))))
    assert max(errors) < 6.0, errors  # face moves ~190 px/s; One Euro lag stays small


def landmark_jitter(make_stage, astronaut, smoothing: bool) -> float:
    """Mean per-landmark standard deviation (px) over a still photo with fresh sensor-like noise per frame."""
    rng = np.random.default_rng(7)
    stage = make_stage(["mesh"], smoothing=smoothing)
    track = []
    for i in range(18):
        noisy = np.clip(astronaut + rng.normal(0.0, 4.0, astronaut.shape), 0, 255).astype(np.uint8)
        stage.process(noisy, i / 30.0)
        [face] = stage.faces
        track.append(face.landmarks[:, :2].copy())
    return float(np.array(track[4:]).std(axis=0).mean())


def test_smoothing_reduces_jitter(make_stage, astronaut):
    raw = landmark_jitter(make_stage, astronaut, smoothing=False)
    smoothed = landmark_jitter(make_stage, astronaut, smoothing=True)
    assert raw > 0.0  # the noise does move the raw landmarks
    assert smoothed < 0.5 * raw, (raw, smoothed)
    assert smoothed < 0.25  # px, on a 95 px face


def test_two_faces_keep_their_tracks_and_a_vanished_face_loses_its_glasses(make_stage, astronaut, chelsea):
    """Two faces get two stable track ids; when one disappears its glasses go on that same frame
    (it is held for the privacy lenses, without landmarks, so no landmark lens draws on it)."""
    head = astronaut[0:300, 75:375]  # a crop, so that two faces are big enough for the short-range detector
    both = np.ascontiguousarray(np.hstack([head, head[:, ::-1]]))
    stage = make_stage(["glasses"])
    ids = []
    for i in range(3):
        stage.process(both, i / 30.0)
        faces = sorted(stage.faces, key=lambda f: f.centroid[0])
        assert len(faces) == 2 and all(f.detected and f.landmarks is not None for f in faces)
        assert faces[0].centroid[0] < 300 < faces[1].centroid[0]
        ids.append([f.track_id for f in faces])
    assert ids[0] == ids[1] == ids[2] and ids[0][0] != ids[0][1]
    one = both.copy()
    one[:, 300:] = chelsea[:, 100:400]  # a cat instead of the right face
    out = stage.process(one, 3 / 30.0)
    assert [(f.track_id, f.detected, f.landmarks is None) for f in stage.faces] == [
        (ids[0][0], True, False), (ids[0][1], False, True)]
    assert np.array_equal(out[:, 300:], one[:, 300:])
    assert (np.abs(out[:, :300].astype(int) - one[:, :300]).max(axis=2) > 20).sum() > 50


def test_live_mode_draws_from_the_worker(make_stage, astronaut):
    """In the threaded mode frames are never held back, and once analysed they carry the overlay."""
    sync = make_stage(["face-pixelate"])
    expected = sync.process(astronaut, 0.0).copy()
    with make_stage(["face-pixelate"], synchronous=False) as live:
        def analysed():  # until the worker answers, frames go through untouched
            live.process(astronaut, time.monotonic())
            return live.faces

        wait_for(analysed, 60, "the face worker's first result")
        out = live.process(astronaut, time.monotonic())
        assert live.cost_ms > 0.0
        assert np.abs(out.astype(int) - expected).max() <= 4  # same picture as the synchronous mode
    live.close()  # idempotent


def test_one_euro_constant_input_is_constant():
    f = OneEuroFilter()
    x = np.array([[10.0, 20.0], [30.0, 40.0]], np.float32)
    for i in range(10):
        assert np.array_equal(f(x, i / 30.0), x)


def test_one_euro_follows_a_step_and_smooths_slowly_without_beta():
    """With beta 0 it is a first-order low-pass at min_cutoff: the step response matches the formula."""
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    f(np.zeros(3, np.float32), 0.0)
    dt = 1 / 30
    alpha = 1.0 / (1.0 + 1.0 / (2 * np.pi * 1.0) / dt)
    y = [f(np.ones(3, np.float32), (i + 1) * dt)[0] for i in range(30)]
    expected = 1.0 - (1.0 - alpha) ** np.arange(1, 31)
    np.testing.assert_allclose(y, expected, rtol=1e-5)


def test_tracks_match_by_centroid():
    """Detections swap order between frames: tracks still follow their faces; far ones start new ids."""
    from camfilters.face.detect import Detection

    tracks = FaceTracks(smoothing=False, hold=0.0)
    a, b = Detection((60.0, 60.0, 80.0, 80.0), 0.9), Detection((360.0, 60.0, 80.0, 80.0), 0.9)
    moved = lambda d, dx: Detection((d.box[0] + dx, d.box[1] + dx, 80.0, 80.0), 0.9)  # noqa: E731
    first = tracks.update([a, b], 0.0)
    second = tracks.update([moved(b, 5), moved(a, 5)], 1 / 30)
    assert [f.track_id for f in second] == [first[1].track_id, first[0].track_id]
    third = tracks.update([moved(a, 500)], 2 / 30)
    assert third[0].track_id not in {f.track_id for f in first}


def test_mask_smoothing_damps_flicker():
    """A pixel flickering 0, 1, 0, 1 settles to 1/3 <-> 2/3 with weight 0.5 (EMA fixed points)."""
    from camfilters.face.segmentation import MaskSmoother

    smooth = MaskSmoother(0.5)
    values = [float(smooth(np.full((2, 2), float(i % 2), np.float32))[0, 0]) for i in range(40)]
    assert values[0] == 0.0 and values[1] == 0.5
    np.testing.assert_allclose(values[-2:], [1 / 3, 2 / 3], atol=1e-6)
    assert np.array_equal(smooth(np.zeros((3, 3), np.float32)), np.zeros((3, 3)))  # new size: restart


def paste(photo: np.ndarray, size: int, x0: int, y0: int, shape=(720, 1280)) -> tuple[np.ndarray, np.ndarray]:
    """``photo`` resized to ``size`` px square on a grey frame at (x0, y0), and that (2, 3) transform."""
    frame = np.full((*shape, 3), 60, np.uint8)
    frame[y0 : y0 + size, x0 : x0 + size] = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA)
    s = size / photo.shape[1]
    return frame, np.float32([[s, 0, x0], [0, s, y0]])


EYES = [33, 133, 263, 362, 468, 473]  # eye corners and iris centres in the 478-point mesh


@pytest.mark.parametrize(("fraction", "x0"), [(0.07, 0), (0.09, 330), (0.10, 590)])
def test_small_faces_in_a_wide_frame_get_glasses_on_the_eyes(make_stage, astronaut, fraction, x0):
    """A face 7-10% of a 1280x720 frame wide (whole-frame detection misses it): found, glasses on the eyes.

    The reference is the big astronaut photo analysed alone, mapped through the paste transform.
    The 7% face sits left of the centre square, so it is found on a side tile.
    """
    ref_stage = make_stage(["glasses"])
    c0 = overlay_centroid(ref_stage.process(astronaut, 0.0), astronaut)
    eyes0 = ref_stage.faces[0].landmarks[EYES, :2]
    size = round(fraction * 1280 * astronaut.shape[1] / ASTRONAUT_FACE[2])
    frame, transform = paste(astronaut, size, x0, 0)
    stage = make_stage(["glasses"])
    for i in range(3):
        out = stage.process(frame, i / 30.0)
    [face] = stage.faces
    assert abs(face.width / 1280 - fraction) < 0.2 * fraction
    eyes = eyes0 @ transform[:, :2].T + transform[:, 2]
    assert np.abs(face.landmarks[EYES, :2] - eyes).max() < 3.0  # px
    expected = transform[:, :2] @ c0 + transform[:, 2]
    assert np.hypot(*(overlay_centroid(out, frame) - expected)) < 2.0


def test_a_small_face_moving_across_a_wide_frame_stays_tracked(make_stage, astronaut):
    """A 7% face crossing a 1280x720 frame, 39 px per frame, keeps one track and its glasses.

    It starts in the left tile (found on the second analysis) and ends right of the centre
    square: only the region kept around the tracked face can follow it all the way.
    """
    ref_stage = make_stage(["glasses"])
    c0 = overlay_centroid(ref_stage.process(astronaut, 0.0), astronaut)
    size = round(0.07 * 1280 * astronaut.shape[1] / ASTRONAUT_FACE[2])
    stage = make_stage(["glasses"])
    ids, errors = set(), []
    for i in range(21):
        frame, transform = paste(astronaut, size, 39 * i, 10 + 4 * i)
        out = stage.process(frame, i / 30.0)
        if i == 0:
            continue
        assert len(stage.faces) == 1, f"lost at frame {i}"
        ids.add(stage.faces[0].track_id)
        errors.append(float(np.hypot(*(overlay_centroid(out, frame) - (transform[:, :2] @ c0 + transform[:, 2])))))
    assert stage.faces[0].centroid[0] > 1000 - 0.5 * stage.faces[0].width  # outside the centre square
    assert len(ids) == 1
    assert max(errors) < 6.0, errors  # 1170 px/s: One Euro lag stays small


def test_a_small_face_beside_a_big_one_is_found_by_the_periodic_scan(make_stage, astronaut):
    """A big face (18% wide) keeps the whole-frame pass busy; the 7% face is found by the scan every
    `scan_every` (10) analyses, its landmarks where the paste transform puts them, the big face kept."""
    ref_stage = make_stage(["mesh"])
    ref_stage.process(astronaut, 0.0)
    eyes0 = ref_stage.faces[0].landmarks[EYES, :2]
    frame, transform = paste(astronaut, round(0.07 * 1280 * astronaut.shape[1] / ASTRONAUT_FACE[2]), 590, 200)
    frame[:, :560] = cv2.resize(astronaut[0:300, 75:375], (720, 720), interpolation=cv2.INTER_LINEAR)[:, :560]
    stage = make_stage(["mesh"])
    counts = []
    for i in range(11):
        stage.process(frame, i / 30.0)
        counts.append(len(stage.faces))
    assert counts == [1] * 9 + [2, 2]
    big, small = sorted(stage.faces, key=lambda f: f.width, reverse=True)
    assert big.centroid[0] < 560 and 0.15 < big.width / 1280 < 0.21
    assert np.abs(small.landmarks[EYES, :2] - (eyes0 @ transform[:, :2].T + transform[:, 2])).max() < 3.0


def test_square_boxes_stay_inside_the_frame():
    from camfilters.face.landmarks import scan_tiles, square_box

    assert square_box(640, 360, 200, (1280, 720)) == (540, 260, 200, 200)
    assert square_box(10, 700, 200, (1280, 720)) == (0, 520, 200, 200)  # shifted in, not shrunk
    assert square_box(640, 360, 5000, (1280, 720)) == (280, 0, 720, 720)  # at most the shorter side
    assert scan_tiles((1280, 720)) == [(280, 0, 720, 720), (0, 0, 720, 720), (560, 0, 720, 720)]
    assert scan_tiles((480, 1280)) == [(0, 400, 480, 480), (0, 0, 480, 480), (0, 800, 480, 480)]
    assert scan_tiles((640, 600)) == [(20, 0, 600, 600)]  # nearly square: the centre square only
