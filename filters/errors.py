"""Exceptions shared by `filters` and the `camfilters` app.

Every error the project raises on purpose derives from `CamfiltersError`, so an
application can report it as one line; each also derives from the matching
builtin so ordinary ``except ValueError`` code keeps working.
"""


def shorten(text: str, keep: int = 40) -> str:
    """``text``, or its first and last ``keep`` characters around "...": bad input quoted in a message.

    >>> shorten("x" * 100, 3)
    'xxx...xxx'
    """
    return text if len(text) <= 2 * keep else f"{text[:keep]}...{text[-keep:]}"


class CamfiltersError(Exception):
    """Base of every error camfilters raises on purpose; its message is one line for the user."""


class ParameterError(CamfiltersError, ValueError):
    """A bad argument or option: the message names it, the bad value and what is allowed."""


class PluginError(CamfiltersError, ImportError):
    """A third-party filter plugin failed to load."""
