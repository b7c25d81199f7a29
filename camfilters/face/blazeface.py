"""BlazeFace on the LiteRT interpreter: the model run on the calling thread, its output decoded as MediaPipe does.

MediaPipe's FaceDetector task runs each image through a calculator graph on threads of its own; a
look at a face costs 1.8 ms that way and 1.1 ms here (a 192 px tile, 4.2 and 3.4 ms), since the
image is already the model's size. The decoding follows MediaPipe's face detector graph: SSD
anchors with fixed size (`anchors`), box and keypoint offsets scaled by the input side, sigmoid
scores, and weighted non-maximum suppression (overlapping boxes averaged by score);
``tests/face/test_blazeface.py`` checks it against the MediaPipe task on real photos.
"""

from __future__ import annotations

import cv2
import numpy as np

from .detect import Detection

# Input side (px): (feature-map strides, anchors per cell for each stride's layer) of the two BlazeFace models.
ANCHORS = {128: ((8, 16, 16, 16), 2), 192: ((4,), 1)}
KEYPOINTS = 6
_UNIT = (np.arange(256, dtype=np.float32) / np.float32(127.5) - 1).reshape(1, 256)  # uint8 -> [-1, 1], the models' range


def anchors(side: int) -> np.ndarray:
    """``(N, 2) float32`` anchor centres (x, y) in [0, 1] for a model of ``side`` px input, in its output order:
    for each stride (the layers of equal stride merged), row by row, the cell's anchors."""
    strides, per_layer = ANCHORS[side]
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        cells = -(-side // strides[i])
        grid = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1).reshape(-1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, per_layer * (j - i), axis=0))
        i = j
    return np.concatenate(centres).astype(np.float32)


class BlazeFace:
    """One BlazeFace model (MediaPipe's short-range, 128 px, or full-range, 192 px) on RGB images.

    Raises ValueError when ``model_path`` is a model of another kind. Not thread-safe: one per thread.
    """

    def __init__(self, model_path: str, *, min_score: float = 0.6, suppression: float = 0.3) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from camfilters.capture import _quiet_opencv as quiet_stderr  # fd 2 silenced, the one copy of that

        with quiet_stderr():  # "Created TensorFlow Lite XNNPACK delegate", and a line per sparse tensor
            try:
                self._model = Interpreter(model_path=str(model_path), num_threads=1)
                self._model.allocate_tensors()
            except (ValueError, RuntimeError):
                raise ValueError("not a TensorFlow Lite model") from None
        [image] = self._model.get_input_details()
        outputs = {tuple(o["shape"][1:]): o["index"] for o in self._model.get_output_details()}
        self.side = int(image["shape"][1])
        if tuple(image["shape"]) != (1, self.side, self.side, 3) or self.side not in ANCHORS:
            raise ValueError("not a MediaPipe face detector model (BlazeFace .tflite, 128 or 192 px input)")
        self._anchors = anchors(self.side)
        n = len(self._anchors)
        if (n, 4 + 2 * KEYPOINTS) not in outputs or (n, 1) not in outputs:
            raise ValueError("not a MediaPipe face detector model (BlazeFace .tflite: its outputs differ)")
        self._input, self._boxes, self._scores = image["index"], outputs[n, 4 + 2 * KEYPOINTS], outputs[n, 1]
        self.min_score = min_score
        self.suppression = suppression
        # Scores compared before the sigmoid: logit(min_score).
        self._threshold = float(np.log(min_score / (1.0 - min_score))) if 0 < min_score < 1 else -np.inf

    def detect(self, rgb: np.ndarray, origin: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> list[Detection]:
        """Faces in ``rgb`` ((h, w, 3) uint8 RGB), mapped to the frame as ``origin + scale * (x, y)``. An image
        not of the model's size is scaled to fit it and centred, as MediaPipe letterboxes it."""
        h, w = rgb.shape[:2]
        side = self.side
        if (h, w) == (side, side):
            fit, pad, k = rgb, (0.0, 0.0), 1.0
        else:
            k = side / max(h, w)
            fit = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_LINEAR)
            pad = ((side - fit.shape[1]) / 2, (side - fit.shape[0]) / 2)
            top, left = int(pad[1]), int(pad[0])
            fit = cv2.copyMakeBorder(fit, top, side - fit.shape[0] - top, left, side - fit.shape[1] - left,
                                     cv2.BORDER_CONSTANT, value=(0, 0, 0))
            pad = (left, top)
        # Written into the interpreter's own input, and the outputs read from its own: the numpy views must be
        # gone before the next invoke (LiteRT refuses to run while one is held).
        tensor = self._model.tensor(self._input)()
        cv2.LUT(fit, _UNIT, dst=tensor[0])
        del tensor
        self._model.invoke()
        logits = self._model.tensor(self._scores)()[0, :, 0]
        hits = np.flatnonzero(logits >= self._threshold)
        if not len(hits):
            return []
        logits = logits[hits]
        raw = self._model.tensor(self._boxes)()[0, hits]  # fancy indexing: copies
        centres = self._anchors[hits]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))
        points = raw[:, 4:].reshape(-1, KEYPOINTS, 2) + centres[:, None] * side  # input px
        mid = raw[:, :2] + centres * side
        boxes = np.concatenate([mid - raw[:, 2:4] / 2, mid + raw[:, 2:4] / 2], axis=1)  # x0, y0, x1, y1 input px
        ox, oy = origin
        found = []
        for box, score, keypoints in _weighted_nms(boxes, scores, points, self.suppression):
            x0, y0, x1, y1 = ((box - np.tile(pad, 2)) * (scale / k)).tolist()
            keypoints = (keypoints - pad) * (scale / k) + (ox, oy)
            found.append(Detection((ox + x0, oy + y0, x1 - x0, y1 - y0), float(score), keypoints.astype(np.float32)))
        return found

    def close(self) -> None:
        self._model = None


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray, points: np.ndarray,
                  suppression: float) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """MediaPipe's weighted non-maximum suppression: best score first, each with the boxes overlapping it by
    more than ``suppression`` (IoU) averaged in, weighted by score; (box x0 y0 x1 y1, score, keypoints)."""
    areas = np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 0), axis=1)
    left = np.argsort(-scores, kind="stable")
    out = []
    while len(left):
        best = boxes[left[0]]
        inter = np.prod(np.maximum(np.minimum(boxes[left, 2:], best[2:]) - np.maximum(boxes[left, :2], best[:2]), 0),
                        axis=1)
        iou = inter / np.maximum(areas[left] + areas[left[0]] - inter, 1e-9)
        group, left = left[iou > suppression], left[iou <= suppression]
        if not len(group):  # a degenerate box (no area): itself alone
            group, left = left[:1], left[1:]
        weights = scores[group] / scores[group].sum()
        out.append((weights @ boxes[group], scores[group[0]], np.tensordot(weights, points[group], 1)))
    return out
