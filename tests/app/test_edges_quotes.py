"""Bad input is quoted in at most 80 characters (plus "..."), however long it is: the line stays readable."""

from __future__ import annotations

import json

import pytest

from cli_helpers import assert_one_line_error, camfilters

LONG = "x" * 5000


@pytest.mark.parametrize("args", [
    ["run", "--filter", LONG],
    ["run", "--filter", "blur:ksize=" + LONG],
    ["run", "--filter", "blur:" + LONG],
    ["run", "--filter", "blur:ksize=3,ksize=" + LONG],
    ["run", "--filter", "edge:" + LONG + "=1"],
    ["run", "--filter", "kernel:k=" + "1 " * 3000 + "; 1"],
    ["run", "--lens", LONG],
    ["run", "--lens", "bg-replace:color=" + LONG],
    ["run", "--size", LONG],
    ["run", "--preset", LONG],
    ["run", "--max-frames", LONG],
    ["explain", "--kernel", LONG],
], ids=["filter", "option-value", "option-part", "twice", "option-name", "matrix", "lens", "colour", "size",
        "preset", "number", "explain"])
def test_long_bad_input_is_quoted_short(tmp_path, args):
    proc = camfilters(*args, *(["--no-window"] if args[0] == "run" else []), cwd=tmp_path)
    assert_one_line_error(proc)
    assert len(proc.stderr) < 400, proc.stderr[:400]


def test_long_values_in_lens_json_are_quoted_short(tmp_path):
    from camfilters.errors import ParameterError
    from camfilters.face.packs import load_pack

    (tmp_path / "lens.json").write_text(json.dumps({"layers": [{"image": "a.png", "anchor": "x" * 5000, "scale": list(range(9000))}]}))
    with pytest.raises(ParameterError) as info:
        load_pack(tmp_path)
    assert len(str(info.value)) < 300, str(info.value)[:300]
