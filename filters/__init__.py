"""Numba-JIT convolution filters for ``(H, W, 3) uint8 BGR`` video frames.

>>> import numpy as np
>>> import filters
>>> frame = np.zeros((120, 160, 3), np.uint8)
>>> edge = filters.parse("edge:ksize=5")
>>> out = edge(frame)                       # new array
>>> edge(frame, out=out) is out             # fills and returns ``out``
True
"""

from . import _cache  # noqa: F401  first: it gives Numba a cache folder before any kernel is decorated
from ._parallel import threading_layer
from .base import Configurable, Filter, Option, check_frame, in_range, odd_at_least
from .blend import composite
from .correlation import correlate
from .errors import CamfiltersError, ParameterError, PluginError
from .registry import Registry, available, filter_class, get, load_plugins, parse, register_filter
from .spec import Spec, parse_matrix, parse_spec
from .warmup import warm_up, warm_up_in_background

# Built-in filters register themselves on import, through the same path as plugins.
from . import blur, cartoon, custom, denoise, edge, emboss, looks, lut, sharpen, sketch  # noqa: E402,F401  isort: skip
from .lut import apply_tables  # noqa: E402  isort: skip

__all__ = sorted([
    "CamfiltersError",
    "Configurable",
    "Filter",
    "Option",
    "ParameterError",
    "PluginError",
    "Registry",
    "Spec",
    "apply_tables",
    "available",
    "check_frame",
    "composite",
    "correlate",
    "filter_class",
    "get",
    "in_range",
    "load_plugins",
    "odd_at_least",
    "parse",
    "parse_matrix",
    "parse_spec",
    "register_filter",
    "threading_layer",
    "warm_up",
    "warm_up_in_background",
])
