"""Worker threads never die silently: an error on the thread reaches whoever waits on it, promptly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from camfilters.errors import RecordingError
from camfilters.media.avsync import AudioTrack
from camfilters.recording import Recorder
from camfilters.threads import Worker

from media import frame_image

SIZE = (160, 120)
PROMPT_S = 20.0  # far more than the work takes; a hang is what fails


def _within(seconds: float, work) -> BaseException | None:
    """Run ``work`` on a daemon thread; the exception it raised (None if none), failing if it runs past ``seconds``."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still waiting after {seconds:g} s: deadlocked"
    return outcome[0]


def test_a_worker_publishes_what_its_body_raises_and_wakes_the_waiter():
    """A waiter on a condition the body never makes true wakes on the error and raises it."""
    started = threading.Event()

    def body() -> None:
        started.wait()
        raise ValueError("boom")

    worker = Worker("test", body).start()
    started.set()
    assert not worker.wait_for(lambda: False, timeout=PROMPT_S)
    assert worker.finished
    with pytest.raises(ValueError, match="boom"):
        worker.raise_error()


def test_the_first_error_published_wins():
    worker = Worker("test", lambda: (_ for _ in ()).throw(OSError("second")))
    worker.publish(RecordingError("first"))
    worker.start().join(PROMPT_S)
    with pytest.raises(RecordingError, match="first"):
        worker.raise_error()


def _broken(monkeypatch, method: str) -> None:
    def fail(self, *args) -> None:
        raise RuntimeError(f"{method} failed")

    monkeypatch.setattr(AudioTrack, method, fail)


def _recorder(tmp_path) -> Recorder:
    # Two frame buffers: the third write waits for the writer thread to hand one back.
    return Recorder(tmp_path / "rec.mp4", SIZE, fps=30, audio=(48000, 1), max_buffer_bytes=2 * SIZE[0] * SIZE[1] * 3)


@pytest.mark.parametrize("method", ["add", "begin"])
def test_an_audio_error_on_the_writer_thread_is_raised_by_write(tmp_path, monkeypatch, method):
    """`AudioTrack.add` / `begin` raising on the writer thread: `write` raises it, never waits forever."""
    _broken(monkeypatch, method)
    rec = _recorder(tmp_path)

    def feed() -> None:
        for i in range(200):
            rec.write_audio(np.zeros((960, 1), np.float32), i / 30)
            rec.write(frame_image(i, SIZE), i / 30)

    try:
        error = _within(PROMPT_S, feed)
        assert isinstance(error, RecordingError), error
        assert f"{method} failed" in str(error)
        assert _within(PROMPT_S, rec.close) is None  # write() reported it already
    finally:
        _within(PROMPT_S, rec.close)


def test_an_audio_error_on_the_writer_thread_is_raised_by_close(tmp_path, monkeypatch):
    """The same error with no further write: `close` raises it (once), promptly."""
    _broken(monkeypatch, "add")
    rec = _recorder(tmp_path)
    rec.write_audio(np.zeros((960, 1), np.float32), 0.0)
    try:
        rec.write(frame_image(0, SIZE), 0.0)
    except RecordingError as exc:  # the writer thread failed before this write: the write raises it, not close
        error = exc
        assert _within(PROMPT_S, rec.close) is None
    else:
        error = _within(PROMPT_S, rec.close)
    assert isinstance(error, RecordingError) and "add failed" in str(error), error
    assert rec.failed
    assert _within(PROMPT_S, rec.close) is None
