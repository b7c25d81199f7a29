"""Lens packs: PNG layers anchored to face landmarks, described by a folder's ``lens.json``.

The ``lens.json`` format is told in the README (Face lenses, ``pack``); `load_pack` reads and
checks it. Each layer is warped with `cv2.warpAffine` (bilinear, premultiplied alpha, from a
mip level no more than 2x the drawn size, so it stays anti-aliased) and blended over every face
with landmarks, in the order listed; a ``behind`` layer is weighted by 1 - the edge-refined
person mask (as bg-blur uses it), so a pack with one asks the face stage for that mask. Built-in
packs live in ``packs/`` beside this module (``pack:name=hat``), drawn by ``scripts/make_packs.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from filters.base import Option
from filters.errors import ParameterError, shorten

from ..images import MAX_STICKER_SIDE, read_image
from .drawing import box_around
from .landmarks import N_LANDMARKS
from .lenses import Lens, Scene, register_lens
from .segmentation import refine_person

BUILTIN_DIR = Path(__file__).resolve().parent / "packs"
DEFAULT_AXIS = (127, 356)
DEFAULT_PACK = "hat"  # the built-in pack of a bare "pack"
MAX_JSON_BYTES = 2**20  # a lens.json is a few hundred bytes
FIELDS = ("image", "anchor", "axis", "pivot", "scale", "rotation", "offset", "behind")  # of a layer


def builtin_packs() -> list[str]:
    """Names of the packs shipped in the package (folders of ``packs/`` holding a ``lens.json``)."""
    return sorted(p.parent.name for p in BUILTIN_DIR.glob("*/lens.json"))


@dataclass
class Layer:
    """One PNG layer: premultiplied ``(h, w, 4) float32`` BGRA mip levels (level k is 2^-k size) and its placement."""

    levels: list[np.ndarray]
    anchor: tuple[int, ...]
    axis: tuple[int, int]
    pivot: tuple[float, float]
    scale: float = 1.0
    rotation: float = 0.0
    offset: tuple[float, float] = (0.0, 0.0)
    behind: bool = False

    def matrix(self, landmarks: np.ndarray) -> tuple[np.ndarray, float] | None:
        """The 2x3 affine (PNG px -> frame px) for ``landmarks`` ((478, 2+) frame px) and its scale, or None
        when the axis is degenerate."""
        xy = landmarks[:, :2].astype(np.float64)
        a, b = xy[self.axis[0]], xy[self.axis[1]]
        d = float(np.hypot(*(b - a)))
        if d < 2.0:
            return None
        roll = math.atan2(b[1] - a[1], b[0] - a[0]) + math.radians(self.rotation)
        u = np.array([math.cos(roll), math.sin(roll)])
        v = np.array([-u[1], u[0]])  # perpendicular, towards the chin
        axis_u = (b - a) / d
        axis_v = np.array([-axis_u[1], axis_u[0]])
        anchor = xy[list(self.anchor)].mean(axis=0) + d * (self.offset[0] * axis_u + self.offset[1] * axis_v)
        s = self.scale * d / self.levels[0].shape[1]
        linear = s * np.stack([u, v], axis=1)  # columns: images of the PNG's x and y unit vectors
        shift = anchor - linear @ np.asarray(self.pivot)
        return np.hstack([linear, shift[:, None]]), s

    def draw(self, frame: np.ndarray, landmarks: np.ndarray, person: np.ndarray | None = None) -> None:
        """Blend this layer over ``frame`` ((H, W, 3) uint8 BGR, in place) as placed by ``landmarks``;
        a `behind` layer only over the background of ``person`` ((H, W) uint8, 255 = person), not at all
        without it."""
        placed = self.matrix(landmarks)
        if placed is None or (self.behind and person is None):
            return
        m, s = placed
        level = min(len(self.levels) - 1, max(0, int(math.floor(-math.log2(max(s, 1e-6))))))
        png = self.levels[level]
        k = 2.0 ** level  # level pixel -> full-size PNG pixel: p_full = k * p + (k - 1) / 2
        m = m @ np.array([[k, 0, (k - 1) / 2], [0, k, (k - 1) / 2], [0, 0, 1]])
        h, w = png.shape[:2]
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
        roi = box_around(corners.astype(np.float32), 2.0, frame.shape)
        if roi is None:
            return
        m[:, 2] -= (roi[1].start, roi[0].start)
        size = (roi[1].stop - roi[1].start, roi[0].stop - roi[0].start)
        warped = cv2.warpAffine(png, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        view = frame[roi]
        if self.behind:
            background = 1.0 - refine_person(person[roi], view).astype(np.float32) * (1.0 / 255.0)
            warped *= background[..., None]  # premultiplied: colour and alpha alike
        out = view.astype(np.float32) * (1.0 - warped[..., 3:]) + warped[..., :3]
        view[...] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass
class Pack:
    """A loaded lens pack: its name, one-line description and layers (drawn in order)."""

    name: str
    description: str
    layers: list[Layer] = field(default_factory=list)


class _Fields:
    """Reads ``lens.json`` fields, raising ParameterError naming the file and field path on a bad one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ParameterError:
        return ParameterError(f"lens pack {self.path}: {where}: {problem}")

    def number(self, obj: dict, key: str, where: str, default: float, low: float, high: float) -> float:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self.fail(f"{where}.{key}", f"must be a number between {low:g} and {high:g}, got {shorten(repr(value))}")
        return float(value)

    def pair(self, obj: dict, key: str, where: str, default: tuple[float, float] | None) -> tuple[float, float]:
        value = obj.get(key, default)
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value)):
            raise self.fail(f"{where}.{key}", f"must be two numbers [x, y], got {shorten(repr(value))}")
        return float(value[0]), float(value[1])

    def flag(self, obj: dict, key: str, where: str) -> bool:
        value = obj.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"must be true or false, got {shorten(repr(value))}")
        return value

    def indices(self, obj: dict, key: str, where: str, default: Any, count: int | None) -> tuple[int, ...]:
        value = obj.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "is missing (a list of face-mesh landmark indices)")
        if not isinstance(value, (list, tuple)) or not value or (count is not None and len(value) != count):
            n = f"{count} " if count else "a non-empty list of "
            raise self.fail(f"{where}.{key}", f"must be {n}landmark indices, got {shorten(repr(value))}")
        for i, x in enumerate(value):
            if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < N_LANDMARKS:
                raise self.fail(f"{where}.{key}[{i}]", f"landmark index must be an integer 0..{N_LANDMARKS - 1}, "
                                                      f"got {shorten(repr(x))}")
        return tuple(value)


