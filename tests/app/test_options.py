"""RenderOptions and LiveOptions from the real command-line parser, and the one processor both commands build."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from camfilters.cli import build_parser
from camfilters.errors import ParameterError
from camfilters.options import LiveOptions, RenderOptions
from camfilters.pipeline import Pipeline
from camfilters.processor import build_processor


def _render(*argv: str) -> RenderOptions:
    return RenderOptions.from_args(build_parser().parse_args(["render", "in.mp4", "-o", "out.mp4", *argv]))


def test_render_options_carry_every_render_flag_and_pickle_for_the_workers():
    options = _render("-f", "edge", "-f", "blur:ksize=5", "-y", "--crf", "30", "--speed", "fast", "--start", "1:02",
                      "--end", "70", "--ext", "gif", "--fps", "10", "--size", "200")
    assert options.filters == ("edge", "blur:ksize=5") and options.lenses == ()
    assert (options.overwrite, options.crf, options.speed, options.start, options.end) == (True, 30, "fast", 62.0, 70.0)
    assert (options.gif.width, options.gif.height, options.gif.fps) == (200, None, 10.0)
    assert pickle.loads(pickle.dumps(options)) == options


def test_faces_csv_goes_to_the_path_given_or_beside_each_output():
    assert _render("--lens", "face-blur").faces_csv_for(Path("o/a.mp4")) is None
    assert _render("--lens", "face-blur", "--faces-csv", "f.csv").faces_csv_for(Path("o/a.mp4")) == Path("f.csv")
    beside = _render("--lens", "face-blur", "--faces-csv")
    assert beside.faces_csv is None and beside.faces_csv_for(Path("o/a.mp4")) == Path("o/a.mp4.faces.csv")


@pytest.mark.parametrize(("argv", "message"), [
    (("--face-model", "m.task"), r"--face-model needs a --lens"),
    (("--faces-csv",), r"--faces-csv needs a --lens"),
    (("-f", "edge:ksize=4"), r"ksize"),
    (("--start", "5", "--end", "2"), r"--end \(2 s\) must be after --start \(5 s\)"),
])
def test_check_refuses_what_would_fail_every_file(argv, message):
    with pytest.raises(ParameterError, match=message):
        _render(*argv).check()


def test_live_options_from_a_run_command_line():
    args = build_parser().parse_args(["run", "--filter", "edge", "--privacy-delay", "250", "--gif-fps", "12",
                                      "--face-model", "m.task", "--no-window"])
    options = LiveOptions.from_args(args)
    assert (options.filters, options.privacy_delay, options.window, options.face_model) == (["edge"], 0.25, False,
                                                                                            "m.task")
    assert options.gif.fps == 12.0 and options.gif.width is None


def test_without_lenses_live_and_render_build_the_same_chain():
    """Both commands' processors of a one-filter chain give OpenCV's correlation with the same kernel, exactly."""
    frame = np.random.default_rng(1).integers(0, 256, (24, 32, 3), np.uint8)
    shift = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]], np.float32)
    expected = cv2.filter2D(frame, -1, shift, borderType=cv2.BORDER_REFLECT_101)
    for mode in ("live", "render"):
        processor = build_processor(["kernel:k=0 0 0; 0 0 1; 0 0 0"], [], mode)
        assert isinstance(processor, Pipeline)
        np.testing.assert_array_equal(processor.process(frame, 0.0), expected)
    chain = Pipeline()
    assert build_processor(chain, [], "live") is chain  # live passes the chain the number keys change


def test_an_unknown_mode_is_refused():
    with pytest.raises(ParameterError, match=r"mode must be one of live, render, got 'batch'"):
        build_processor([], [], "batch")
