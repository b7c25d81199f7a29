"""What a batch render will do, decided before anything starts: which files, to which outputs.

`plan` turns the command line's inputs (files, folders, globs) into (input, output)
pairs, each output keeping its input's name relative to what was given. Outputs are
never inputs: an output that is a file of the batch is refused, even with ``-y``; the
files under an output folder inside an input folder are left out of it; and an output
folder that is an input folder (or a glob's) is refused, since a re-run would take the
outputs for inputs. `with_render_options` makes the pairs `Job`s; `check_scheduler`
checks a Dask address in the same way.
"""

from __future__ import annotations

import glob
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ParameterError
from .options import RenderOptions

__all__ = ["VIDEO_EXTENSIONS", "Job", "check_scheduler", "one_file", "plan", "with_render_options"]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".3gp", ".avi", ".flv", ".m2ts", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg",
                              ".mts", ".ts", ".webm", ".wmv"})
_DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


@dataclass(frozen=True)
class Job:
    """One file to render: ``input`` to ``output`` with ``options``; ``key`` names the job in progress reports."""

    input: Path
    output: Path
    options: RenderOptions = RenderOptions()
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    stop: str = ""  # on a cluster: the name of the Dask Event that stops it (`camfilters.batch_cluster`)


def with_render_options(pairs: list[tuple[Path, Path]], options: RenderOptions) -> list[Job]:
    """One `Job` per (input, output) pair of `plan`, each rendered with ``options``."""
    return [Job(i, o, options) for i, o in pairs]


def plan(inputs: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str], *, suffix: str = "",
         ext: str | None = None) -> list[tuple[Path, Path]]:
    """(input, output) pairs for the command line's inputs; `ParameterError` for ones that match nothing.

    A file stands for itself; a folder for its video files (`VIDEO_EXTENSIONS`, any depth,
    sorted); anything else is a glob (``**`` recurses). With one plain file, ``output`` is
    the output file (unless it is a folder); otherwise it is a folder and each output keeps
    the input's path relative to the folder given (or to the glob's fixed part), with
    ``suffix`` added to the stem and the extension replaced by ``ext`` (any case; default:
    the input's if it can be written, else ``.mp4``). Refused: two inputs landing on one
    output, an output that is an input, and the other cases in the module docstring.
    """
    from .recording import FORMATS

    inputs, output = [str(i) for i in inputs], Path(output)
    if ext is not None:
        ext = (ext if ext.startswith(".") else "." + ext).lower()
        if ext not in FORMATS:
            raise ParameterError(f"--ext must be one of {', '.join(sorted(FORMATS))}, got {ext!r}")
    if "/" in suffix or "\0" in suffix or (os.altsep and os.altsep in suffix) or os.sep in suffix:
        raise ParameterError(f"--suffix is added to the file names and may not hold a '/', got {suffix!r}; "
                             "use -o to choose the folder")
    found, same = _expand(inputs, output)
    if len(inputs) == 1 and len(found) == 1 and os.path.isfile(Path(inputs[0]).expanduser()) and not os.path.isdir(output):
        return [(found[0][0], output)]
    if os.path.exists(output) and not os.path.isdir(output):
        raise ParameterError(f"with several inputs the output must be a folder, and {output} is a file")
    if not os.path.exists(output) and output.suffix.lower() in VIDEO_EXTENSIONS | set(FORMATS):
        raise ParameterError(f"with several inputs the output must be a folder, and {output} is a file name; "
                             f"give a folder such as {output.with_suffix('')}")
    identities = {_identity(source) for source, _ in found} - {None}
    pairs, seen = [], {}
    for source, relative in found:
        new_ext = ext or relative.suffix.lower()
        new_ext = new_ext if new_ext in FORMATS else ".mp4"
        target = output / relative.with_name(relative.stem + suffix + new_ext)
        if target in seen:
            raise ParameterError(f"{source} and {seen[target]} would both be written to {target}; "
                                 f"use --suffix or separate runs")
        if _identity(target) in identities:
            raise ParameterError(f"{target} is an input of this batch and would be replaced by the render of "
                                 f"{source}; use another --suffix or -o folder")
        seen[target] = source
        pairs.append((source, target))
    if same:
        raise ParameterError(f"-o {output} is the folder the inputs {same[0]} are taken from: a re-run would render "
                             "the outputs again; choose another -o folder")
    return pairs


def _expand(inputs: list[str], output: Path) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(input file, its path relative to its root) for each file the inputs stand for, outputs left out,
    and the inputs (folders, globs) whose folder is the output folder."""
    found: list[tuple[Path, Path]] = []
    same: list[str] = []
    for text in inputs:
        path = Path(text).expanduser()
        if os.path.isfile(path):  # os.path: a name too long is no file, not an error
            found.append((path, Path(path.name)))
            continue
        if os.path.isdir(path):
            root = path
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        else:
            files = [m for m in sorted(Path(m) for m in glob.glob(os.path.expanduser(text), recursive=True))
                     if m.is_file()]
            root = Path(os.path.dirname(_fixed_prefix(os.path.expanduser(text))))
        kept = _outside(files, root, output)
        if kept and os.path.realpath(root or ".") == os.path.realpath(output):
            same.append(text)
        if not kept:
            if os.path.isdir(path):
                raise ParameterError(f"folder {path} holds no video files ({', '.join(sorted(VIDEO_EXTENSIONS))})")
            raise ParameterError(f"no such file, folder or matching files: {text}")
        found += [(m, m.relative_to(root) if m.is_relative_to(root) else Path(m.name)) for m in kept]
    return found, same


def _outside(files: list[Path], root: Path, output: Path) -> list[Path]:
    """``files`` (found under ``root``) without those under the output folder, if that is inside ``root``."""
    out, base = os.path.realpath(output), os.path.realpath(root or ".")
    if not out.startswith(base.rstrip(os.sep) + os.sep):
        return files
    kept = [f for f in files if not os.path.realpath(f).startswith(out + os.sep)]
    if len(kept) < len(files):
        log.info("%d files under the output folder %s are not inputs", len(files) - len(kept), output)
    return kept


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def one_file(inputs: list[str | os.PathLike[str]]) -> bool:
    """Whether the command line's inputs are one file (to render in this process): one input that is
    not a folder, and exists or is no glob. A missing or unreadable one is left to `render` to name."""
    if len(inputs) != 1:
        return False
    text = os.fspath(inputs[0])
    path = Path(text).expanduser()
    try:
        if path.is_dir():
            return False
        return os.path.lexists(path) or _fixed_prefix(text) == text
    except (OSError, ValueError):  # a name too long, a NUL byte: render says so in one line
        return True


def _fixed_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((i for i in (pattern.find(c) for c in "*?[") if i >= 0), default=len(pattern))
    return pattern[:cut]


def check_scheduler(address: str) -> None:
    """`ParameterError` unless ``address`` reads as a Dask scheduler address, ``[tcp://]HOST:PORT`` and the like."""
    scheme, sep, location = address.partition("://")
    if not sep:
        scheme, location = "tcp", address
    host, colon, port = location.rpartition(":")
    ok = scheme in _DASK_SCHEMES and (scheme == "inproc" and bool(location) or
                                      bool(colon and host and port.isdigit() and 0 < int(port) < 65536))
    if not ok:
        raise ParameterError(f"--scheduler must be a Dask scheduler address such as tcp://host:8786, "
                             f"got {address[:80]!r}")
