"""Live tuning: the scroll wheel and ``[`` / ``]`` step the main option of a filter or lens.

The main option is the first of `MAIN_OPTIONS` the object has (blur's ksize, a look's
strength, bg-blur's strength, ...). A step builds a new object with the other options kept,
so the constructor validates the value as it does on the command line.
"""

from __future__ import annotations

from typing import Any

from filters import Option, ParameterError

__all__ = ["MAIN_OPTIONS", "main_option", "stepped"]

MAIN_OPTIONS = ("strength", "ksize", "amount", "levels", "scale", "tint")


def main_option(obj: Any) -> Option | None:
    """The option the wheel changes on ``obj`` (a filter or lens), or None when it has none."""
    by_name = {o.name: o for o in getattr(obj, "options", ())}
    for name in MAIN_OPTIONS:
        opt = by_name.get(name)
        if opt is not None and opt.kind in (int, float) and getattr(obj, name) is not None:
            return opt
    return None


def _step(opt: Option, value: float) -> float:
    if opt.name == "ksize":  # odd sizes: 2 at a time, 4 once large
        return 2 if value < 9 else 4
    if opt.kind is int:
        return 1
    return 0.1 if opt.default <= 1.5 else round(opt.default * 0.2, 1)


def stepped(obj: Any, steps: int) -> Any | None:
    """A copy of ``obj`` with its main option ``steps`` steps up (negative: down), or None when it has
    no main option or the value is at its limit.

    >>> import filters
    >>> stepped(filters.get("blur"), 1).ksize, stepped(filters.get("sepia"), -2).strength
    (25, 0.8)
    """
    opt = main_option(obj)
    if opt is None or steps == 0:
        return None
    value = getattr(obj, opt.name)
    new = value + steps * _step(opt, value)
    new = int(new) if opt.kind is int else round(float(new), 3)
    options = {o.name: getattr(obj, o.name) for o in obj.options}
    try:
        return type(obj)(**{**options, opt.name: new})
    except ParameterError:
        return None