def _mip_levels(bgra: np.ndarray) -> list[np.ndarray]:
    """Premultiplied float32 BGRA at full, half, quarter... size (down to about 8 px)."""
    rgb = bgra[..., :3].astype(np.float32)
    alpha = bgra[..., 3:].astype(np.float32) / 255.0
    level = np.concatenate([rgb * alpha, alpha], axis=2)
    levels = [level]
    while min(level.shape[:2]) >= 16:
        level = cv2.resize(level, (level.shape[1] // 2, level.shape[0] // 2), interpolation=cv2.INTER_AREA)
        levels.append(level)
    return levels


def _read_png(path: Path, fields: _Fields, where: str) -> np.ndarray:
    """``(h, w, 4) uint8`` BGRA of the PNG at ``path`` (opaque when it has no alpha)."""
    if not path.is_file():
        raise fields.fail(f"{where}.image", f"file {path.name!r} not found in {path.parent}")
    try:
        image = read_image(path, cv2.IMREAD_UNCHANGED, max_side=MAX_STICKER_SIDE)
    except ParameterError as exc:
        raise fields.fail(f"{where}.image", str(exc)) from None
    if image is None or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise fields.fail(f"{where}.image", f"{path.name!r} is not a readable PNG")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    elif image.shape[2] != 4:
        raise fields.fail(f"{where}.image", f"{path.name!r} must be grey, BGR or BGRA, got {image.shape[2]} channels")
    return image


def load_pack(folder: str | Path) -> Pack:
    """The pack in ``folder`` (``lens.json``: the README's ``pack``); raises ParameterError naming the file and field."""
    folder = Path(folder).expanduser()
    if folder.is_file():
        if folder.name != "lens.json":
            raise ParameterError(f"lens pack {folder} is a file, not a folder; give the folder holding lens.json")
        folder = folder.parent
    path = folder / "lens.json"
    fields = _Fields(path)
    if not path.is_file():
        raise ParameterError(f"lens pack {folder}: no lens.json in it (a pack is a folder with lens.json and PNG layers)")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_JSON_BYTES + 1)
        if len(data) > MAX_JSON_BYTES:
            raise ParameterError(f"lens pack {path}: over {MAX_JSON_BYTES // 2**20} MB, too big to be a lens.json")
        spec = json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise ParameterError(f"lens pack {path}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"lens pack {path}: cannot read it: {exc}") from None
    except RecursionError:
        raise ParameterError(f"lens pack {path}: nested too deeply to be a lens pack") from None
    if not isinstance(spec, dict):
        raise fields.fail("top level", f"must be an object {{...}}, got {type(spec).__name__}")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        raise fields.fail("layers", f"must be a non-empty list of layers, got {shorten(repr(layers))}")
    pack = Pack(str(spec.get("name", folder.name)), str(spec.get("description", "")))
    for i, obj in enumerate(layers):
        where = f"layers[{i}]"
        if not isinstance(obj, dict):
            raise fields.fail(where, f"must be an object {{...}}, got {shorten(repr(obj))}")
        unknown = sorted(set(obj) - set(FIELDS))
        if unknown:
            raise fields.fail(f"{where}.{shorten(unknown[0])}",
                              "unknown field; valid: " + ", ".join(FIELDS))
        image = obj.get("image")
        if not isinstance(image, str) or not image:
            raise fields.fail(f"{where}.image", f"must be a PNG file name, got {shorten(repr(image))}")
        png = _read_png(folder / image, fields, where)
        h, w = png.shape[:2]
        pack.layers.append(Layer(
            levels=_mip_levels(png),
            anchor=fields.indices(obj, "anchor", where, None, None),
            axis=fields.indices(obj, "axis", where, list(DEFAULT_AXIS), 2),
            pivot=fields.pair(obj, "pivot", where, ((w - 1) / 2.0, (h - 1) / 2.0)),
            scale=fields.number(obj, "scale", where, 1.0, 0.01, 100.0),
            rotation=fields.number(obj, "rotation", where, 0.0, -360.0, 360.0),
            offset=fields.pair(obj, "offset", where, (0.0, 0.0)),
            behind=fields.flag(obj, "behind", where),
        ))
    return pack


@register_lens("pack")
class PackLens(Lens):
    help = "a lens pack: PNG stickers anchored to the face landmarks (hat, ears, ...), built in or from a folder"
    # "path" first: Configurable sets the options in order and "name" (set last) shadows the lens
    # name, which __init__ takes back as ``pack_name``.
    options = (
        Option("path", str, None, "folder holding lens.json and its PNG layers", optional=True),
        Option("name", str, DEFAULT_PACK, "a built-in pack (used without path): " + ", ".join(builtin_packs()),
               choices=tuple(builtin_packs())),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.pack_name = self.__dict__.pop("name")
        if self.path is not None:
            if "name" in options:
                raise ParameterError(f"lens pack: give name=NAME (a built-in pack) or path=DIR, not both, "
                                     f"got name={self.pack_name!r} and path={self.path!r}")
            self.pack = load_pack(self.path)
            self.pack_name = self.pack.name
        else:
            self.pack = load_pack(BUILTIN_DIR / self.pack_name)
        self.needs_mask = any(layer.behind for layer in self.pack.layers)  # type: ignore[misc]  # per pack

    def __repr__(self) -> str:
        return f"PackLens(path={self.path!r})" if self.path is not None else f"PackLens(name={self.pack_name!r})"

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        for face in scene.landmark_faces():
            for layer in self.pack.layers:
                layer.draw(frame, face.landmarks, scene.person)
