"""The window's overlay and the session's hotkey feedback, without a window: toasts, status bar, help panel,
letterboxing, the f cycle and the console."""

from __future__ import annotations

import re
import signal

import numpy as np
import pytest

from camfilters import overlay
from camfilters.display import Window
from camfilters.errors import CamfiltersError
from camfilters.live import LiveOptions, LiveSession

from cli_helpers import camfilters, cli_env, cli_main
from helpers import MODELS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_toasts_last_their_time_newest_first_and_at_most_three():
    clock = Clock()
    toasts = overlay.Toasts(2.0, clock=clock)
    for text in ["a", "b", "c", "d"]:
        toasts.add(text)
        clock.now += 0.5
    assert toasts.active == ["d", "c", "b"]
    clock.now += 1.0  # "b" was added 2.5 s ago, "c" 2.0 s ago
    assert toasts.active == ["d"]
    clock.now += 10
    image = np.full((360, 640, 3), 100, np.uint8)
    toasts.draw(image)
    assert toasts.active == [] and (image == 100).all()


def test_an_error_toast_is_red_and_drawn_at_the_top_centre():
    toasts = overlay.Toasts(clock=Clock())
    toasts.add("could not write the snapshot", error=True)
    image = np.full((360, 640, 3), 128, np.uint8)
    toasts.draw(image)
    changed = np.argwhere((image != 128).any(axis=2))
    assert changed[:, 0].max() < 360 // 4  # the top quarter
    assert abs(changed[:, 1].mean() - 320) < 20  # centred
    b, g, r = image[..., 0].astype(int), image[..., 1].astype(int), image[..., 2].astype(int)
    assert ((r - np.maximum(b, g)) > 100).sum() > 50  # red text


