"""The signal policy (`camfilters.signals`): held interrupts, joins that finish, and a run that can be stopped
however it was started."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

import pytest

from cli_helpers import cli_env
from helpers import wait_for_text
from media import make_video, probe, top_level_atoms

pytestmark = [pytest.mark.timeout(240), pytest.mark.serial]


@pytest.fixture(autouse=True)
def restore_handlers():
    """Every test starts with Python's own SIGINT handler, whatever pytest inherited (a script's background
    job ignores SIGINT), and gets back the stop signals' handlers afterwards: a SIGINT a test raises must
    never reach the handler of a later test."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_an_interrupt_is_held_until_the_block_ends_then_raised_once(restore_handlers):
    """Two Ctrl-C inside the block: the block runs to its end, then one KeyboardInterrupt."""
    from camfilters.signals import deferred_interrupts

    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts() as caught:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            assert caught == [signal.SIGINT, signal.SIGINT]  # long work can look and stop early
            done.append(True)
    assert done
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_are_held_too_and_named_as_they_arrive(restore_handlers, caplog, sig):
    from camfilters.signals import deferred_interrupts, interrupt_on_sigterm

    with interrupt_on_sigterm(), caplog.at_level(logging.WARNING, logger="camfilters.signals"):
        with pytest.raises(KeyboardInterrupt, match=f"signal {sig.name}"):
            with deferred_interrupts():
                signal.raise_signal(sig)
                assert caplog.text.count("finishing the files and stopping") == 1  # said now, not after
    assert caplog.text.count(f"({sig.name}): finishing the files and stopping") == 1


def test_an_ignored_signal_stays_ignored(restore_handlers):
    from camfilters.signals import deferred_interrupts

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with deferred_interrupts() as caught:
        signal.raise_signal(signal.SIGINT)
    assert caught == [] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_block_that_raises_is_not_interrupted_on_top(restore_handlers):
    from camfilters.signals import deferred_interrupts

    with pytest.raises(ValueError, match="the block's own"):
        with deferred_interrupts():
            signal.raise_signal(signal.SIGINT)
            raise ValueError("the block's own error")


def test_allow_interrupt_undoes_an_inherited_ignored_sigint(restore_handlers):
    from camfilters.signals import allow_interrupt

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    allow_interrupt()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_join_holding_lets_the_thread_finish_through_ctrl_c(restore_handlers):
    """Ctrl-C while joining a thread that finalises a file: it finishes, then the interrupt is raised."""
    from camfilters.signals import join_holding

    finished, joining = threading.Event(), threading.Event()

    def finalise() -> None:
        # Not before the main thread is past thread.start() (which waits for this thread to begin: a SIGINT
        # there would stop pytest itself, seen under stress-ng) and, 0.2 s later, inside join_holding.
        joining.wait()
        time.sleep(0.2)
        signal.raise_signal(signal.SIGINT)  # delivered to the main thread, which is joining
        time.sleep(0.3)
        finished.set()

    thread = threading.Thread(target=finalise)
    notes = []
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        joining.set()
        join_holding([thread], note=lambda: notes.append(True))
    assert finished.is_set() and notes == [True]


class _Part:
    def __init__(self, name: str, closed: list[str], *, fails: bool = False, interrupt: bool = False) -> None:
        self.name, self.closed, self.fails, self.interrupt = name, closed, fails, interrupt

    def close(self) -> None:
        if self.interrupt:
            signal.raise_signal(signal.SIGINT)  # a second Ctrl-C while closing
        self.closed.append(self.name)
        if self.fails:
            raise OSError(f"{self.name} failed to close")


@pytest.fixture
def session():
    from camfilters.live import LiveOptions, LiveSession

    return LiveSession(LiveOptions(window=False))


