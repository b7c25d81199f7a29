"""Person mask: MediaPipe ImageSegmenter (selfie model, VIDEO mode) with temporal smoothing."""

from __future__ import annotations

import cv2
import numpy as np


class MaskSmoother:
    """Exponential smoothing of successive ``(h, w) float32`` masks to stop edge flicker.

    ``alpha`` in (0, 1] is the weight of the new mask; the state restarts when the
    mask size changes.
    """

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = alpha
        self._state: np.ndarray | None = None

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        if self._state is None or self._state.shape != mask.shape:
            self._state = mask.astype(np.float32, copy=True)
        else:
            cv2.addWeighted(mask, self.alpha, self._state, 1.0 - self.alpha, 0.0, dst=self._state)
        return self._state.copy()


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
        return self._smooth(mask)

    def close(self) -> None:
        if self._task is not None:
            self._task.close()
            self._task = None
