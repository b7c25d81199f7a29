"""Private Numba kernels, one module per filter family.

Kernels are ``@njit(cache=True, nogil=True)`` (``parallel=True`` where it pays), allocate
nothing, read no globals and write into buffers their callers own.

Rows: an image ``(H, W, C)`` is seen as ``(H, W*C)`` rows, so a horizontal tap ``dx`` is an
offset of ``dx*C`` elements and every inner loop runs over one contiguous row and vectorises.
Borders come from index tables the callers build: ``rowmap`` gives the source row of each padded
row and ``colmap[j]`` the source column of padded column ``j``. Output rows are split into ``n``
chunks of consecutive rows that run in parallel, each with scratch rows of its own; the kernels
that take a ``counter`` hand the chunks to whichever thread is free (`filters._parallel.claim`).
"""
