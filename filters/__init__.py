"""Numba-JIT convolution filters for ``(H, W, 3) uint8 BGR`` video frames.

>>> import filters
>>> edge = filters.parse("edge:ksize=5")
>>> out = edge(frame)                       # new array
>>> edge(frame, out=out)                    # fills and returns ``out``
"""

from .base import Filter, Option
from .correlation import correlate
from .errors import CamfiltersError, ParameterError, PluginError
from .registry import Registry, available, filter_class, get, load_plugins, parse, register_filter
from .spec import Spec, parse_matrix, parse_spec
from .warmup import warm_up

# Built-in filters register themselves on import, through the same path as plugins.
from . import blur, cartoon, custom, edge, looks, lut, sharpen, sketch  # noqa: E402,F401  isort: skip

__all__ = sorted([
    "CamfiltersError",
    "Filter",
    "Option",
    "ParameterError",
    "PluginError",
    "Registry",
    "Spec",
    "available",
    "correlate",
    "filter_class",
    "get",
    "load_plugins",
    "parse",
    "parse_matrix",
    "parse_spec",
    "register_filter",
    "warm_up",
])
