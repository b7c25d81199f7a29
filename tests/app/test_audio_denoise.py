"""Sound denoising (``--audio-denoise``, `camfilters.audio_denoise`): noisy espeak-ng speech cleaned, in time.

The reference is the clean speech itself: every score compares with it after alignment
(`camfilters.bench.speech`). Noise: pink noise plus a 100 Hz hum at 0 and 10 dB SNR. On this
3.5 s sentence the hum canceller and RNNoise reach +9.7 dB at 0 dB and +4.4 dB at 10 dB (RNNoise
alone: +7.7 and +3.3; the issue asked for +10 dB, met at 0 dB on the benchmark's 7.6 s, where the
canceller has longer to learn the hum; the README's table says why 10 dB falls short), so the
SNR bounds below sit 1 dB under what it gives, to catch a regression, not to claim the goal.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from test_audio import flashes_and_clicks, sound, tracks  # noqa: F401  (sound: the private PulseAudio fixture)

from camfilters.audio_denoise import DELAY, FRAME, Denoiser, LiveDenoiser, denoise, is_on
from camfilters.bench import speech as sp
from camfilters.hum_canceller import HumCanceller
from camfilters.live import LiveOptions, LiveSession

from cli_helpers import assert_one_line_error, camfilters, cli_main
from sound_server import available

pytest.importorskip("pyrnnoise", reason='needs the denoise extra: pip install "camfilters[denoise]"')
pytestmark = pytest.mark.skipif(sp.espeak_available() is not None, reason=sp.espeak_available() or "")

#: (input SNR, least SNR gain, dB): what the hum canceller and RNNoise give on the 3.5 s sentence, less 1 dB.
GAINS = [(0, 8.7), (10, 3.4)]
RATE = sp.RATE


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return sp.speech(seconds=3.5)


def speech_clip(path: Path, samples: np.ndarray, *, fps: int = 30, rate: int = 44100, layout: str = "stereo") -> Path:
    """A clip of ``samples`` (48 kHz mono) as AAC at ``rate`` in ``layout`` beside grey frames as long, from 0 s."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        sound_out = container.add_stream("aac", rate=rate, layout=layout)
        for i in range(round(len(samples) / RATE * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 128, np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        frame = av.AudioFrame.from_ndarray(samples[None].copy(), format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, 0, Fraction(1, RATE)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        for out in [*resampler.resample(frame), *resampler.resample(None)]:
            container.mux(sound_out.encode(out))
        container.mux(sound_out.encode(None))
    return path


def on_video_timeline(path: Path) -> np.ndarray:
    """The file's sound at 48 kHz, sample 0 at the first video frame's time (silence before its sound starts)."""
    got = tracks(path)
    samples = got["samples"]
    if got["rate"] != RATE:
        samples = np.interp(np.arange(round(len(samples) * RATE / got["rate"])) * got["rate"] / RATE,
                            np.arange(len(samples)), samples)
    offset = round((got["audio"][0] - got["video"][0]) * RATE)
    return np.r_[np.zeros(max(0, offset)), samples[max(0, -offset):]]


@pytest.mark.parametrize(("snr", "gain"), GAINS)
def test_denoising_raises_the_snr_and_keeps_the_speech_envelope(clean, snr, gain):
    noisy = sp.noisy(clean, snr)
    out = denoise(noisy)
    before, after = sp.aligned_snr(clean, noisy), sp.aligned_snr(clean, out)
    assert abs(before - snr) < 0.5  # the mix is what it says
    assert after - before >= gain, (before, after)
    assert sp.envelope_correlation(clean, out) >= 0.8
    assert sp.lag(clean, out) == 0  # denoise() gives the track aligned: its delay is cut off


@pytest.mark.slow  # 7.6 s of sound: about 2 s
def test_the_issues_10_db_goal_is_met_at_0_db_input_on_the_benchmark_clip():
    """Issue 23's goal, as `benchmarks/audio_denoise.py` scores it: on the whole 7.6 s clip at 0 dB SNR, the SNR
    gain is at least 10 dB (seen: 10.02; no tolerance, it is the goal) with the envelope at 0.8 or more."""
    clean = sp.speech()
    noisy = sp.noisy(clean, 0)
    out = denoise(noisy)
    assert sp.aligned_snr(clean, out) - sp.aligned_snr(clean, noisy) >= 10
    assert sp.envelope_correlation(clean, out) >= 0.8


def cancel_hum(samples: np.ndarray) -> np.ndarray:
    """``samples`` through a fresh `HumCanceller` in 10 ms blocks (the whole blocks only)."""
    canceller = HumCanceller()
    return np.concatenate([canceller(b) for b in samples[:len(samples) // FRAME * FRAME].reshape(-1, FRAME)])


@pytest.mark.parametrize("hz", [50, 60, 123.4])  # on a bin's centre (5 Hz bins), between, anywhere
def test_the_hum_canceller_takes_out_a_steady_tone_and_its_harmonics(hz):
    """A hum (with its 2nd and 3rd harmonics at half and a quarter) is at least 35 dB down 3.5-4 s in."""
    t = np.arange(4 * RATE) / RATE
    hum = sum(a * np.sin(2 * np.pi * hz * k * t + k) for k, a in ((1, 1.0), (2, 0.5), (3, 0.25)))
    left = cancel_hum(hum)[-RATE // 2:]
    assert 10 * np.log10(np.mean(left ** 2) / np.mean(hum ** 2)) <= -35


def test_the_hum_canceller_keeps_speech_and_takes_the_hum_from_under_it(clean):
    """Clean speech comes through at 30 dB SI-SDR or more (no tone is invented from its harmonics; seen: 33);
    with the benchmark's hum 10 dB under it, the SNR rises from 10 dB to 15 dB or more (seen: 16.6)."""
    speech = clean[:len(clean) // FRAME * FRAME].astype(np.float64)
    assert sp.aligned_snr(speech, cancel_hum(speech)) >= 30
    hummed = speech + sp.hum(len(speech)) * np.sqrt(np.mean(speech ** 2) / 10)
    assert abs(sp.aligned_snr(speech, hummed) - 10) < 0.1
    assert sp.aligned_snr(speech, cancel_hum(hummed)) >= 15


@pytest.mark.parametrize(("snr", "more"), [(0, 1.5), (10, 0.7)])  # seen: +2.0 and +1.1 dB
def test_the_hum_canceller_adds_to_what_rnnoise_gives(clean, snr, more):
    """The same noisy speech through RNNoise alone and through the canceller first: the SNR gain is higher."""
    noisy = sp.noisy(clean, snr)
    padded = np.r_[noisy, np.zeros(DELAY + FRAME, np.float32)][:, None]
    alone = Denoiser(hum=False).process(padded)[DELAY:DELAY + len(noisy), 0]
    assert sp.aligned_snr(clean, denoise(noisy)) - sp.aligned_snr(clean, alone) >= more


def test_the_delay_is_20_ms_and_blocks_of_any_size_give_the_same_sound(clean):
    """RNNoise's and the hum canceller's states are kept between blocks: 333-sample blocks give exactly the
    one-call result."""
    noisy = sp.noisy(clean, 0)[:, None]
    whole = Denoiser().process(noisy)
    streamed = Denoiser()
    parts = np.concatenate([streamed.process(noisy[i:i + 333]) for i in range(0, len(noisy), 333)])
    np.testing.assert_array_equal(parts, whole[:len(parts)])
    assert sp.lag(clean, whole[:, 0]) == DELAY == RATE * 20 // 1000


@pytest.mark.parametrize("snr", [0, 10])
def test_the_speech_probability_follows_the_clean_speech(clean, snr):
    """RNNoise's per-frame VAD, lined up with the output (``DELAY`` later), is high where the clean speech is within
    20 dB of its peak and low in its pauses (as `speech.pause_ratio` finds them; seen: 0.99 and 0.07 at 0 dB)."""
    denoiser = Denoiser()
    out = denoiser.process(sp.noisy(clean, snr)[:, None])
    vad = denoiser.vad[DELAY // FRAME:, 0]
    assert denoiser.vad.shape == (len(out) // FRAME, 1)
    level = sp.envelope(clean.astype(np.float64), -200)[:len(vad)]
    near = np.convolve(level >= level.max() - 50, np.ones(11), "same") > 0
    assert vad[level >= level.max() - 20].mean() >= 0.9
    assert vad[~near].mean() <= 0.2


@pytest.mark.parametrize("block", [960, 1600])  # the microphone's 20 ms; a 30 fps clip's frame
def test_live_blocks_are_timed_where_their_sound_was_captured(clean, block):
    """Placed by the times `LiveDenoiser` gives, the cleaned sound lines up with the clean speech to the sample."""
    denoiser, placed, t0, pad = LiveDenoiser(), np.zeros(len(clean) + RATE), 100.0, DELAY
    noisy = sp.noisy(clean, 10)[:, None]
    for i in range(0, len(noisy), block):
        out, when = denoiser(noisy[i:i + block], t0 + i / RATE)
        at = pad + round((when - t0) * RATE)  # the first block's sound starts before t0: its delay
        placed[at:at + len(out)] = out[:, 0]
    placed = placed[pad:]
    assert sp.lag(clean, placed) == 0
    assert sp.aligned_snr(clean, placed) - sp.aligned_snr(clean, noisy[:, 0]) >= GAINS[1][1]


def test_render_audio_denoise_cleans_the_clips_sound_in_sync(clean, tmp_path):
    """End to end: a 44.1 kHz stereo AAC clip of noisy speech rendered with --audio-denoise (48 kHz out)."""
    clip, out = speech_clip(tmp_path / "in.mp4", sp.noisy(clean, 0)), tmp_path / "out.mp4"
    proc = cli_main("render", str(clip), "-o", str(out), "--audio-denoise", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    before, after = on_video_timeline(clip), on_video_timeline(out)
    assert tracks(out)["rate"] == RATE
    assert abs(sp.lag(clean, after)) <= 0.040 * RATE  # A/V sync: the speech where it was against the frames
    assert sp.aligned_snr(clean, after) - sp.aligned_snr(clean, before) >= GAINS[0][1] - 0.5  # AAC costs a little
    assert sp.envelope_correlation(clean, after) >= 0.8


def test_a_toggles_denoising_and_the_status_bar_and_presets_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMFILTERS_CONFIG", str(tmp_path / "config.toml"))
    session = LiveSession(LiveOptions(window=False, filters=["edge"]))
    assert session.handle_key(ord("a"), (64, 48), 30.0)
    assert "no sound to denoise" in session.toasts.active[0]

    class Source:
        channels, denoiser, level = 1, None, 0.0

    session.audio = Source()
    session.handle_key(ord("a"), (64, 48), 30.0)
    assert session.toasts.active[0] == "sound denoising on" and is_on(session.audio)
    assert "DENOISE" in session.status_text()
    session.handle_key(ord("w"), (64, 48), 30.0)
    session.handle_key(ord("a"), (64, 48), 30.0)
    assert session.toasts.active[0] == "sound denoising off" and "DENOISE" not in session.status_text()
    from camfilters.presets import list_presets

    assert list_presets()["edge"]["audio_denoise"] is True


def test_run_audio_denoise_without_sound_is_one_line(tmp_path):
    proc = cli_main("run", "--source", "demo", "--no-window", "--max-frames", "2", "--audio-denoise")
    assert_one_line_error(proc, "--audio-denoise", "--audio")
    assert proc.returncode == 2


def test_render_audio_denoise_on_a_file_without_sound_says_so_and_renders(tmp_path):
    """A file with no sound renders as without the option, with one line saying there was nothing to clean."""
    from media import make_video, probe

    clip, out = tmp_path / "silent.mp4", tmp_path / "out.mp4"
    make_video(clip, 6, size=(64, 48), fps=30, audio=False)
    proc = cli_main("render", str(clip), "-o", str(out), "--audio-denoise", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "silent.mp4 has no sound: --audio-denoise has nothing to clean" in proc.stderr
    assert probe(out).frames == 6


def test_a_preset_audio_denoise_must_be_true_or_false(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[presets.talk]\naudio_denoise = "yes"\n')
    proc = cli_main("run", "--preset", "talk", env={"CAMFILTERS_CONFIG": str(config)})
    assert_one_line_error(proc, "audio_denoise must be true or false")


@pytest.mark.slow  # a process of its own, with pyrnnoise made unimportable
def test_render_audio_denoise_without_pyrnnoise_is_one_line_naming_the_extra(tmp_path):
    clip = speech_clip(tmp_path / "in.mp4", np.zeros(RATE // 2, np.float32))
    proc = camfilters("render", str(clip), "-o", str(tmp_path / "out.mp4"), "--audio-denoise", blocked={"pyrnnoise"})
    assert_one_line_error(proc, "pyrnnoise", "camfilters[denoise]")
    assert proc.returncode == 1 and not (tmp_path / "out.mp4").exists()


def word_clip(path: Path, seconds: int = 4, fps: int = 30) -> tuple[Path, np.ndarray]:
    """Black frames with a white one each second from 1 s, and "pop" spoken from each flash in pink noise and hum
    as loud as the word; and how long after each flash the word's onset (`speech.onsets`) comes when the sound
    is denoised offline (`denoise`: aligned to the sample; RNNoise's gain takes ~30 ms to open), s."""
    word = sp.speech("pop")
    word = word[np.flatnonzero(np.abs(word) > 0.005)[0]:][: RATE // 2]
    samples = np.zeros(seconds * RATE, np.float32)
    for second in range(1, seconds):
        samples[second * RATE:second * RATE + len(word)] = word
    samples += sp.noise(len(samples), np.sqrt(np.mean(word**2))).astype(np.float32)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        sound_out = container.add_stream("aac", rate=RATE, layout="mono")
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 255 if i and i % fps == 0 else 0, np.uint8),
                                               format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        frame = av.AudioFrame.from_ndarray(samples[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, 0, Fraction(1, RATE)
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=RATE)
        for out in [*resampler.resample(frame), *resampler.resample(None)]:
            container.mux(sound_out.encode(out))
        container.mux(sound_out.encode(None))
    return path, sp.onsets(denoise(samples)) - np.arange(1, seconds)


@pytest.mark.slow  # the 4 s clip plays at its own pace
def test_a_file_sources_sound_is_recorded_denoised_in_sync_with_its_frames(tmp_path):
    """Each word starts with its flash (within 40 ms) in the recording, and the noise starts none of its own."""
    (clip, delays), out = word_clip(tmp_path / "in.mp4"), tmp_path / "out.mp4"
    proc = cli_main("run", "--source", str(clip), "--no-window", "--record", str(out), "--audio-denoise")
    assert proc.returncode == 0, proc.stderr
    flashes = flashes_and_clicks(out)[0]
    got = tracks(out)
    words = got["audio"][0] + sp.onsets(got["samples"])
    assert len(flashes) == 3 and len(words) == 3 == len(delays), (flashes, words, delays)
    assert np.abs(words - flashes - delays).max() <= 0.040, words - flashes - delays
    assert len(sp.onsets(tracks(clip)["samples"])) < 3  # without denoising, the noise hides where words start


@pytest.mark.skipif(available() is not None, reason=available() or "")
@pytest.mark.slow
def test_the_microphone_is_recorded_denoised(sound, clean, tmp_path):  # noqa: F811
    """Noisy speech played into the PulseAudio microphone, four times over; one whole copy is in the take.

    The recorder's drift correction stretches blocks by up to 0.5 %, which `aligned_snr` punishes as
    noise: the speech-to-pause ratio measures the cleaning here (offline at 10 dB SNR: 12 -> 85 dB)."""
    noisy, out = sp.noisy(clean, 10), tmp_path / "take.mkv"
    player = sound.play(np.tile(noisy, 4))
    try:
        proc = camfilters("run", "--source", "demo", "--fps", "30", "--no-window", "--duration", "8",
                          "--record", str(out), "--audio", "--audio-denoise", env=sound.env)
    finally:
        player.kill()
        player.wait()
    assert proc.returncode == 0, proc.stderr
    took = tracks(out)["samples"]
    start = sp.lag(clean, took, max_lag_s=len(clean) / RATE) % len(clean)  # a copy's start: the sound repeats
    heard = took[start:start + len(clean)]
    assert sp.pause_ratio(clean, heard) - sp.pause_ratio(clean, noisy) >= 20  # the noise in the pauses: 12 -> 85 dB
    assert sp.envelope_correlation(clean, heard) >= 0.8
