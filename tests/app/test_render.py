"""render(): filtered copies of test videos, checked with PyAV and ffprobe against the input."""

from __future__ import annotations

import errno
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from camfilters.errors import ParameterError, RecordingError, SourceError
from camfilters.options import RenderOptions
from camfilters.recording import VideoOutput
from camfilters.render import RenderInterrupted, RenderResult, render

from helpers import decode_frames, frame_times, mean_abs
from media import frame_image, frame_index, make_video, probe

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe (Debian package ffmpeg)")

SIZE = (160, 120)


def invert(image: np.ndarray, timestamp: float) -> np.ndarray:
    return 255 - image


@pytest.fixture(scope="module")
def clip_with_audio(tmp_path_factory) -> Path:
    """48 frames, 160x120, 24 fps H.264 with a 2 s AAC tone, in MP4."""
    return make_video(tmp_path_factory.mktemp("in") / "clip.mp4", 48, size=SIZE, fps=24, audio=True)


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".mov"])
def test_render_keeps_frames_timing_and_copies_the_audio(tmp_path, clip_with_audio, ext):
    out = tmp_path / f"out{ext}"
    seen: list[float] = []

    def process(image, timestamp):
        seen.append(timestamp)
        return invert(image, timestamp)

    result = render(clip_with_audio, out, process, progress=False)

    src, dst = probe(clip_with_audio), probe(out)
    assert isinstance(result, RenderResult)
    assert (result.output, result.frames, result.fps, result.audio) == (out, 48, Fraction(24), "copied")
    assert result.duration == pytest.approx(2.0, abs=1e-3)
    assert (dst.width, dst.height, dst.frames) == (src.width, src.height, src.frames)
    assert dst.video_duration == pytest.approx(src.video_duration, abs=2e-3)
    assert dst.frames / dst.video_duration == pytest.approx(24, rel=1e-3)
    assert dst.audio_codec == src.audio_codec == "aac"
    assert dst.audio_duration == pytest.approx(src.audio_duration, abs=0.05)
    np.testing.assert_allclose(seen, frame_times(clip_with_audio), atol=1e-6)
    # Every frame keeps its time, up to one constant shift: Matroska stores no negative times, so the
    # AAC priming packet (-21.3 ms) moves both streams later by that much, keeping them in sync.
    shift = np.array(frame_times(out)) - np.array(frame_times(clip_with_audio))
    assert np.ptp(shift) < 1e-3 and abs(shift[0]) < 1024 / 48000 + 1e-3, shift
    decoded_in, decoded_out = decode_frames(clip_with_audio), decode_frames(out)
    assert [frame_index(255 - f) for f in decoded_out] == list(range(48))
    errors = [mean_abs(o, 255 - i) for i, o in zip(decoded_in, decoded_out)]
    assert max(errors) < 3.0, errors


def test_copied_audio_packets_are_identical(tmp_path, clip_with_audio):
    out = tmp_path / "out.mp4"
    render(clip_with_audio, out, invert, progress=False)

    def audio_payloads(path):
        with av.open(str(path)) as container:
            return [bytes(p) for p in container.demux(audio=0) if p.size]

    assert audio_payloads(out) == audio_payloads(clip_with_audio)


