"""The face stage's blend: `filters.composite` (its Numba kernel lives in filters/_kernels/blend.py)."""

from filters import composite

__all__ = ["composite"]
