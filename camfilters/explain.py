"""``camfilters explain``: what a correlation computes, as tables and as a heat-map picture."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

import filters
from filters.errors import shorten

from .errors import OutputExistsError, ParameterError, RecordingError
from .media.atomic import write_bytes


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"


def _float32(text: str, what: str) -> np.ndarray:
    """The matrix in ``text`` as float32; every number finite and within float32's range."""
    m = filters.parse_matrix(text, what)
    if not (np.isfinite(m).all() and np.abs(m).max() <= np.finfo(np.float32).max):
        raise ParameterError(f"{what} must hold finite numbers of at most 3.4e38 in size, got {shorten(text)!r}")
    return m.astype(np.float32)


def table(m: np.ndarray) -> str:
    """The matrix as right-aligned columns."""
    cells = [[_fmt(v) for v in row] for row in m]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("  " + " ".join(c.rjust(width) for c in row) for row in cells)


def explain(input_text: str, kernel_text: str, picture: Path | None = None, *, overwrite: bool = False) -> str:
    """Tables of input, kernel and their "valid" correlation, plus how ``out[0, 0]`` is formed.

    With ``picture``, also draws them there (`write_picture`); an existing file is refused unless ``overwrite``.
    """
    src = _float32(input_text, "--input")
    kernel = _float32(kernel_text, "--kernel")
    out = filters.correlate(src, kernel, mode="valid")
    if not np.isfinite(out).all():
        raise ParameterError("the output overflows 32-bit floats (over 3.4e38); use smaller numbers")
    kh, kw = kernel.shape
    terms = " + ".join(f"{_fmt(src[i, j])}*{_fmt(kernel[i, j])}" for i in range(kh) for j in range(kw))
    text = (f"input {src.shape[0]}x{src.shape[1]}:\n{table(src)}\n"
            f"kernel {kh}x{kw}:\n{table(kernel)}\n"
            f"output {out.shape[0]}x{out.shape[1]} (correlation, 'valid': the kernel slides over the input, "
            f"no flip, no padding):\n{table(out)}\n"
            f"out[0, 0] = {terms} = {_fmt(out[0, 0])}")
    if picture is not None:
        write_picture(picture, [("input", src), ("kernel", kernel), ("output", out)], overwrite=overwrite)
        text += f"\npicture written to {picture}"
    return text


def _heatmap(title: str, m: np.ndarray, cell: int) -> np.ndarray:
    """One annotated heat map, ``cell`` pixels per matrix entry, with its title above."""
    lo, hi = float(m.min()), float(m.max())
    norm = np.zeros_like(m) if hi == lo else (m - lo) / (hi - lo)
    colours = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    h, w = m.shape
    title_h = cell // 2 + 10
    panel = np.full((h * cell + title_h, w * cell, 3), 255, np.uint8)
    panel[title_h:] = cv2.resize(colours, (w * cell, h * cell), interpolation=cv2.INTER_NEAREST)
    scale = cell / 80
    cv2.putText(panel, title, (4, title_h - 10), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.9, (0, 0, 0), 2, cv2.LINE_AA)
    for i in range(h):
        for j in range(w):
            label = _fmt(m[i, j])
            (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
            ink = (0, 0, 0) if norm[i, j] > 0.6 else (255, 255, 255)
            org = (j * cell + (cell - tw) // 2, title_h + i * cell + (cell + th) // 2)
            cv2.putText(panel, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 2, cv2.LINE_AA)
            cv2.rectangle(panel, (j * cell, title_h + i * cell), ((j + 1) * cell - 1, title_h + (i + 1) * cell - 1),
                          (255, 255, 255), 1)
    return panel


def write_picture(path: Path, panels: list[tuple[str, np.ndarray]], *, overwrite: bool = False) -> None:
    """Draw the matrices as heat maps side by side, separated by the symbols of ``input * kernel = output``.

    Written complete or not at all (`write_bytes`); an existing file is refused unless ``overwrite``.
    """
    if os.path.lexists(path) and not overwrite:  # before drawing; checked again when written
        raise OutputExistsError(f"{path} already exists; add -y (--overwrite) to replace it, or choose another name")
    cell = int(np.clip(480 / max(max(m.shape) for _, m in panels), 24, 96))
    images = [_heatmap(t, m, cell) for t, m in panels]
    height = max(im.shape[0] for im in images)
    gap = cell
    parts = []
    for k, im in enumerate(images):
        padded = np.full((height, im.shape[1], 3), 255, np.uint8)
        padded[: im.shape[0]] = im
        parts.append(padded)
        if k < len(images) - 1:
            sep = np.full((height, gap, 3), 255, np.uint8)
            cv2.putText(sep, "*" if k == 0 else "=", (gap // 4, height // 2 + gap // 4), cv2.FONT_HERSHEY_SIMPLEX,
                        cell / 50, (0, 0, 0), 2, cv2.LINE_AA)
            parts.append(sep)
    canvas = cv2.copyMakeBorder(np.hstack(parts), 16, 16, 16, 16, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    try:
        ok, data = cv2.imencode(Path(path).suffix or ".png", canvas)
    except cv2.error:
        ok = False
    if not ok:
        raise RecordingError(f"cannot write {path}: not a picture file name; give one ending in .png")
    if not Path(path).parent.is_dir():
        raise RecordingError(f"cannot write {path}: folder {Path(path).parent} does not exist; create it or "
                             "choose another path")
    write_bytes(path, data.tobytes(), overwrite=overwrite)
