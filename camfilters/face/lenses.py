"""The lenses: effects drawn from face landmarks or the person mask, in place on a frame.

A lens reads the current ``(H, W, 3) uint8 BGR`` working frame and a `Scene` (the
tracked faces and the person mask for this frame, `camfilters.face.scene`) and modifies
the frame in place, only where its effect belongs: the face region (from the landmarks'
convex hull, with a feathered edge), the eyes, or the background (outside the person mask). Their geometry and
drawing helpers are in `drawing`; the lens families with modules of their own register at the end.
"""

from __future__ import annotations

import os
from typing import Any, Callable, ClassVar

import cv2
import numpy as np

from filters import Configurable, Option, ParameterError, Registry, composite, in_range
from filters.errors import shorten

from ..images import read_image
from .cover import paste_feathered
from .drawing import (
    EYE_IMAGE_LEFT,
    EYE_IMAGE_RIGHT,
    FACE_OVAL,
    ONE,
    SHIFT,
    TEMPLE_IMAGE_LEFT,
    TEMPLE_IMAGE_RIGHT,
    blend,
    box_around,
    cover_crop,
    fixed_point,
    head_region,
    hidden_picture,
    mesh_connections,
    superellipse,
)
from .scene import Scene
from .segmentation import refine_person


class Lens(Configurable):
    """Base of the lenses: validated keyword options (as filters have) and ``apply(frame, scene)``."""

    help: ClassVar[str] = ""
    needs_faces: ClassVar[bool] = True
    needs_landmarks: ClassVar[bool] = True  # False: draws from face boxes only (every face, from the detector)
    needs_mask: ClassVar[bool] = False
    needs_inner: ClassVar[bool] = False

    @property
    def label(self) -> str:
        return f"lens {self.name}"

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        """Draw the effect into ``frame`` ((H, W, 3) uint8 BGR, modified in place)."""
        raise NotImplementedError


#: Every lens by name, in registration order (the hotkey cycle's order): built-ins, then the
#: plugins of the ``camfilters.lenses`` entry-point group.
LENSES: Registry[type[Lens]] = Registry("lens", Lens, "camfilters.lenses")


def register_lens(name: str) -> Callable[[type[Lens]], type[Lens]]:
    """Class decorator: register a `Lens` subclass under ``name`` (plugins too); a duplicate name raises."""
    return LENSES.register(name)


def parse_lens(spec: str) -> Lens:
    """A lens from ``NAME[:key=value,...]``, the grammar of `filters.spec` (raises ParameterError naming the bad part)."""
    return LENSES.parse(spec)


@register_lens("mesh")
class MeshLens(Lens):
    help = "the face landmark mesh drawn over each face"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._pairs = mesh_connections()

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        for face in scene.landmark_faces():
            xy = face.landmarks[:, :2]
            roi = box_around(xy, 4.0, frame.shape)
            if roi is None:
                continue
            origin = np.array([roi[1].start, roi[0].start], np.float32)
            pts = fixed_point(xy - origin)
            view = frame[roi]
            overlay = view.copy()
            if self._pairs is not None:
                tess, contours = self._pairs
                cv2.polylines(overlay, list(pts[tess]), False, (230, 230, 230), 1, cv2.LINE_AA, SHIFT)
                view[...] = cv2.addWeighted(overlay, 0.4, view, 0.6, 0.0)
                cv2.polylines(view, list(pts[contours]), False, (60, 240, 255), 1, cv2.LINE_AA, SHIFT)
            else:
                for p in pts:
                    cv2.circle(overlay, tuple(map(int, p)), ONE, (160, 220, 120), -1, cv2.LINE_AA, SHIFT)
                view[...] = cv2.addWeighted(overlay, 0.7, view, 0.3, 0.0)
                cv2.polylines(view, [pts[list(FACE_OVAL)]], True, (60, 240, 255), 1, cv2.LINE_AA, SHIFT)


