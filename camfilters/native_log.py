"""Native libraries' log lines kept off the terminal: MediaPipe, TFLite and absl write to file descriptor 2
directly, past Python's logging and GLOG_minloglevel, also from their own threads.

The CLI runs every command inside `quiet_native_stderr`, so run, render and batch (whose local workers
inherit the descriptor) print only camfilters' own lines and the progress bar.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading

#: What MediaPipe / TFLite / absl print (glog's "W0000 00:00:..." lines, TFLite's "INFO: Created ...
#: delegate", "WARNING: [model_load.cc:402] ..." and "ERROR: The model is not a valid Flatbuffer
#: buffer"), and ALSA ("ALSA lib pcm.c:...") and PortAudio ("Expression '...' failed in
#: 'src/hostapi/alsa/...'") when the sound server is gone: noise for a user of the app.
_NATIVE_NOISE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]|(INFO|WARNING|ERROR): |ALSA lib "
                           r"|Expression '.*' failed in 'src/)")


@contextlib.contextmanager
def quiet_native_stderr():
    """Keep native log lines (`_NATIVE_NOISE`) off the terminal while the block runs.

    Fd 2 goes into a pipe whose other lines a thread passes on to the terminal; Python's own
    stderr (``sys.stderr`` and the log handlers on it) writes to the terminal directly
    meanwhile. Everything is passed on before the block ends.
    """
    sys.stderr.flush()
    terminal = os.dup(2)
    direct = open(terminal, "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
                  errors="backslashreplace", closefd=False)
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.StreamHandler) and h.stream is sys.stderr]
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=_pass_on, args=(read_end, terminal), name="camfilters stderr", daemon=True)
    thread.start()
    previous, sys.stderr = sys.stderr, direct
    for handler in handlers:
        handler.setStream(direct)
    try:
        yield
    finally:
        for handler in handlers:
            handler.setStream(previous)
        sys.stderr = previous
        direct.flush()
        os.dup2(terminal, 2)  # the pipe's last writer is gone: the thread reads to its end
        thread.join(timeout=5.0)
        os.close(terminal)


def _pass_on(read_end: int, terminal: int) -> None:
    """Copy the lines from ``read_end`` to ``terminal``, without `_NATIVE_NOISE`, until the pipe closes."""
    with open(read_end, "rb") as pipe:
        for line in pipe:
            if not _NATIVE_NOISE.match(line.decode(errors="replace")):
                os.write(terminal, line)
