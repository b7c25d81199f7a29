"""Picture files read (lens-pack stickers, bg-replace backgrounds) with bounded memory, and written (snapshots,
explain), under any file name: OpenCV's ``imread``/``imwrite`` crash the process on a name that is not UTF-8.

Limits, checked before decoding: a file of at most `MAX_FILE_BYTES` (256 MB), a picture of at most
`MAX_SIDE` (8192) pixels a side; a sticker at most `MAX_STICKER_SIDE` (4096), as it is kept in
float32 at several sizes. The size is read from the header (Pillow's lazy open), so a picture that
would decode to gigabytes is refused at once; the bytes are decoded by OpenCV from memory.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np

from .errors import ParameterError

__all__ = ["MAX_FILE_BYTES", "MAX_SIDE", "MAX_STICKER_SIDE", "read_image", "write_image"]

MAX_FILE_BYTES = 256 * 2**20
MAX_SIDE = 8192
MAX_STICKER_SIDE = 4096
_BOMB = (2**31, 2**31)  # the size of a picture Pillow refuses to open, over any limit here


def read_image(path: str | os.PathLike[str], flags: int = cv2.IMREAD_UNCHANGED, *,
               max_side: int = MAX_SIDE) -> np.ndarray | None:
    """The picture at ``path`` decoded with OpenCV ``flags``, or None when it is not one OpenCV decodes.

    Raises `ParameterError` (the file's name and what is wrong, to follow a "where:" prefix) when the
    file cannot be read, is not a regular file, or is over the limits.
    """
    path = Path(path)
    name = repr(str(path))
    try:
        with path.open("rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ParameterError(f"{name} is not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                raise ParameterError(f"{name} is {-(-info.st_size // 2**20)} MB; picture files are at most "
                                     f"{MAX_FILE_BYTES // 2**20} MB")
            size = _header_size(file)
            if size is None:
                return None
            if max(size) > max_side:
                what = "over 179 megapixels" if size == _BOMB else f"{size[0]}x{size[1]} pixels"
                raise ParameterError(f"{name} is {what}; pictures here are at most {max_side}x{max_side}, "
                                     "scale it down")
            file.seek(0)
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ParameterError(f"cannot read {name}: {exc.strerror or exc}") from None
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def write_image(path: str | os.PathLike[str], image: np.ndarray) -> bool:
    """Write ``image`` in the format of ``path``'s extension (``.png``, ``.jpg``, ...), as ``cv2.imwrite``.

    False when OpenCV writes no picture format of that extension; OSError when the file cannot be written.
    """
    try:
        ok, data = cv2.imencode(Path(path).suffix, image)
    except cv2.error:
        return False
    if not ok:
        return False
    with open(path, "wb") as file:
        file.write(data)
    return True


def _header_size(file) -> tuple[int, int] | None:
    """(width, height) from the picture's header, or None when Pillow does not recognise it."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(file) as image:
                return image.size
        except Image.DecompressionBombError:  # over twice Pillow's MAX_IMAGE_PIXELS
            return _BOMB
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None
