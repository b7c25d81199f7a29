"""The window's hotkeys: each entry names its keys, its help line and the `controller.Controller` action."""

from __future__ import annotations

from dataclasses import dataclass

#: How long (s) each key's message stays at the top of the window, unless ``--toast-seconds`` says otherwise.
TOAST_SECONDS = 2.0


@dataclass(frozen=True)
class Hotkey:
    """``label`` as the help shows it; ``chars`` the characters that act (``F`` is Shift+f); ``action`` the
    `Controller` method called with the character."""

    label: str
    help: str
    chars: str
    action: str


TABLE: tuple[Hotkey, ...] = (
    Hotkey("1-9", "pick a filter (1: the command line's chain)", "123456789", "pick"),
    Hotkey("n / p", "next / previous filter", "np", "step_filter"),
    Hotkey("g", "effects grid (arrows: pages; click or 1-9: pick)", "g",
           "toggle_grid"),
    Hotkey("f", "next face lens alone", "f", "next_lens"),
    Hotkey("F", "add the next face lens to the ones on", "F", "add_lens"),
    Hotkey("[ / ]", "weaker / stronger (or the scroll wheel)", "[]", "tune"),
    Hotkey("space", "pause / resume", " ", "pause"),
    Hotkey("m", "mirror on / off", "m", "mirror"),
    Hotkey("r", "start / stop recording", "r", "record"),
    Hotkey("s", "snapshot (PNG)", "s", "snapshot"),
    Hotkey("v", "pause / resume the virtual camera", "v", "vcam"),
    Hotkey("a", "sound denoising on / off", "a", "audio_denoise"),
    Hotkey("w", "save these settings as a preset", "w", "save_preset"),
    Hotkey("i", "status bar (click its filter or lens: grid)", "i", "status_bar"),
    Hotkey("h", "this help", "h", "help"),
    Hotkey("q, Esc", "quit (Esc in the grid: close it)", "q\x1b", "quit"),
)

#: (keys, what they do) for ``--help`` and the help panel.
HOTKEYS: tuple[tuple[str, str], ...] = tuple((k.label, k.help) for k in TABLE)
