"""Private Numba kernels, one module per filter family.

Kernels are ``@njit(cache=True, nogil=True)`` (``parallel=True`` where it pays), allocate
nothing, read no globals and write into buffers their callers own.
"""

import os

# Numba's OpenMP workers spin while idle by default, which halves OpenCV's speed in the
# same process (measured here); passive waiting costs nothing measurable per frame.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