@register_lens("glasses")
class GlassesLens(Lens):
    help = "sunglasses that follow the eyes, tilt and scale with the head"
    options = (Option("tint", float, 0.85, "opacity of the dark lenses, 0..1", in_range(0.0, 1.0)),)

    _FRAME = np.array([28, 24, 22], np.float32)      # frame colour (BGR) from the lens middle down
    _FRAME_TOP = np.array([92, 80, 74], np.float32)  # ... lighter towards its top edge (glossy)
    _SHINE = np.array([235, 232, 228], np.float32)   # reflections
    _TOP = np.array([48, 30, 16], np.float32)        # lens tint at the top (BGR, smoky blue)
    _BOTTOM = np.array([96, 84, 66], np.float32)     # ... and at the bottom
    _LENS_V, _LENS_A, _LENS_B = 0.08, 0.45, 0.36     # lens centre height, half width, half height (eye distances)
    _SS = 4  # supersampling of the drawing: drawn 4x larger with LINE_AA, then INTER_AREA down
    _FAINT = 4.0 / 255.0  # coverage below this is dropped: the footprint must not depend on the picture

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        for face in scene.landmark_faces():
            self._draw(frame, face.landmarks[:, :2])

    def _draw(self, frame: np.ndarray, xy: np.ndarray) -> None:
        left = xy[list(EYE_IMAGE_LEFT)].mean(axis=0)
        right = xy[list(EYE_IMAGE_RIGHT)].mean(axis=0)
        d = float(np.hypot(*(right - left)))
        if d < 4.0:
            return
        ex = (right - left) / d
        ey = np.array([-ex[1], ex[0]], np.float32)
        mid = (left + right) / 2.0
        to_image = lambda uv: mid + d * (uv[:, :1] * ex + uv[:, 1:2] * ey)  # noqa: E731
        v, a, b = self._LENS_V, self._LENS_A, self._LENS_B
        lenses = [to_image(superellipse(cx, v, a, b, count=96)) for cx in (-0.5, 0.5)]
        bridge = to_image(np.array([[-0.09, v - 0.16], [-0.04, v - 0.2], [0.04, v - 0.2], [0.09, v - 0.16]]))
        hinges = to_image(np.array([[-0.5 - a, v - 0.18], [0.5 + a, v - 0.18]]))
        temples = [np.stack([hinges[0], xy[TEMPLE_IMAGE_LEFT]]), np.stack([hinges[1], xy[TEMPLE_IMAGE_RIGHT]])]
        thick = max(1.0, 0.06 * d)
        everything = np.concatenate(lenses + [bridge] + temples)
        roi = box_around(everything, thick + 2.0, frame.shape)
        if roi is None:
            return
        origin = np.array([roi[1].start, roi[0].start], np.float32)
        size = (roi[0].stop - roi[0].start, roi[1].stop - roi[1].start)
        ss = self._SS

        def layer(draw: Callable[[np.ndarray, Callable[[np.ndarray], np.ndarray], Callable[[float], int]], None],
                  blur: float = 0.0) -> np.ndarray:
            """Coverage (h, w, 1) float32 in [0, 1] of ``draw(canvas, pts, width)`` at ``ss`` x, area-averaged."""
            big = np.zeros((size[0] * ss, size[1] * ss), np.uint8)
            draw(big, lambda p: fixed_point((p - origin) * ss), lambda w: max(1, round(w * ss)))
            small = cv2.resize(big, (size[1], size[0]), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
            if blur > 0:
                small = cv2.GaussianBlur(small, (0, 0), blur)
            return small[..., None]

        def lens_fill(c, pts, w):
            cv2.fillPoly(c, [pts(p) for p in lenses], 255, cv2.LINE_AA, SHIFT)

        def rims(c, pts, w):
            cv2.polylines(c, [pts(p) for p in lenses], True, 255, w(thick), cv2.LINE_AA, SHIFT)
            cv2.polylines(c, [pts(bridge)], False, 255, w(0.05 * d), cv2.LINE_AA, SHIFT)
            for t in temples:
                cv2.polylines(c, [pts(t)], False, 255, w(0.045 * d), cv2.LINE_AA, SHIFT)

        def shine(c, pts, w):  # a broad and a thin diagonal reflection across each lens
            for cx in (-0.5, 0.5):
                for band in ([[cx - 0.36, v - 0.06], [cx - 0.12, v - 0.3], [cx + 0.0, v - 0.3], [cx - 0.3, v + 0.04]],
                             [[cx - 0.2, v + 0.14], [cx + 0.08, v - 0.26], [cx + 0.12, v - 0.26], [cx - 0.14, v + 0.16]]):
                    cv2.fillConvexPoly(c, pts(to_image(np.array(band))), 255, cv2.LINE_AA, SHIFT)

        def rim_light(c, pts, w):  # a thin light line along the top of each rim
            for p in lenses:
                i = np.arange(len(p))
                top = p[(i > len(p) // 2 + 8) & (i < len(p) - 8)] - ey * thick * 0.22
                cv2.polylines(c, [pts(top)], False, 255, w(thick / 3.0), cv2.LINE_AA, SHIFT)

        lens_a = layer(lens_fill)
        frame_a = layer(rims)
        shine_a = np.minimum(layer(shine, blur=max(0.6, 0.02 * d)), lens_a) * 0.3
        rim_a = np.minimum(layer(rim_light), frame_a) * 0.55

        # Position across the lens height, in the head's own frame (rotates with it): 0 top, 1 bottom.
        ys, xs = np.mgrid[0:size[0], 0:size[1]].astype(np.float32)
        vv = ((xs + origin[0] - mid[0]) * ey[0] + (ys + origin[1] - mid[1]) * ey[1]) / d
        t = np.clip((vv - (v - b)) / (2.0 * b), 0.0, 1.0)[..., None]
        top = np.clip(1.0 - 2.0 * t, 0.0, 1.0)  # 1 at the top edge, 0 from the lens middle down
        tint = self._TOP + t * (self._BOTTOM - self._TOP)
        rim_colour = self._FRAME + top * (self._FRAME_TOP - self._FRAME)

        view = frame[roi]
        out = view.astype(np.float32)
        for alpha, colour in ((lens_a * self.tint * (1.0 - 0.25 * t), tint), (shine_a, self._SHINE),
                              (frame_a, rim_colour), (rim_a, self._SHINE)):
            alpha[alpha < self._FAINT] = 0.0
            out += alpha * (colour - out)
        view[...] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


class _PrivacyLens(Lens):
    """Hide every face: its whole head (`head_region` times ``scale``) blurred, pixelated or filled.

    Strength follows the face size: the blur sigma is ``strength`` % of the face width and
    pixel blocks are ``1 / blocks`` of it, so a big face gets as unrecognisable as a small
    one. Faces scored below ``threshold`` are left alone; held faces keep their last score.
    """

    needs_landmarks = False
    private = True  # live frames wait for the search that covers them (stage.FaceStage's privacy_delay)
    SOLID = (40, 40, 40)  # BGR fill of mode=solid

    @staticmethod
    def _options(mode: str) -> tuple[Option, ...]:
        return (
            Option("mode", str, mode, "how the head is hidden", choices=("blur", "pixelate", "solid")),
            Option("shape", str, "ellipse", "shape of the hidden region", choices=("ellipse", "box")),
            Option("scale", float, 1.3, "size of the hidden region, times the head", in_range(1.0, 3.0)),
            Option("strength", float, 15.0, "blur sigma in % of the face width (mode=blur)", in_range(8.0, 50.0)),
            Option("blocks", int, 6, "pixel blocks across the face (mode=pixelate)", in_range(2, 8)),
            Option("threshold", float, 0.6, "lowest detection score hidden (lower: fewer misses)",
                   in_range(0.05, 0.95)),
        )

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        for face in scene.faces:
            if face.score >= self.threshold:
                self.cover(frame, face.box)

    def cover(self, frame: np.ndarray, box: tuple[float, float, float, float]) -> None:
        """Hide the head around face ``box`` (x, y, w, h px) in ``frame`` (in place)."""
        w = box[2]
        if w < 1.0:
            return
        cx, cy, a, b = head_region(box, self.scale)
        feather = max(1.0, 0.1 * min(a, b))
        roi = box_around(np.array([[cx - a, cy - b], [cx + a, cy + b]], np.float32), feather + 1.0, frame.shape)
        if roi is None:
            return
        view = frame[roi]
        hidden = hidden_picture(view, self.mode, w / self.blocks, self.strength / 100.0 * w, self.SOLID)
        paste_feathered(view, hidden, (float(roi[1].start), float(roi[0].start)), (cx, cy), (a, b), feather,
                        self.shape == "ellipse")


@register_lens("face-blur")
class FaceBlurLens(_PrivacyLens):
    help = "hide each head under a strong blur (privacy)"
    options = _PrivacyLens._options("blur")


@register_lens("face-pixelate")
class FacePixelateLens(_PrivacyLens):
    help = "hide each head under big pixel blocks (privacy)"
    options = _PrivacyLens._options("pixelate")


@register_lens("big-eyes")
class BigEyesLens(Lens):
    help = "magnify the eyes with a smooth local warp"
    options = (Option("scale", float, 2.0, "magnification at the eye centre", in_range(1.0, 3.0)),)
    _REACH = 1.5  # warp radius, in eye widths (corner to corner)

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        k = 1.0 - 1.0 / self.scale
        for face in scene.landmark_faces():
            xy = face.landmarks[:, :2]
            for eye in (EYE_IMAGE_LEFT, EYE_IMAGE_RIGHT):
                pts = xy[list(eye)]
                centre = pts.mean(axis=0)
                radius = self._REACH * float(np.hypot(*(pts[0] - pts[1])))
                if radius >= 2.0:
                    self._magnify(frame, centre, radius, k)

    @staticmethod
    def _magnify(frame: np.ndarray, centre: np.ndarray, radius: float, k: float) -> None:
        roi = box_around(centre[None], radius + 1.0, frame.shape)
        if roi is None:
            return
        ys, xs = np.mgrid[roi[0], roi[1]].astype(np.float32)
        dx, dy = xs - centre[0], ys - centre[1]
        s2 = np.minimum((dx * dx + dy * dy) / (radius * radius), 1.0)
        # Source radius g(r) = r (1 - k (1 - s^2)^2): magnification 1/(1-k) at the centre,
        # identity with matching slope at the rim.
        factor = 1.0 - k * (1.0 - s2) ** 2
        map_x = centre[0] + dx * factor
        map_y = centre[1] + dy * factor
        # Sample the whole frame (the ROI edge has real neighbours); write only the ROI.
        frame[roi] = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


class _MaskLens(Lens):
    needs_faces = False
    needs_landmarks = False
    needs_mask = True


@register_lens("bg-blur")
class BgBlurLens(_MaskLens):
    help = "blur the background behind the person"
    options = (Option("strength", float, 15.0, "blur sigma in pixels", in_range(1.0, 100.0)),)

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        person = scene.person
        if person is None:
            return
        h, w = frame.shape[:2]
        # Blur at a quarter size, weighted by the background mask and renormalised, so the
        # person's colours do not bleed into the blurred background as a halo.
        f = 4 if self.strength >= 6 else 1
        size = (max(1, w // f), max(1, h // f))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        weight = 1.0 - cv2.resize(person, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        sigma = self.strength / f
        num = cv2.GaussianBlur(small * weight[..., None], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        den = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        small = cv2.convertScaleAbs(num / np.maximum(den, 1e-3)[..., None])
        composite(frame, cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), refine_person(person, frame), frame)


def _parse_colour(text: str) -> tuple[int, int, int]:
    parts = text.replace(",", " ").split()
    try:
        rgb = [int(p) for p in parts]
    except ValueError:
        rgb = []
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise ParameterError(f"lens bg-replace: option color must be three numbers 0..255 'R,G,B', got {shorten(text)!r}")
    return rgb[2], rgb[1], rgb[0]


@register_lens("bg-replace")
class BgReplaceLens(_MaskLens):
    help = "replace the background with a picture or a colour"
    options = (
        Option("image", str, None, "picture file, scaled to cover the frame", optional=True),
        Option("color", str, "0,177,64", "background colour R,G,B or 'R G B' (used without image)"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.image is not None and "color" in options:
            raise ParameterError(f"lens bg-replace: give image or color, not both, got image={self.image!r} and color={self.color!r}")
        self._bgr = _parse_colour(self.color)
        self._picture = None
        if self.image is not None:
            try:
                self._picture = read_image(self.image, cv2.IMREAD_COLOR) if os.path.isfile(self.image) else None
            except ParameterError as exc:
                raise ParameterError(f"lens bg-replace: option image: {exc}") from None
            if self._picture is None:
                raise ParameterError(f"lens bg-replace: option image must be a readable picture file, got {self.image!r}")
        self._background: np.ndarray | None = None

    def background(self, shape: tuple[int, ...]) -> np.ndarray:
        """The ``shape`` (H, W, 3) background: the picture scaled to cover and centre-cropped, or the colour."""
        if self._background is None or self._background.shape != shape:
            h, w = shape[:2]
            if self._picture is None:
                self._background = np.empty(shape, np.uint8)
                self._background[...] = self._bgr
            else:
                self._background = cover_crop(self._picture, (w, h))
        return self._background

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        person = scene.person
        if person is not None:
            composite(frame, self.background(frame.shape), refine_person(person, frame), frame)


@register_lens("face-only")
class FaceOnlyLens(Lens):
    help = "apply the filter chain (--filter) only inside the faces"
    needs_inner = True

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        regions = [scene.face_region(face, frame.shape) for face in scene.faces]
        regions = [r for r in regions if r is not None]
        if not regions:
            return
        filtered = scene.inner.process(frame, scene.timestamp)
        for roi, alpha in regions:
            blend(frame[roi], filtered[roi], alpha)


@register_lens("bg-only")
class BgOnlyLens(_MaskLens):
    help = "apply the filter chain (--filter) only to the background, not the person"
    needs_inner = True

    def apply(self, frame: np.ndarray, scene: Scene) -> None:
        person = scene.person
        if person is not None:
            composite(frame, scene.inner.process(frame, scene.timestamp), person, frame)


def drawing_order(lenses: Any) -> list[Lens]:
    """``lenses`` in the order they draw: modifiers (which compose the filtered frame) first, then the
    lenses drawing on top, a reframing lens (autoframe) last."""
    return sorted(lenses, key=lambda lens: (not lens.needs_inner, getattr(lens, "reframes", False)))


def cycle_order() -> list[str]:
    """Every lens name in the hotkey cycle's order: the built-ins above, the families kept in their own
    modules of this package by name, then plugins, each group in registration order.

    Not plain registration order: which family module registers first depends on which one was imported first.
    """
    def group(name: str) -> int:
        module = LENSES.get_class(name).__module__
        return 0 if module == __name__ else 1 if module.startswith(__package__ + ".") else 2

    return sorted(LENSES.names(), key=lambda name: (group(name), name if group(name) == 1 else ""))


# The lens families kept in their own modules register on import, after the built-ins above.
from . import autoframe, beauty, light, packs  # noqa: E402,F401
