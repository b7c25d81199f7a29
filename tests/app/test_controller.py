"""The controller, grid layout and tuning as pure functions: no window, no camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import filters
from camfilters import controller, display, grid, hotkeys, overlay, tuning
from camfilters.controller import Controller, preset_name
from camfilters.grid import Effect, Grid, build_pages, pane_at, pane_rects
from camfilters.live import LiveOptions, LiveSession, Palette


@pytest.mark.parametrize("module", [controller, display, grid, tuning])
def test_doctests(module):
    import doctest

    assert doctest.testmod(module).failed == 0


def test_every_hotkey_names_an_action_of_the_controller_and_no_key_is_taken_twice():
    chars = [c for k in hotkeys.TABLE for c in k.chars]
    assert len(chars) == len(set(chars))
    for k in hotkeys.TABLE:
        assert k.action == "quit" or callable(getattr(Controller, k.action)), k


@pytest.mark.parametrize("chain", [[], ["edge"], ["identity"], ["blur:ksize=9", "edge"]])
def test_keys_1_to_9_never_offer_the_same_filter_twice(chain):
    specs = [" > ".join(s) for s in Palette(chain).specs()]
    assert len(specs) == len(set(specs))
    assert len(specs[:9]) == 9


def test_the_panes_tile_the_picture_exactly():
    """Every pixel of a 1280x720 picture is in exactly one pane, and pane_at agrees with the rectangles."""
    covered = np.zeros((720, 1280), np.int32)
    for i, (x, y, w, h) in enumerate(pane_rects(1280, 720)):
        covered[y:y + h, x:x + w] += 1
        assert pane_at(x, y, (0, 0, 1280, 720)) == i
        assert pane_at(x + w - 1 + 100, y + h - 1 + 50, (100, 50, 1280, 720)) == i
    assert (covered == 1).all()
    assert pane_at(99, 60, (100, 50, 1280, 720)) is None


def test_each_kind_starts_a_page_and_pages_wrap():
    effects = [Effect("filter", f"f{i}") for i in range(10)] + [Effect("lens", "mesh")] + [Effect("preset", "a")]
    pages = build_pages(effects)
    assert [[e.name for e in p] for p in pages][1:] == [["f9"], ["mesh"], ["a"]]
    g = Grid(effects)
    g.open("lens")
    assert g.title() == "face lenses" and g.is_open
    g.turn(2)
    assert g.page == 0 and g.title() == "filters and looks 1/2"
    assert g.pick(9) is None and g.is_open  # no tenth pane
    assert g.pick(1).name == "f1" and not g.is_open


def test_the_grid_renders_nine_different_panes_at_pane_size():
    names = ["identity", "edge", "cartoon", "sketch", "blur", "sharpen", "emboss", "vintage", "noir"]
    g = Grid([Effect("filter", n, (n,)) for n in names])
    rng = np.random.default_rng(1)
    frame = np.ascontiguousarray(np.repeat(np.repeat(rng.integers(0, 255, (36, 64, 3), np.uint8), 5, 0), 5, 1))
    out = g.render(frame, 0.0)
    assert out.shape == (180, 318, 3)
    panes = [out[y:y + h, x:x + w] for x, y, w, h in pane_rects(318, 180)]
    for i in range(9):
        for j in range(i):
            assert np.abs(panes[i].astype(int) - panes[j]).mean() > 1.0, (names[i], names[j])


def test_tuning_steps_the_main_option_and_stops_at_its_limits():
    assert tuning.main_option(filters.get("edge")).name == "ksize"
    assert tuning.stepped(filters.get("identity"), 1) is None
    blur = tuning.stepped(filters.get("blur"), -1)
    assert blur.ksize == 17 and blur.spec == "blur:ksize=17"
    assert tuning.stepped(filters.get("sepia"), 1) is None  # strength 1.0 is its maximum


def test_a_preset_is_named_after_what_it_holds_and_never_replaces_another():
    assert preset_name([], [], set()) == "plain"
    assert preset_name(["cartoon", "blur:ksize=9"], ["glasses"], set()) == "cartoon+blur+glasses"
    assert preset_name(["cartoon"], ["glasses"], {"cartoon+glasses", "cartoon+glasses-2"}) == "cartoon+glasses-3"


def test_a_long_message_wraps_onto_three_lines_keeping_its_end():
    text = ("no face lenses: face landmarker model not found; pass --face-model PATH, set CAMFILTERS_MODEL_DIR "
            "to a folder holding face_landmarker.task, or connect to the internet once to download it")
    lines = overlay.wrap_text(text, 20, 500)
    assert 2 <= len(lines) <= 3 and all(overlay.text_size(line, 20)[0] <= 500 for line in lines)
    assert lines[0].startswith("no face lenses") and "…" not in lines[0]
    assert len(overlay.wrap_text("short", 20, 500)) == 1


def test_errors_stay_five_seconds():
    now = [0.0]
    toasts = overlay.Toasts(2.0, clock=lambda: now[0])
    toasts.add("fine")
    toasts.add("broken", error=True)
    now[0] = 4.0
    assert toasts.active == ["broken"]


@pytest.mark.parametrize("size", [(1500, 950), (640, 360), (320, 180), (1920, 400)])
def test_the_help_panel_stays_clear_of_the_status_bar(size):
    session = LiveSession(LiveOptions(window=False))
    image = np.full((size[1], size[0], 3), 255, np.uint8)
    bar = overlay.status_height(image)
    overlay.draw_help(image, session.controller.help_sections(), bottom=bar)
    assert (image[-bar:] == 255).all()
    assert (image[:-bar] != 255).any()


def test_the_help_lists_what_f_and_F_go_through():
    pytest.importorskip("mediapipe")
    session = LiveSession(LiveOptions(window=False))
    rows = dict(session.controller.help_sections())["lenses"]
    cycle = session.controller.lens_cycle()
    assert "face-only" not in cycle  # without a filter it would show nothing
    listed: dict[str, list[str]] = {}
    for key, names in rows:
        key = key or list(listed)[-1]
        listed.setdefault(key, []).extend(names.split(", "))
    # F goes through the same lenses but "none" (one row, so the panel fits a 640x360 window)
    assert listed == {"f": [*cycle, "none"], "F": ["adds the next of these (not none) to those on"]}


def test_brackets_tune_the_filter_and_w_saves_the_value(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMFILTERS_CONFIG", str(tmp_path / "config.toml"))
    session = LiveSession(LiveOptions(window=False, filters=["blur"]))
    assert session.handle_key(ord("]"), (64, 48), 30.0)
    assert session.toasts.active[0] == "blur ksize 25"
    assert session.handle_key(ord("w"), (64, 48), 30.0)
    assert session.handle_key(ord("w"), (64, 48), 30.0)
    from camfilters.presets import list_presets

    assert {n: p["filters"] for n, p in list_presets().items()} == {"blur": ["blur:ksize=25"],
                                                                    "blur-2": ["blur:ksize=25"]}


def test_hotkey_files_default_to_the_platform_folders(tmp_path, monkeypatch):
    import platformdirs

    from camfilters import live

    assert live.default_folder("videos") == Path(platformdirs.user_videos_dir()) / "camfilters"
    assert live.default_folder("pictures") == Path(platformdirs.user_pictures_dir()) / "camfilters"
    monkeypatch.setattr(live, "default_folder", lambda kind: tmp_path / kind / "camfilters")
    session = LiveSession(LiveOptions(window=False))
    session._last = np.zeros((8, 8, 3), np.uint8)
    assert session.handle_key(ord("s"), (8, 8), 30.0)
    [shot] = (tmp_path / "pictures" / "camfilters").glob("camfilters-*.png")
    assert session.stats.snapshots == [shot]
    state = dict(dict(session.controller.help_sections())["now"])
    assert state["snapshots"] == str(tmp_path / "pictures" / "camfilters")  # in full
    session.options.output_dir = tmp_path / "mine"
    assert session.folder("videos") == session.folder("pictures") == tmp_path / "mine"


def test_every_subcommand_help_has_a_description_line():
    from camfilters.cli import build_parser

    parser = build_parser()
    [sub] = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    for name, command in sub.choices.items():
        assert command.description, name