def test_a_toast_too_wide_for_the_window_keeps_the_file_name_after_an_ellipsis():
    path = "/home/someone/Videos/camfilters/" + "a-rather-long-folder-name/" * 4 + "camfilters-20261130-040631.png"
    toasts = overlay.Toasts(clock=Clock())
    toasts.add(f"snapshot saved to {path}")
    image = np.zeros((360, 640, 3), np.uint8)
    toasts.draw(image)
    px = int(overlay.text_px(image) * 1.15)
    shown = overlay.fit_text(f"snapshot saved to {path}", px, 640 - 4 * max(4, px // 2))
    assert shown.startswith("snapshot saved to ") and shown.endswith("/camfilters-20261130-040631.png")
    assert "…" in shown and overlay.text_size(shown, px)[0] <= 640 - 4 * max(4, px // 2)
    changed = np.argwhere(image.any(axis=2))
    assert changed[:, 1].min() > 0 and changed[:, 1].max() < 639  # the whole text inside, not cut at the edges
    assert overlay.fit_text("saved a.mp4", px, 640) == "saved a.mp4"


def test_status_bar_shows_a_red_rec_dot_and_time_only_while_recording():
    plain = np.full((720, 1280, 3), 128, np.uint8)
    idle, recording = plain.copy(), plain.copy()
    overlay.draw_status(idle, overlay.Status(chain="edge", fps=30.0))
    overlay.draw_status(recording, overlay.Status(chain="edge", fps=30.0, recording=75.0, mirror=True, vcam="on"))
    red = lambda image: ((image[..., 2].astype(int) - image[..., 1]) > 120).sum()  # noqa: E731
    assert red(idle) == 0 and red(recording) > 100
    assert (idle[:600] == 128).all()  # the bar stays at the bottom
    assert idle[-5:].mean() < 128 * 0.5  # and is dark


def test_text_follows_the_image_size():
    """The font is sized from the height drawn on, so a bigger window gets bigger, still legible text."""
    assert overlay.text_px(np.zeros((360, 640, 3), np.uint8)) < overlay.text_px(np.zeros((1080, 1920, 3), np.uint8))
    assert overlay.text_px(np.zeros((120, 160, 3), np.uint8)) >= 11


def test_help_panel_is_opaque_and_fits_small_images():
    image = np.full((240, 320, 3), 255, np.uint8)
    sections = [("keys", [("q", "quit")] * 12), ("filters", [("1", "edge"), ("2", "blur")])]
    overlay.draw_help(image, sections)
    dark = (image < 30).all(axis=2)  # the white picture shows through at 8 %: 20 levels
    ys, xs = np.nonzero(dark)
    box = dark[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert box.shape[0] > 120 and box.mean() > 0.6  # one opaque panel, most of it background around the text
    assert ys.min() > 0 and ys.max() < 239  # 16 lines fit inside the image


def test_canvas_letterboxes_into_black_bars_at_the_window_size():
    window = Window.__new__(Window)  # no display needed for the arithmetic
    window._size, window._canvas = (900, 300), None
    frame = np.full((360, 640, 3), 200, np.uint8)
    canvas = window.canvas(frame)
    assert canvas.shape == (300, 900, 3)
    assert (canvas[:, :50] == 0).all() and (canvas[:, -50:] == 0).all()  # 533 px of picture in the middle
    assert (canvas[:, 200:700] == 200).all()


@pytest.fixture
def session():
    return LiveSession(LiveOptions(window=False))


def test_a_failing_hotkey_is_a_red_toast_and_the_session_goes_on(session, tmp_path):
    session.options.output_dir = tmp_path / "missing"
    session._last = np.zeros((8, 8, 3), np.uint8)
    assert session.handle_key(ord("s"), (8, 8), 30.0)
    assert session.handle_key(ord("v"), (8, 8), 30.0)
    [v, s] = session.toasts.active
    assert "could not write snapshot" in s and "the session goes on" in s
    assert v.startswith("no virtual camera")


def test_an_unavailable_face_stage_is_tried_once(session, monkeypatch):
    calls = []

    def offline(lenses):
        calls.append(lenses)
        raise CamfiltersError("the face model is not downloaded yet; connect once")

    monkeypatch.setattr(session, "_enable_face", offline)
    for _ in range(3):
        assert session.handle_key(ord("f"), (8, 8), 30.0)
    assert len(calls) == 1
    assert session.toasts.active == ["no face lenses: the face model is not downloaded yet; connect once"] * 3


class _Lens:
    def __init__(self, name: str, needs_inner: bool) -> None:
        self.name, self.needs_inner = name, needs_inner


class _FaceStage:
    """The part of FaceStage that the f cycle uses."""

    def __init__(self) -> None:
        self.modes = [(), (_Lens("mesh", False),), (_Lens("face-only", True),), (_Lens("bg-only", True),),
                      (_Lens("glasses", False),)]
        self._mode = 0

    @property
    def lenses(self):
        return self.modes[self._mode]

    @property
    def name(self) -> str:
        return "+".join(lens.name for lens in self.lenses) or "none"

    def next_lens(self) -> str:
        self._mode = (self._mode + 1) % len(self.modes)
        return self.name


def test_the_f_cycle_skips_lenses_that_need_a_chain_when_there_is_none(session):
    session.face = _FaceStage()
    names = []
    for _ in range(4):
        session.handle_key(ord("f"), (8, 8), 30.0)
        names.append(session.toasts.active[0])
    assert names == ["lens: mesh", "lens: glasses", "lens: none", "lens: mesh"]
    session.select(1)  # a real filter: now face-only shows something
    session.face._mode = 1
    session.handle_key(ord("f"), (8, 8), 30.0)
    assert session.toasts.active[0] == "lens: face-only"


def test_unknown_names_get_a_suggestion():
    proc = cli_main("run", "--filter", "blurr", "--no-window")
    assert proc.returncode == 2
    assert "unknown filter 'blurr'; did you mean blur?" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_list_describes_filters_in_plain_words():
    proc = cli_main("list")
    assert proc.returncode == 0
    summaries = [line for line in proc.stdout.splitlines() if re.match(r"^  [a-z]", line)]
    assert summaries and not [line for line in summaries if re.search(r"cv2|OpenCV|BORDER_|reflect-101", line)]


@pytest.mark.face
def test_a_lens_run_prints_no_mediapipe_lines(tmp_path):
    pytest.importorskip("mediapipe")
    if not (MODELS / "face_landmarker.task").is_file():
        pytest.skip(f"no MediaPipe models in {MODELS}")
    proc = camfilters("run", "--source", "demo", "--size", "320x240", "--no-window", "--max-frames", "30",
                      "--lens", "face-blur", "--lens", "bg-blur", env=cli_env(CAMFILTERS_MODEL_DIR=str(MODELS)),
                      timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() and all(line.startswith("camfilters: ") for line in proc.stderr.splitlines()), \
        proc.stderr


class _FakeWindow:
    """What `live_start.warm_up` uses of `Window`: shows are kept."""

    closed = False

    def __init__(self) -> None:
        self.shown: list[np.ndarray] = []

    def canvas(self, image: np.ndarray) -> np.ndarray:
        return image.copy()

    def show(self, image: np.ndarray) -> None:
        self.shown.append(image.copy())

    def poll_key(self) -> None:
        return None


@pytest.mark.parametrize("cold", [True, False])
def test_the_window_says_compiling_with_progress_only_on_a_cold_start(session, monkeypatch, caplog, cold):
    import filters
    from camfilters import live, live_start

    warmed = []
    monkeypatch.setattr(filters, "warm_up", lambda targets: warmed.append(list(targets)))
    monkeypatch.setattr(filters, "warm_up_in_background", lambda targets: warmed.append(["background", *targets]))
    cpu = iter(np.arange(0.0, 1e4, 10.0 if cold else 0.01))  # CPU seconds per call: compiling, or loading
    monkeypatch.setattr(live.time, "process_time", lambda: float(next(cpu)))
    session.window = _FakeWindow()
    with caplog.at_level("INFO", logger="camfilters"):
        live_start.warm_up(session, (320, 180))
    first = np.zeros((180, 320, 3), np.uint8)
    overlay.draw_message(first, "loading filters…")
    np.testing.assert_array_equal(session.window.shown[0], first)  # never a black window without a word
    others = [n for n in filters.available() if n != "identity"]
    if not cold:
        assert len(session.window.shown) == 1 and warmed[-1] == ["background", *others]
        assert "compiling" not in caplog.text
        return
    assert len(session.window.shown) == 1 + len(others)
    last = np.zeros((180, 320, 3), np.uint8)
    overlay.draw_message(last, f"compiling filters (first start only)… {len(others)}/{len(others)}", 1.0)
    np.testing.assert_array_equal(session.window.shown[-1], last)
    assert caplog.text.count("compiling filters (first start only)…") == 1


def test_ctrl_c_while_compiling_stops_after_the_filter_in_hand(session, monkeypatch):
    """A first start compiles for about a minute: Ctrl-C is held (see `signals.deferred_interrupts`) but not for all of it."""
    import filters
    from camfilters import live, live_start

    warmed = []

    def warm_up(targets):
        warmed.append(list(targets))
        if len(warmed) == 3:  # Ctrl-C while the second of the other filters compiles
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(filters, "warm_up", warm_up)
    cpu = iter(np.arange(0.0, 1e4, 10.0))  # 10 CPU seconds per call: compiling
    monkeypatch.setattr(live.time, "process_time", lambda: float(next(cpu)))
    session.window = _FakeWindow()
    with pytest.raises(KeyboardInterrupt):
        live_start.warm_up(session, (320, 180))
    assert len(warmed) == 3  # the chain, then two others; not the remaining ones