def test_live_close_closes_every_part_in_order_even_after_a_failure(session):
    closed: list[str] = []
    session.audio = _Part("audio", closed)
    session.audio.detach = lambda: None
    session.vcam = _Part("vcam", closed, fails=True)
    session.face = _Part("face", closed)
    session.window = _Part("window", closed)
    with pytest.raises(OSError, match="vcam failed to close"):
        session.close()
    assert closed == ["audio", "vcam", "face", "window"]


def test_live_close_holds_a_second_ctrl_c_until_everything_is_closed(session, restore_handlers):
    closed: list[str] = []
    session.audio = _Part("audio", closed, interrupt=True)
    session.window = _Part("window", closed)
    with pytest.raises(KeyboardInterrupt):
        session.close()
    assert closed == ["audio", "window"]


def test_a_run_started_with_sigint_ignored_stops_on_sigint(tmp_path):
    """A script's background job inherits an ignored SIGINT: the app still stops on it, with a finished file.

    Exit 130, a regular (fast-start, not fragmented) MP4 holding every frame recorded.
    """
    clip = make_video(tmp_path / "clip.mp4", 48, size=(160, 120), fps=24)
    out, log_path = tmp_path / "out.mp4", tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "camfilters", "run", "--source", str(clip), "--loop", "--record", str(out),
               "--no-window", "-v"]
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command], stderr=log_file,
                                env=cli_env())
    try:
        wait_for_text(log_path, "status: ", timeout=120, count=2)  # recording, and two status lines later
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    finally:
        proc.kill()
        proc.wait()
    err = log_path.read_text()
    assert code == 130, err
    assert "Traceback" not in err
    info = probe(out)
    assert info.frames > 10 and f"({info.frames} frames)" in err
    assert "moof" not in top_level_atoms(out)


CHILD = """
import os, signal, sys, time
from camfilters.signals import ChildSignals
policy = ChildSignals(7, 0.5, lambda: print("abandoned", flush=True))
policy.install(os.getppid())
assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
policy.busy = True
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
except KeyboardInterrupt as exc:
    print("interrupted", exc, flush=True)
os.kill(os.getpid(), signal.SIGTERM)  # a second death signal while the task cleans up: dropped
print("stopping", policy.stopping, flush=True)
policy.busy = False
os.kill(os.getpid(), signal.SIGTERM)  # idle: ends the process with the exit code
time.sleep(5)
print("not reached", flush=True)
"""


@pytest.mark.slow
def test_a_child_interrupts_its_task_once_on_sigterm_and_ends_when_idle(tmp_path):
    """`ChildSignals`: SIGTERM raises KeyboardInterrupt once in a busy worker, and ends an idle one with the exit
    code given."""
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, env=cli_env())
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout.splitlines() == ["interrupted SIGTERM", "stopping True"]


@pytest.mark.slow
def test_a_child_whose_parent_dies_mid_task_abandons_it_after_the_grace_time(tmp_path):
    """The parent killed (SIGKILL) while the child's task ignores the interrupt: the child removes the task's
    files (abandon) after grace_s and exits with the exit code, whether by the death signal or the watcher."""
    script = """
import os, subprocess, sys
child = '''
import os, sys, time
from pathlib import Path
from camfilters.signals import ChildSignals
policy = ChildSignals(7, 0.5, lambda: Path(sys.argv[1]).write_text("abandoned"))
policy.install(os.getppid())
policy.busy = True
try:  # SIGTERM raises KeyboardInterrupt once; the task goes on as if it had been lost
    print("ready", flush=True)
    time.sleep(30)
except KeyboardInterrupt:
    time.sleep(30)
'''
child = subprocess.Popen([sys.executable, "-c", child, sys.argv[1]], stdout=subprocess.PIPE)
child.stdout.readline()  # installed, with this process as its parent
os.kill(os.getpid(), 9)
"""
    mark = tmp_path / "abandoned.txt"
    subprocess.run([sys.executable, "-c", script, str(mark)], timeout=60, env=cli_env())
    wait_for_text(mark, "abandoned", timeout=30)
