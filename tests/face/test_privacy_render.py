"""``camfilters render --lens`` on a composite multi-face clip, as a user runs it (subprocess).

The clip (`clips.build_clip`): eight real faces at 2 % to 30 % of a 1280x720 frame,
moving, entering and leaving, a cat, and an AAC tone. Checked against independent
references: the ground-truth boxes, ffprobe, PyAV decoding, sha256 of files that must survive.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys

import pytest

from clips import MODELS, build_clip, coverage
from helpers import sha256
from media import probe

FACE_MODEL, SEGMENTATION_MODEL = MODELS / "face_landmarker.task", MODELS / "selfie_segmentation.tflite"
# The share of face-frames render --lens face-blur must hide on the default clip (measured: 275/275; the
# issue's bar, 99 %, leaves room for a 2 % face whose score depends on where it lies in a tile).
REQUIRED_RECALL = 0.99


def camfilters(*args: str, timeout: float = 600, process: bool = True) -> subprocess.CompletedProcess:
    """``python -m camfilters ARGS`` (with ``process=False``, `cli_main` in this process); ``stderr`` reduced
    to camfilters' own lines (a model MediaPipe refuses makes it print a native stack dump), ``raw_stderr``
    all of it."""
    if process:
        proc = subprocess.run([sys.executable, "-m", "camfilters", *args], capture_output=True, text=True,
                              timeout=timeout)
    else:
        from cli_helpers import cli_main  # tests/app, on sys.path once clips is imported

        proc = cli_main(*args)
    proc.raw_stderr = proc.stderr
    proc.stderr = "".join(line + "\n" for line in proc.stderr.splitlines() if line.startswith("camfilters")
                          or line.startswith("Traceback"))
    return proc



@pytest.fixture(scope="module")
def faces_clip(tmp_path_factory):
    if importlib.util.find_spec("mediapipe") is None or not FACE_MODEL.is_file():
        pytest.skip("mediapipe or the face model is missing")
    return build_clip(tmp_path_factory.mktemp("clip") / "faces.mp4")


@pytest.fixture(scope="module")
def rendered(faces_clip):
    """(output video, faces CSV, the finished process) of render --lens face-blur --faces-csv on the clip."""
    out, table = faces_clip.path.with_name("blurred.mp4"), faces_clip.path.with_name("faces.csv")
    proc = camfilters("render", str(faces_clip.path), "-o", str(out), "--lens", "face-blur", "--face-model", str(FACE_MODEL),
                      "--faces-csv", str(table), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return out, table, proc


def test_render_hides_the_faces(faces_clip, rendered):
    """Face-frames hidden (`clips` metric); the background far from faces and the cat are untouched."""
    report = coverage(faces_clip, rendered[0])
    print(f"recall {report.recall:.3f} ({report.covered}/{report.face_frames} face-frames), "
          f"background changed {report.background_changed:.3%}, cat {report.cat_change:.2f} levels")
    assert report.recall >= REQUIRED_RECALL, f"missed (frame, face): {report.missed}"
    assert report.background_changed < 0.002  # measured 0.008 % (0.3 % with threshold=0.5)
    assert report.cat_change < 4.0  # what re-encoding alone changes (about 2.7 levels here)


def test_render_prints_only_its_own_lines(rendered):
    """MediaPipe's and TFLite's native log lines (about 105 of them, into the progress bar) are kept off the
    terminal: what is left is camfilters' own line saying what it wrote."""
    lines = rendered[2].raw_stderr.splitlines()
    assert lines and all(line.startswith("camfilters: ") for line in lines), lines


def test_render_keeps_frames_fps_duration_and_audio(faces_clip, rendered):
    src, dst = probe(faces_clip.path), probe(rendered[0])
    assert (dst.width, dst.height, dst.frames, dst.fps) == (src.width, src.height, src.frames, src.fps) == (
        1280, 720, faces_clip.frames, 30)
    assert dst.video_duration == pytest.approx(src.video_duration, abs=1e-3)
    assert dst.audio_codec == "aac" and dst.audio_duration == pytest.approx(src.audio_duration, abs=0.03)


