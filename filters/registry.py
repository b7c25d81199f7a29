"""Classes by name: a small `Registry` (built-ins and entry-point plugins) and the filters' one.

The same `Registry` serves the app's face lenses (``camfilters.lenses``); specs are parsed
by `filters.spec.parse_spec`, one grammar for every kind.
"""

from __future__ import annotations

import difflib
import logging
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, TypeVar

from .base import Filter
from .errors import ParameterError, shorten
from .spec import parse_spec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "camfilters.filters"

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Subclasses of ``base`` by name, in registration order; plugins come from the entry-point ``group``.

    ``kind`` names the things in messages ("filter", "lens"). A plugin module registers its
    classes with `register` when imported, or its entry point names a ``base`` subclass,
    registered under the entry point's name. A plugin that fails (any exception, or
    ``sys.exit()``) is logged by name and skipped, never a crash.
    """

    def __init__(self, kind: str, base: type, group: str) -> None:
        self.kind, self.base, self.group = kind, base, group
        self._classes: dict[str, T] = {}
        self._plugins_loaded = False
        self._broken: dict[str, str] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: register a ``base`` subclass under ``name`` (sets ``cls.name``); a duplicate raises."""

        def decorate(cls: T) -> T:
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise ParameterError(f"{self.kind} {name!r} must be a subclass of {self.base.__qualname__}, got {cls!r}")
            if name in self._classes:
                raise ParameterError(f"{self.kind} name {name!r} is already registered by "
                                     f"{self._classes[name].__qualname__}")
            cls.name = name
            self._classes[name] = cls
            return cls

        return decorate

    def load_plugins(self) -> dict[str, str]:
        """Import the ``group`` entry points once; return {plugin: error} of the broken ones."""
        if not self._plugins_loaded:
            self._plugins_loaded = True
            for ep in entry_points(group=self.group):
                try:
                    obj = ep.load()
                    if isinstance(obj, type) and issubclass(obj, self.base) and obj not in self._classes.values():
                        self.register(ep.name)(obj)
                except (Exception, SystemExit) as exc:  # a broken plugin must never take the app down
                    self._broken[ep.name] = f"{type(exc).__name__}: {exc}"
                    log.warning("%s plugin %r (%s) failed to load and is skipped: %s: %s", self.kind, ep.name,
                                ep.value, type(exc).__name__, exc)
        return dict(self._broken)

    def names(self) -> list[str]:
        """Every registered name, plugins included, in registration order (built-ins first)."""
        self.load_plugins()
        return list(self._classes)

    def get_class(self, name: str) -> T:
        """The class registered as ``name``; an unknown name raises ParameterError with the closest name and the valid ones."""
        self.load_plugins()
        try:
            return self._classes[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._classes, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ParameterError(f"unknown {self.kind} {shorten(name)!r}; {hint}valid {self.plural}: "
                                 f"{', '.join(sorted(self._classes))}") from None

    @property
    def plural(self) -> str:
        return self.kind + ("es" if self.kind.endswith(("s", "x")) else "s")

    def parse(self, spec: str) -> Any:
        """A new instance from ``NAME`` or ``NAME:key=value,...`` (see `filters.spec`)."""
        name, options = parse_spec(spec, self.kind)
        return self.get_class(name)(**options)


FILTERS: Registry[type[Filter]] = Registry("filter", Filter, ENTRY_POINT_GROUP)

F = TypeVar("F", bound=type[Filter])


def register_filter(name: str) -> Callable[[F], F]:
    """Class decorator: register a Filter subclass under ``name``; a duplicate name raises."""
    return FILTERS.register(name)


def load_plugins() -> dict[str, str]:
    """Import the ``camfilters.filters`` entry points once; return {plugin: error} of the broken ones."""
    return FILTERS.load_plugins()


def available() -> list[str]:
    """Sorted names of every registered filter, plugins included."""
    return sorted(FILTERS.names())


def filter_class(name: str) -> type[Filter]:
    """The class registered as ``name``; unknown names raise ParameterError listing the valid ones."""
    return FILTERS.get_class(name)


def get(name: str, **options: Any) -> Filter:
    """A new filter ``name`` with ``options`` (validated; unknown options list the valid ones)."""
    return filter_class(name)(**options)


def parse(spec: str) -> Filter:
    """Build a filter from ``NAME`` or ``NAME:key=value,key=value`` (grammar: `filters.spec`)."""
    return FILTERS.parse(spec)
