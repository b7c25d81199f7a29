"""Person mask: MediaPipe ImageSegmenter (selfie model, VIDEO mode), motion-aware temporal
smoothing, and an edge refinement guided by the frame (`refine_person`)."""

from __future__ import annotations

import cv2
import numpy as np


class MaskSmoother:
    """Motion-aware exponential smoothing of successive ``(h, w) float32`` masks.

    ``alpha`` in (0, 1] is the weight of the new mask where the picture is still; where the
    frame passed to ``__call__`` changed since the previous one (grey level difference,
    dilated by a few pixels, reaching ``motion`` levels) the new mask is taken whole, so a
    moving person leaves no ghost of their previous position. Without frames it is a plain
    EMA. The state restarts when the mask size changes.
    """

    def __init__(self, alpha: float = 0.5, *, motion: float = 12.0) -> None:
        self.alpha = alpha
        self.motion = motion
        self._state: np.ndarray | None = None
        self._grey: np.ndarray | None = None

    def __call__(self, mask: np.ndarray, frame: np.ndarray | None = None) -> np.ndarray:
        """The smoothed mask; ``frame`` is the (h, w, 3) uint8 picture ``mask`` was computed from."""
        grey = None
        if frame is not None:
            grey = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
        if self._state is None or self._state.shape != mask.shape:
            self._state = mask.astype(np.float32, copy=True)
        elif grey is not None and self._grey is not None and self._grey.shape == grey.shape:
            moved = cv2.absdiff(grey, self._grey).astype(np.float32) * (1.0 / self.motion)
            radius = max(1, mask.shape[1] // 160)
            moved = cv2.dilate(moved, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
            weight = self.alpha + (1.0 - self.alpha) * np.minimum(moved, 1.0)
            self._state += weight * (mask - self._state)
        else:
            cv2.addWeighted(mask, self.alpha, self._state, 1.0 - self.alpha, 0.0, dst=self._state)
        self._grey = grey
        return self._state.copy()


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(image, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT_101)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter of ``src`` by the grey ``guide``, both (h, w) float32 in [0, 1].

    The output is locally ``a * guide + b`` over windows of ``2 radius + 1`` px, so its edges
    follow the guide's; ``eps`` (in guide variance units) sets how strong an edge must be.
    """
    mean_i, mean_p = _box(guide, radius), _box(src, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    cov_ip = _box(guide * src, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return _box(a, radius) * guide + _box(b, radius)


def refine_person(person: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """A tighter, edge-aware copy of the person weight ``person`` ((H, W) uint8, 255 = person).

    The soft upscaled model edge is made steep around its middle and pulled in by about
    1/400 of the frame width (that is where the light halo of the old background sat), then
    snapped to the picture's edges with a guided filter driven by ``frame`` ((H, W, 3) uint8
    BGR). The filter runs at half size on large frames (the fast guided filter), so it costs
    a few box filters.
    """
    h, w = person.shape
    f = 2 if w > 800 else 1
    size = (max(1, w // f), max(1, h // f))
    p = cv2.resize(person, size, interpolation=cv2.INTER_AREA).astype(np.float32) * (1.0 / 255.0)
    p = np.clip((p - 0.62) * 3.0 + 0.5, 0.0, 1.0)  # steep ramp, its middle moved inside the old edge
    guide = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), size, interpolation=cv2.INTER_AREA)
    guide = guide.astype(np.float32) * (1.0 / 255.0)
    radius = max(2, size[0] // 160)
    q = guided_filter(guide, p, radius, 1e-3)
    q = cv2.convertScaleAbs(np.maximum((q - 0.5) * 1.6 + 0.5, 0.0), alpha=255.0)  # steeper, to uint8 (saturates)
    return cv2.resize(q, (w, h), interpolation=cv2.INTER_LINEAR) if f != 1 else q


class Segmenter:
    """Selfie segmentation of RGB frames: person confidence in [0, 1] per pixel, smoothed over time."""

    def __init__(self, model_path: str, *, smoothing: float = 0.5) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO,
            output_confidence_masks=True,
            output_category_mask=False,
        )
        self._task = vision.ImageSegmenter.create_from_options(options)
        self._smooth = MaskSmoother(smoothing)
        self._last_ms = -1

    def segment(self, rgb: np.ndarray, timestamp_ms: int) -> np.ndarray:
        """The smoothed person mask of ``rgb`` ((h, w, 3) uint8 RGB) as ``(h, w) float32`` in [0, 1]."""
        import mediapipe as mp

        timestamp_ms = max(int(timestamp_ms), self._last_ms + 1)
        self._last_ms = timestamp_ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._task.segment_for_video(image, timestamp_ms)
        mask = np.array(result.confidence_masks[0].numpy_view(), np.float32).reshape(rgb.shape[:2])
        np.clip(mask, 0.0, 1.0, out=mask)
        return self._smooth(mask, rgb)

    def close(self) -> None:
        if self._task is not None:
            self._task.close()
            self._task = None
