"""The JIT start-up child: run as a script by `camfilters.bench.jit`, it prints its timestamps as JSON.

Argument: JSON ``[names, width, height]``. Its source is run with ``python -c`` (not ``-m``):
nothing is imported before ``started`` is read, and this folder is not put on ``sys.path``.
"""

import json
import sys
import time

names, width, height = json.loads(sys.argv[1])
started = time.time()
import cv2  # noqa: E402
import numpy as np  # noqa: E402

import filters  # noqa: E402

imported = time.time()
warm = filters.warm_up(names)
warmed = time.time()
frame = cv2.resize(np.random.default_rng(0).integers(0, 256, (height // 8, width // 8, 3), np.uint8),
                   (width, height), interpolation=cv2.INTER_LINEAR)
ready = time.time()
first_ms = {}
for name in names:
    flt = filters.get(name)
    start = time.perf_counter()
    flt(frame)
    first_ms[name] = (time.perf_counter() - start) * 1000.0
print(json.dumps({"started": started, "imported": imported, "warmed": warmed, "ready": ready,
                  "done": time.time(), "warm_up_s": warm, "first_frame_ms": first_ms}))
