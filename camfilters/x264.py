"""libx264 settings shared by recordings, renders and the command line's help.

Standard library only, so the CLI can show the defaults before anything heavy is imported.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CRF", "DEFAULT_PRESET", "PRESETS"]

#: Constant rate factor: 0 lossless, 51 worst; each +6 roughly halves the file.
DEFAULT_CRF = 23
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
# Speed preset. CPU per 1280x720 frame measured on a busy 2-core machine: ultrafast 6-9 ms,
# superfast 7-13 ms, veryfast 10-17 ms (1080p: 13-17, 23-31, 30-39 ms); veryfast files were ~3x smaller.
DEFAULT_PRESET = "superfast"
