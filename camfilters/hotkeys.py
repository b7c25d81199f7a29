"""The window's hotkeys, for the help overlay and ``--help`` (the actions live in live.py)."""

#: How long (s) each key's message stays at the top of the window, unless ``--toast-seconds`` says otherwise.
TOAST_SECONDS = 2.0

HOTKEYS: tuple[tuple[str, str], ...] = (
    ("1-9", "pick a filter (1 = the chain from the command line)"),
    ("n / p", "next / previous filter"),
    ("f", "next face lens"),
    ("space", "pause / resume"),
    ("m", "mirror on / off"),
    ("r", "start / stop recording"),
    ("s", "snapshot (PNG)"),
    ("v", "pause / resume the virtual camera"),
    ("w", "write these settings as a preset (see camfilters presets)"),
    ("i", "status bar on / off"),
    ("h", "this help"),
    ("q, Esc", "quit"),
)