def iou(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def in_frame(box, size):
    """``box`` (x, y, w, h) clipped to a frame of ``size`` (W, H), as the detector reports a face at the edge."""
    x0, y0 = max(0.0, box[0]), max(0.0, box[1])
    return x0, y0, min(size[0], box[0] + box[2]) - x0, min(size[1], box[1] + box[3]) - y0


def test_faces_csv_matches_the_truth(faces_clip, rendered):
    """The CSV has a row for (nearly) every face-frame, its box on the true face box (the truth, clipped
    to the frame, has its centre inside the row's box and IoU >= 0.25 with it: the detector's boxes
    are larger and lag a little when held), one row per face and frame, time = frame / fps; rows on
    no face (false positives) stay a minority."""
    table = rendered[1]
    with table.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["frame", "time", "id", "x", "y", "w", "h", "score", "detected"]
    by_frame: dict[int, list[tuple[float, ...]]] = {}
    for row in rows:
        frame = int(row["frame"])
        assert float(row["time"]) == pytest.approx(frame / faces_clip.fps, abs=1e-4)
        assert 0.0 <= float(row["score"]) <= 1.0 and row["detected"] in ("0", "1")
        by_frame.setdefault(frame, []).append(tuple(float(row[k]) for k in "xywh"))
    found, used = 0, 0
    for frame, _, box in faces_clip.face_frames():
        truth = in_frame(box, faces_clip.size)
        cx, cy = truth[0] + truth[2] / 2, truth[1] + truth[3] / 2
        hits = [b for b in by_frame.get(frame, [])
                if iou(b, truth) >= 0.25 and b[0] <= cx <= b[0] + b[2] and b[1] <= cy <= b[1] + b[3]]
        assert len(hits) <= 1, f"frame {frame}: several rows for one face: {hits}"
        found += len(hits)
    for frame, boxes in by_frame.items():
        used += sum(any(iou(b, in_frame(t, faces_clip.size)) > 0.1 for _, t in faces_clip.truth[frame]) for b in boxes)
    print(f"CSV: {found}/{len(faces_clip.face_frames())} face-frames, {len(rows) - used} of {len(rows)} rows on no face")
    assert found >= REQUIRED_RECALL * len(faces_clip.face_frames())
    assert len(rows) - used <= 0.3 * len(rows)


def test_existing_csv_is_refused_and_kept(faces_clip, tmp_path):
    """Without -y an existing --faces-csv is refused before any work, its bytes unchanged, no output made."""
    table = tmp_path / "faces.csv"
    table.write_text("keep me\n")
    out = tmp_path / "out.mp4"
    proc = camfilters("render", str(faces_clip.path), "-o", str(out), "--lens", "face-blur", "--faces-csv", str(table),
                      process=False)
    assert proc.returncode == 1
    assert proc.stderr == f"camfilters: error: {table} already exists; add -y (--overwrite) to replace it, " \
                          "or choose another name\n"
    assert table.read_text() == "keep me\n" and not out.exists()


def test_failed_render_keeps_the_old_csv(tmp_path):
    """With -y, a render that fails (corrupt input) leaves the old CSV as it was and no temporary file."""
    table = tmp_path / "faces.csv"
    table.write_text("old rows\n")
    before = sha256(table)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    proc = camfilters("render", str(bad), "-o", str(tmp_path / "out.mp4"), "-y", "--lens", "face-blur",
                      "--face-model", str(FACE_MODEL), "--faces-csv", str(table))
    assert proc.returncode == 3, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "not a video file" in proc.stderr
    assert sha256(table) == before and sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4", "faces.csv"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--faces-csv", "{tmp}/f.csv"], 2, "--faces-csv needs a --lens, e.g. --lens face-blur"),
    (["--face-model", "x.task"], 2, "--face-model needs a --lens, e.g. --lens face-blur"),
    (["--lens", "face-blur:mode=smear"], 2, "lens face-blur: option mode must be one of blur, pixelate, solid, "
                                           "got 'smear'"),
    (["--lens", "face-blur:scale=9"], 2, "lens face-blur: option scale must be between 1.0 and 3.0, got 9.0"),
    (["--lens", "face-blur", "--faces-csv", "{clip}"], 2, "--faces-csv {clip} must be another file than the input "
                                                           "and the output"),
    (["--lens", "face-blur", "--faces-csv", "{tmp}/no/such/f.csv"], 1, "cannot write --faces-csv {tmp}/no/such/f.csv: "
                                                                      "No such file or directory; choose a writable folder"),
    (["--lens", "bg-blur", "--segmentation-model", str(SEGMENTATION_MODEL), "--faces-csv", "{tmp}/f.csv"], 2,
     "--faces-csv needs a lens that finds faces (e.g. face-blur), got bg-blur"),
    (["--detector-model", "x.tflite"], 2, "--detector-model needs a --lens, e.g. --lens face-blur"),
    (["--lens", "face-blur", "--detector-model", str(SEGMENTATION_MODEL)], 1,
     f"cannot load the model {SEGMENTATION_MODEL}: not a MediaPipe face detector model"),
    (["--lens", "face-blur", "--face-model", str(SEGMENTATION_MODEL)], 1,
     f"cannot load the model {SEGMENTATION_MODEL}: not a MediaPipe face detector model"),
    (["--lens", "face-blur", "--detector-model", str(FACE_MODEL)], 1, f"cannot load the model {FACE_MODEL}: "),
    (["--lens", "face-blur", "--detector-model", "{tmp}/junk.task"], 1, "cannot load the model {tmp}/junk.task: "),
    (["--lens", "mesh", "--face-model", str(SEGMENTATION_MODEL)], 1, f"cannot load the model {SEGMENTATION_MODEL}: "),
])
def test_bad_options_fail_in_one_line(faces_clip, tmp_path, args, code, message):
    """Usage errors exit 2, a model that is not a face model or a CSV that cannot be written exit 1: one line
    naming the problem, no traceback, nothing written. The bad models are given to a process of its own (MediaPipe
    prints native stack dumps), the rest to `cli_main`."""
    (tmp_path / "junk.task").write_bytes(bytes(range(256)) * 8)
    fill = lambda s: s.format(tmp=tmp_path, clip=faces_clip.path)  # noqa: E731
    out = tmp_path / "out.mp4"
    proc = camfilters("render", str(faces_clip.path), "-o", str(out), *map(fill, args),
                      process=message.startswith("cannot load the model"))
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("camfilters: error: " + fill(message)) and proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists() and not (tmp_path / "f.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.task"]
