"""``pack:path=`` naming the ``lens.json`` itself, and a ``lens.json`` nested too deeply: one line, not a traceback."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from camfilters.errors import ParameterError
from camfilters.face.lenses import parse_lens
from camfilters.face.packs import load_pack


def write_pack(folder, text=None):
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((40, 60, 4), 200, np.uint8))
    layers = [{"image": "a.png", "anchor": [1]}]
    (folder / "lens.json").write_text(text or json.dumps({"name": "mine", "layers": layers}))
    return folder


def test_path_may_name_the_lens_json_itself(tmp_path):
    folder = write_pack(tmp_path / "p")
    assert parse_lens(f"pack:path={folder / 'lens.json'}").pack_name == "mine"


def test_path_naming_another_file_says_to_give_the_folder(tmp_path):
    folder = write_pack(tmp_path / "p")
    with pytest.raises(ParameterError, match=r"a\.png is a file, not a folder; give the folder holding lens\.json"):
        load_pack(folder / "a.png")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_deeply_nested_lens_json_is_one_line(tmp_path, text):
    folder = write_pack(tmp_path / "p", text)
    with pytest.raises(ParameterError, match=r"lens\.json: nested too deeply") as info:
        load_pack(folder)
    assert "\n" not in str(info.value)


def test_huge_lens_json_is_not_read_to_its_end(tmp_path):
    folder = write_pack(tmp_path / "p")
    with (folder / "lens.json").open("wb") as f:
        f.truncate(2**30)  # sparse: 1 GB of zeros
    with pytest.raises(ParameterError, match=r"lens\.json: over 1 MB, too big to be a lens\.json"):
        load_pack(folder)