def test_audio_the_container_cannot_hold_is_re_encoded(tmp_path, clip_with_audio):
    """WebM takes no AAC: the sound becomes Opus, as long as before and still the same tone."""
    out = tmp_path / "out.webm"
    result = render(clip_with_audio, out, invert, progress=False)
    info = probe(out)
    assert result.audio == "re-encoded"
    assert (info.video_codec, info.audio_codec, info.frames) == ("vp9", "opus", 48)
    assert info.audio_duration == pytest.approx(probe(clip_with_audio).audio_duration, abs=0.05)
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
        rate = container.streams.audio[0].rate
    spectrum = np.abs(np.fft.rfft(samples[rate // 10 : rate]))
    assert np.fft.rfftfreq(len(samples[rate // 10 : rate]), 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_render_without_audio_at_ntsc_rate(tmp_path):
    rate = Fraction(24000, 1001)
    src = make_video(tmp_path / "in.mkv", 30, size=SIZE, fps=rate)
    out = tmp_path / "out.mp4"
    result = render(src, out, invert, progress=False)
    info = probe(out)
    assert result.audio is None and info.audio_codec is None
    assert result.fps == rate
    assert info.frames == 30
    assert info.frames / info.video_duration == pytest.approx(float(rate), rel=2e-3)
    assert [frame_index(255 - f) for f in decode_frames(out)] == list(range(30))


def test_odd_sized_input_loses_the_last_column_and_row(tmp_path):
    size = (161, 121)
    src = make_video(tmp_path / "odd.mkv", 6, size=size)  # yuv444p: 4:2:0 needs even sides
    out = tmp_path / "out.mp4"
    render(src, out, invert, progress=False)
    info = probe(out)
    assert (info.width, info.height, info.frames) == (160, 120, 6)
    for i, (a, b) in enumerate(zip(decode_frames(src), decode_frames(out))):
        assert mean_abs(b, 255 - a[:120, :160]) < 3.0, i


def test_process_may_reuse_its_output_buffer(tmp_path, clip_with_audio):
    """A stage that returns the same array every call (as FilterStage does) still gives distinct frames."""
    buffer = np.empty((SIZE[1], SIZE[0], 3), np.uint8)

    def process(image, timestamp):
        np.subtract(255, image, out=buffer)
        return buffer

    out = tmp_path / "out.mkv"
    render(clip_with_audio, out, process, progress=False)
    assert [frame_index(255 - f) for f in decode_frames(out)] == list(range(48))


def test_progress_bar_goes_to_stderr_with_the_frame_total(tmp_path, clip_with_audio, capsys):
    render(clip_with_audio, tmp_path / "out.mp4", invert, progress=True)
    captured = capsys.readouterr()
    assert "48/48" in captured.err
    assert captured.out == ""
    render(clip_with_audio, tmp_path / "quiet.mp4", invert, progress=False)
    assert capsys.readouterr().err == ""


# --- errors ----------------------------------------------------------------------------------------


def truncated_after_header(tmp_path: Path) -> Path:
    """An MKV cut a few bytes into its first cluster: a video stream with no decodable frame."""
    data = make_video(tmp_path / "whole.mkv", 10, size=SIZE).read_bytes()
    cut = data.index(b"\x1f\x43\xb6\x75") + 40  # Matroska Cluster element ID
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[:cut])
    return path


def noise(tmp_path: Path) -> Path:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    return path


def audio_only(tmp_path: Path) -> Path:
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4800), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("make_input", "match"),
    [
        (lambda d: d / "missing.mp4", r"cannot read .*missing.mp4: no such file"),
        (lambda d: d, r"cannot read .*: it is a folder"),
        (noise, "not a video file"),
        (audio_only, r"tone.m4a: it has no video stream"),
        (truncated_after_header, r"cut.mkv is corrupt or truncated: not one frame decodes"),
    ],
    ids=["missing", "folder", "noise", "audio-only", "cut-in-first-cluster"],
)
def test_bad_inputs_fail_in_one_line_and_leave_no_output(tmp_path, make_input, match):
    src = make_input(tmp_path)
    out = tmp_path / "out.mp4"
    with pytest.raises(SourceError, match=match) as info:
        render(src, out, invert, progress=False)
    assert "\n" not in str(info.value)
    assert [p for p in tmp_path.iterdir() if p.name.startswith((".", "out"))] == []  # no output, no temporary file


def test_unwritable_output_is_refused_before_reading(tmp_path, clip_with_audio):
    with pytest.raises(RecordingError, match=r"folder .*nope does not exist"):
        render(clip_with_audio, tmp_path / "nope" / "out.mp4", invert, progress=False)
    with pytest.raises(RecordingError, match="unsupported extension '.avi'"):
        render(clip_with_audio, tmp_path / "out.avi", invert, progress=False)


def test_rendering_onto_the_input_is_refused(tmp_path, clip_with_audio):
    src = tmp_path / "copy.mp4"
    src.write_bytes(clip_with_audio.read_bytes())
    with pytest.raises(ParameterError, match="onto itself"):
        render(src, src, invert, RenderOptions(overwrite=True), progress=False)
    assert src.read_bytes() == clip_with_audio.read_bytes()


def test_a_process_returning_another_shape_fails_and_leaves_no_output(tmp_path, clip_with_audio):
    out = tmp_path / "out.mp4"
    with pytest.raises(ParameterError, match=r"process must return a \(120, 160, 3\) uint8 frame .*got \(60, 80, 3\)"):
        render(clip_with_audio, out, lambda image, t: image[::2, ::2].copy(), progress=False)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_an_error_in_process_propagates_and_leaves_no_output(tmp_path, clip_with_audio):
    def process(image, timestamp):
        if frame_index(image) == 10:
            raise ZeroDivisionError("boom")
        return image

    out = tmp_path / "out.mkv"
    with pytest.raises(ZeroDivisionError, match="boom"):
        render(clip_with_audio, out, process, progress=False)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_an_interrupted_render_keeps_a_playable_partial_file(tmp_path, clip_with_audio):
    def process(image, timestamp):
        if frame_index(image) == 20:
            raise KeyboardInterrupt
        return image

    out = tmp_path / "out.mp4"
    with pytest.raises(RenderInterrupted, match=r"kept the first \d+ frames in .*out-partial.mp4") as info:
        render(clip_with_audio, out, process, progress=False)
    assert info.value.partial == tmp_path / "out-partial.mp4" and not out.exists()
    indices = [frame_index(f) for f in decode_frames(info.value.partial)]
    assert indices == list(range(info.value.frames)) and 0 < len(indices) <= 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-partial.mp4"]


def test_frames_match_the_independent_reference_pattern(tmp_path):
    """Identity render of a clean pattern: the output is the pattern within compression error."""
    src = make_video(tmp_path / "in.mp4", 12, size=SIZE)
    out = tmp_path / "out.mp4"
    render(src, out, lambda image, t: image, progress=False)
    for i, frame in enumerate(decode_frames(out)):
        assert mean_abs(frame, frame_image(i, SIZE)) < 4.0


def test_a_write_error_fails_in_one_line_and_leaves_no_output(tmp_path, clip_with_audio, monkeypatch):
    encode = VideoOutput.encode

    def failing_encode(self, image, pts, duration):
        if frame_index(255 - image) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        encode(self, image, pts, duration)

    monkeypatch.setattr(VideoOutput, "encode", failing_encode)
    out = tmp_path / "out.mp4"
    with pytest.raises(RecordingError, match=r"cannot write .*out.mp4: the disk is full \(No space left on device\)"):
        render(clip_with_audio, out, invert, progress=False)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_a_bad_preset_is_refused(tmp_path, clip_with_audio):
    with pytest.raises(ParameterError, match="preset must be one of"):
        render(clip_with_audio, tmp_path / "out.mp4", invert, RenderOptions(speed="turbo"), progress=False)
    assert list(tmp_path.iterdir()) == []
