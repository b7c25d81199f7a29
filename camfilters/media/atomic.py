"""Files that appear complete or not at all, one writer per file.

`AtomicOutput` is how every writer of the app puts a file in place: it holds a lock on the
destination (`filelock`, in the system's temporary folder, so the kernel frees it whatever ends
the process), removes the temporary files a dead writer of the same destination left (the lock
proves no live one owns them), and gives a new, empty, hidden temporary file beside it,
``.NAME.XXXXXXXX.tmp.EXT`` (the extension kept, so a muxer can be chosen by it). The writer fills
it, then `commit` (fsync, `os.replace`, fsync of the folder), `keep_partial` (renamed to a free
``NAME-partial.EXT``) or `discard`; `write_bytes` is the one-call form for small files. Locks are
per machine; without a writable temporary folder a file is written unlocked, and nothing is removed.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import OutputExistsError, RecordingError

__all__ = ["AtomicOutput", "OutputBusyError", "temporary_files", "write_bytes"]

log = logging.getLogger(__name__)

_TOKEN_HEX = 8  # hex digits of the random part of a temporary name


class OutputBusyError(RecordingError):
    """Another live process is writing the same output file now."""


def _temporary_name(destination: Path, token: str) -> str:
    stem = os.fsencode(destination.stem)[:64].decode(errors="ignore")  # a legal output name gives a legal temporary one
    return f".{stem}.{token}.tmp{destination.suffix}"


def temporary_files(destination: str | os.PathLike[str]) -> list[Path]:
    """The temporary files of writers of ``destination`` that have not finished (or were killed)."""
    destination = Path(destination)
    head, _, tail = _temporary_name(destination, "/").partition("/")  # "/" is in no file name
    return sorted(destination.parent.glob(glob.escape(head) + "[0-9a-f]" * _TOKEN_HEX + glob.escape(tail)))


def _lock_file(destination: Path) -> Path:
    """The lock of ``destination``: one per real path, in a per-user folder of the temporary folder."""
    folder = Path(tempfile.gettempdir()) / f"camfilters-locks-{getattr(os, 'getuid', lambda: 0)()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    key = hashlib.sha256(os.fsencode(os.path.realpath(destination))).hexdigest()[:32]
    return folder / f"{key}.lock"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def fsync(path: Path) -> None:
    """Flush the file or folder ``path`` to disk (a folder: the renames in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicOutput:
    """A lock on ``destination`` and a temporary file beside it (``temp``) that becomes it on `commit`.

    Raises `OutputBusyError` if another process writes ``destination`` now,
    `OutputExistsError` if it exists and not ``overwrite`` (checked under the lock),
    `RecordingError` if its folder takes no file. ``what`` names the file in messages
    (default: its path). Closing (or leaving the ``with``) removes a temporary file that
    was neither committed nor kept and releases the lock; idempotent.
    """

    def __init__(self, destination: str | os.PathLike[str], *, overwrite: bool = True, what: str | None = None) -> None:
        self.path = Path(destination)
        self.what = what or str(self.path)
        self._lock: FileLock | None = None
        try:
            lock = FileLock(_lock_file(self.path))
            lock.acquire(timeout=0)
            self._lock = lock
        except Timeout:
            raise OutputBusyError(f"{self.what} is being written by another camfilters process now; "
                                  "let it finish or choose another name") from None
        except OSError as exc:  # no writable temporary folder: write unlocked, and remove nothing
            log.debug("writing %s without a lock: %s", self.path, _reason(exc))
        try:
            if not overwrite and os.path.lexists(self.path):
                raise OutputExistsError(f"{self.what} already exists; add -y (--overwrite) to replace it, "
                                        "or choose another name")
            for stale in temporary_files(self.path) if self._lock is not None else ():
                log.info("removing %s, left by a writer that did not finish", stale)
                stale.unlink(missing_ok=True)
            self.temp: Path | None = self._new_temporary()
        except BaseException:
            self.close()
            raise

    def _new_temporary(self) -> Path:
        while True:
            temp = self.path.with_name(_temporary_name(self.path, secrets.token_hex(_TOKEN_HEX // 2)))
            try:
                with open(temp, "xb"):
                    pass
            except FileExistsError:
                continue
            except OSError as exc:
                raise RecordingError(f"cannot write {self.what}: {_reason(exc)}; choose a writable folder") from exc
            try:  # keep an overwritten file's permissions
                os.chmod(temp, stat.S_IMODE(self.path.stat().st_mode))
            except OSError:
                pass
            return temp

    def commit(self) -> Path:
        """Put the finished temporary file in place (synced first, atomically); return the path."""
        temp, self.temp = self.temp, None
        try:
            fsync(temp)
            os.replace(temp, self.path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise RecordingError(f"cannot write {self.what}: {_reason(exc)}") from exc
        try:
            fsync(self.path.parent)  # the rename itself
        except OSError:
            pass  # some file systems cannot sync a folder; the file is in place
        return self.path

    def keep_partial(self) -> Path | None:
        """Keep the temporary file as ``NAME-partial.EXT`` (``-partial-2`` ... if taken); never over a file.

        Returns its path, or None when it could not be renamed (then it stays as the hidden temporary file).
        """
        temp, self.temp = self.temp, None
        for n in range(1, 1000):
            name = f"{self.path.stem}-partial{'' if n == 1 else f'-{n}'}{self.path.suffix}"
            partial = self.path.with_name(name)
            if os.path.lexists(partial):
                continue
            try:
                os.link(temp, partial)  # fails if the name was taken meanwhile, unlike a rename
            except FileExistsError:
                continue
            except OSError:  # no hard links here (some file systems): a rename, checked just before
                try:
                    os.rename(temp, partial)
                except OSError as exc:
                    log.warning("could not keep the partial file %s as %s: %s", temp, partial, _reason(exc))
                    return temp
                return partial
            temp.unlink(missing_ok=True)
            return partial
        return temp  # 999 partial files: keep the hidden one rather than lose what it holds

    def discard(self) -> None:
        """Remove the temporary file; the destination keeps what it held."""
        temp, self.temp = self.temp, None
        if temp is not None:
            temp.unlink(missing_ok=True)

    def close(self) -> None:
        if getattr(self, "temp", None) is not None:
            self.discard()
        if self._lock is not None:
            lock, self._lock = self._lock, None
            lock.release()

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False, what: str | None = None) -> Path:
    """Write ``data`` to ``path`` complete or not at all (see `AtomicOutput`); return the path."""
    with AtomicOutput(path, overwrite=overwrite, what=what) as out:
        try:
            out.temp.write_bytes(data)
        except OSError as exc:
            raise RecordingError(f"cannot write {out.what}: {_reason(exc)}") from None
        return out.commit()
