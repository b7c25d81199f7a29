"""A filter that fails on every frame, so already in the warm-up before the first one: one line, exit 1."""

from __future__ import annotations

import textwrap

import pytest
from test_cli import with_path

from camfilters.errors import ExitCode

from cli_helpers import assert_one_line_error, camfilters, cli_env
from helpers import plugin_site

pytestmark = pytest.mark.timeout(240)


def test_filter_failing_in_the_warm_up_is_one_line(tmp_path):
    site = plugin_site(tmp_path, "broken-plugin", "[camfilters.filters]\nbroken = broken_plugin\n", {"broken_plugin": textwrap.dedent('''
        from filters import Filter, register_filter

        @register_filter("broken")
        class Broken(Filter):
            """Fails on every frame."""

            def _apply(self, src, out):
                raise ZeroDivisionError("always broken")
        ''')})
    out = tmp_path / "rec.mp4"
    proc = camfilters("run", "--source", "demo", "--size", "160x120", "--filter", "broken", "--record", str(out),
                      "--no-window", "--max-frames", "5", env=cli_env(PYTHONPATH=with_path(site)))
    assert proc.returncode == ExitCode.ERROR, proc.stderr
    assert_one_line_error(proc, "error: stage 'broken' failed: ZeroDivisionError: always broken")
    assert not out.exists()
