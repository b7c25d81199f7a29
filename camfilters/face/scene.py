"""`Scene`: what the lenses of one frame draw from, the tracked faces and the person mask.

The face stage (live) and the offline look-back make one per frame; the effects grid one
per pane. The masks derived from it (a face's feathered hull) are computed on first use and
shared by every lens drawing that frame.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .drawing import SHIFT, box_around, fixed_point
from .tracking import Face

__all__ = ["Scene"]


class Scene:
    """What the lenses of one frame draw from: the faces, the person mask, and derived masks (cached).

    ``person`` is the person's ``(H, W) uint8`` weight (255 = person, soft edges), or None
    before the first mask.
    """

    def __init__(self, faces: list[Face], person: np.ndarray | None, timestamp: float,
                 inner: Any = None) -> None:
        self.faces = faces
        self.timestamp = timestamp
        self.inner = inner
        self.person = person
        self._hulls: dict[int, tuple[tuple[slice, slice], np.ndarray] | None] = {}

    def face_region(self, face: Face, shape: tuple[int, ...]) -> tuple[tuple[slice, slice], np.ndarray] | None:
        """(ROI slices, ``(h, w) float32`` alpha) of ``face``'s feathered convex hull, or None if off-frame
        or without landmarks."""
        if face.landmarks is None:
            return None
        if face.track_id not in self._hulls:
            xy = face.landmarks[:, :2]
            feather = max(1.0, 0.03 * face.width)
            roi = box_around(xy, 3.0 * feather + 2.0, shape)
            region = None
            if roi is not None:
                origin = np.array([roi[1].start, roi[0].start], np.float32)
                hull = cv2.convexHull(fixed_point(xy - origin))
                alpha = np.zeros((roi[0].stop - roi[0].start, roi[1].stop - roi[1].start), np.float32)
                cv2.fillConvexPoly(alpha, hull, 1.0, cv2.LINE_AA, SHIFT)
                region = roi, cv2.GaussianBlur(alpha, (0, 0), feather)
            self._hulls[face.track_id] = region
        return self._hulls[face.track_id]

    def landmark_faces(self) -> list[Face]:
        """The faces that have landmarks (the landmark lenses draw on these only)."""
        return [face for face in self.faces if face.landmarks is not None]
