"""Filters by name: built-ins and third-party plugins, and ``NAME:key=value`` specs."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any, Callable, TypeVar

from .base import Filter
from .errors import ParameterError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "camfilters.filters"

_REGISTRY: dict[str, type[Filter]] = {}
_plugins_loaded = False
_broken_plugins: dict[str, str] = {}

F = TypeVar("F", bound=type[Filter])


def register_filter(name: str) -> Callable[[F], F]:
    """Class decorator: register a Filter subclass under ``name``; a duplicate name raises."""

    def decorate(cls: F) -> F:
        if not (isinstance(cls, type) and issubclass(cls, Filter)):
            raise ParameterError(f"filter {name!r} must be a subclass of filters.Filter, got {cls!r}")
        if name in _REGISTRY:
            raise ParameterError(f"filter name {name!r} is already registered by {_REGISTRY[name].__qualname__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def load_plugins() -> dict[str, str]:
    """Import the ``camfilters.filters`` entry points once; return {plugin: error} of the broken ones.

    A plugin module registers its filters with ``@register_filter`` when imported (or the
    entry point names a Filter class, registered under the entry point's name). A plugin
    whose import raises, or calls ``sys.exit()``, is logged by name and skipped.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return dict(_broken_plugins)
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if isinstance(obj, type) and issubclass(obj, Filter) and obj not in _REGISTRY.values():
                register_filter(ep.name)(obj)
        # SystemExit too: a plugin that calls sys.exit() at import must not end its host.
        # KeyboardInterrupt still propagates (the user asked to stop).
        except (Exception, SystemExit) as exc:
            _broken_plugins[ep.name] = f"{type(exc).__name__}: {exc}"
            log.warning("filter plugin %r (%s) failed to load and is skipped: %s: %s",
                        ep.name, ep.value, type(exc).__name__, exc)
    return dict(_broken_plugins)


def available() -> list[str]:
    """Sorted names of every registered filter, plugins included."""
    load_plugins()
    return sorted(_REGISTRY)


def filter_class(name: str) -> type[Filter]:
    """The class registered as ``name``; unknown names raise ParameterError listing the valid ones."""
    load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(f"unknown filter {name!r}; valid filters: {', '.join(available())}") from None


def get(name: str, **options: Any) -> Filter:
    """A new filter ``name`` with ``options`` (validated; unknown options list the valid ones)."""
    return filter_class(name)(**options)


def parse(spec: str) -> Filter:
    """Build a filter from ``NAME`` or ``NAME:key=value,key=value`` (a filter spec).

    Values are text and converted by each option; ``kernel:k=0 -1 0; -1 5 -1; 0 -1 0``
    works because a value runs up to the next ``,key=`` (so values may hold spaces and ``;``).
    """
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if not name:
        raise ParameterError(f"empty filter name in {spec!r}; expected NAME or NAME:key=value,...")
    cls = filter_class(name)
    return cls(**_parse_options(spec, rest))


def _parse_options(spec: str, text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    if not text.strip():
        return options
    key = None
    for part in text.split(","):
        head, eq, value = part.partition("=")
        if eq and head.strip().isidentifier():
            key = head.strip()
            if key in options:
                raise ParameterError(f"option {key!r} given twice in {spec!r}")
            options[key] = value.strip()
        elif key is not None:
            options[key] += "," + part
        else:
            raise ParameterError(f"expected key=value in {spec!r}, got {part.strip()!r}")
    return options
