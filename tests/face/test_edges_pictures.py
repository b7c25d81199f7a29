"""Picture files of lens packs and bg-replace: any file name, bounded size, one line when refused.

OpenCV's Python binding crashes the process (SIGSEGV) on a file name that is not UTF-8, so those
cases run in a child process; the size limits are checked on the header, before decoding.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from camfilters.errors import ParameterError
from camfilters.face.lenses import parse_lens
from camfilters.face.packs import load_pack
from camfilters.images import MAX_FILE_BYTES, MAX_SIDE, MAX_STICKER_SIDE

BAD = os.fsdecode(b"bad\xff")  # a name with a byte that is not UTF-8


def write_pack(folder: Path, png_name: str = "a.png", png: np.ndarray | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if png is not None:
        ok, data = cv2.imencode(".png", png)
        assert ok
        (folder / png_name).write_bytes(data.tobytes())
    (folder / "lens.json").write_text(json.dumps({"name": "p", "layers": [{"image": png_name, "anchor": [1]}]}))
    return folder


def blank_png(width: int, height: int) -> bytes:
    """A valid 1-bit grey PNG of ``width`` x ``height`` (small on disk, big once decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + bytes((width + 7) // 8)
    body = zlib.compressobj(9)
    idat = b"".join(body.compress(row) for _ in range(height)) + body.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def in_child(spec: str) -> subprocess.CompletedProcess:
    """``parse_lens(spec)`` in a child process (a crash there is a return code, not a dead test run)."""
    code = ("import sys\nfrom camfilters.face.lenses import parse_lens\nimport camfilters.face\n"
            "print(repr(parse_lens(sys.argv[1])))")
    return subprocess.run([sys.executable, "-c", code, spec], capture_output=True, text=True, timeout=120)


def test_pack_in_a_folder_whose_name_is_not_utf8(tmp_path):
    folder = write_pack(tmp_path / BAD, png=np.full((40, 60, 4), 200, np.uint8))
    proc = in_child(f"pack:path={folder}")
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "PackLens" in proc.stdout


def test_pack_layer_whose_name_is_not_utf8(tmp_path):
    write_pack(tmp_path / "p", png_name=BAD + ".png", png=np.full((40, 60, 4), 200, np.uint8))
    pack = load_pack(tmp_path / "p")
    assert pack.layers[0].levels[0].shape == (40, 60, 4)


def test_bg_replace_picture_whose_name_is_not_utf8(tmp_path):
    path = tmp_path / (BAD + ".png")
    ok, data = cv2.imencode(".png", np.full((30, 50, 3), 77, np.uint8))
    path.write_bytes(data.tobytes())
    proc = in_child(f"bg-replace:image={path}")
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    lens = parse_lens(f"bg-replace:image={path}")
    assert lens.background((10, 20, 3)).tolist() == np.full((10, 20, 3), 77, np.uint8).tolist()


def test_oversized_sticker_is_refused_before_decoding(tmp_path):
    """A sticker over the limit is refused from its header, naming its size and the limit."""
    side = MAX_STICKER_SIDE + 1
    folder = write_pack(tmp_path / "p")
    (folder / "a.png").write_bytes(blank_png(side, 64))
    with pytest.raises(ParameterError, match=rf"layers\[0\]\.image: '.*/a\.png' is {side}x64 pixels; .* at most "
                                             rf"{MAX_STICKER_SIDE}x{MAX_STICKER_SIDE}") as info:
        load_pack(folder)
    assert "\n" not in str(info.value)


def test_oversized_background_is_refused_before_decoding(tmp_path):
    side = MAX_SIDE + 1
    path = tmp_path / "huge.png"
    path.write_bytes(blank_png(64, side))
    with pytest.raises(ParameterError, match=rf"lens bg-replace: option image: '.*/huge\.png' is 64x{side} pixels; "
                                             rf".*at most {MAX_SIDE}x{MAX_SIDE}"):
        parse_lens(f"bg-replace:image={path}")


def test_huge_picture_file_is_refused_without_reading_it(tmp_path):
    """A file over the byte limit (sparse here) is refused from its size."""
    path = tmp_path / "big.png"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ParameterError, match=r"big\.png' is 257 MB; picture files are at most 256 MB"):
        parse_lens(f"bg-replace:image={path}")


def test_background_from_dev_zero_is_refused(tmp_path):
    """A device that never ends is not read to its end."""
    with pytest.raises(ParameterError, match=r"lens bg-replace: option image must be a readable picture file, got '/dev/zero'"):
        parse_lens("bg-replace:image=/dev/zero")


def test_pictures_within_the_limits_still_load(tmp_path):
    folder = write_pack(tmp_path / "p")
    (folder / "a.png").write_bytes(blank_png(MAX_STICKER_SIDE, 8))
    assert load_pack(folder).layers[0].levels[0].shape == (8, MAX_STICKER_SIDE, 4)
