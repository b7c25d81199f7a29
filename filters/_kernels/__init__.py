"""Private Numba kernels, one module per filter family.

Kernels are ``@njit(cache=True, nogil=True)`` (``parallel=True`` where it pays), allocate
nothing, read no globals and write into buffers their callers own.
"""
