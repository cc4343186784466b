"""YuNet 2023mar: face boxes and 5 landmarks.

YuNet runs on a fixed 640x640 input:
the photo is letterboxed (scaled to fit, padded right/bottom with zeros) so coordinates map back
by one division. Decoding follows OpenCV's ``FaceDetectorYN`` (2023mar heads: cls, obj, bbox,
kps per stride) and NMS uses the same ``cv2.dnn.NMSBoxes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.runtime import LiteModel

YUNET_INPUT_SIZE = 640
YUNET_STRIDES = (8, 16, 32)
YUNET_TOP_K = 5000


@dataclass
class DetectedFace:
    """One face in original image pixels."""

    box: NDArray[np.float64]  # x, y, width, height
    score: float
    landmarks: NDArray[np.float64]  # (5, 2): image-left eye, image-right eye, nose, mouth l/r
    mesh: NDArray[np.float64] | None = field(default=None)  # (468, 3)

    @property
    def area(self) -> float:
        """Box area in pixels."""
        return float(self.box[2] * self.box[3])


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the square model input."""

    scale: float
    tensor: NDArray[np.float32]


def letterbox_bgr(
    image_rgb: NDArray[np.uint8], size: int = YUNET_INPUT_SIZE, upscale: bool = True
) -> Letterbox:
    """Scale to fit size x size keeping aspect, pad right/bottom with 0; BGR float32 0-255.

    With upscale=False a photo smaller than the input is padded, not enlarged, so the detector
    sees faces at their real resolution, as OpenCV's FaceDetectorYN at native size does. That
    is better for recognition (LFW View-1 verification 98.8% native vs 98.1% enlarged 2.56x,
    docs/embedding.md) but worse for landmark-based head pose on small photos, so recognition
    asks for it and the default enlarges.
    """
    height, width = image_rgb.shape[:2]
    scale = min(size / width, size / height)
    if not upscale:
        scale = min(1.0, scale)
    new_w = max(1, min(size, round(width * scale)))
    new_h = max(1, min(size, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image_rgb, (new_w, new_h), interpolation=interpolation)
    bgr = cv2.cvtColor(resized, cv2.COLOR_RGB2BGR)
    padded = cv2.copyMakeBorder(
        bgr, 0, size - new_h, 0, size - new_w, cv2.BORDER_CONSTANT, value=(0, 0, 0)
    )
    return Letterbox(scale=scale, tensor=padded.astype(np.float32)[np.newaxis])


def decode_yunet(
    outputs: dict[str, NDArray[np.float32]],
    size: int = YUNET_INPUT_SIZE,
    min_score: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Raw heads -> (boxes (N,4) xywh, scores (N,), landmarks (N,5,2)) in input pixels.

    Only anchors scoring at least min_score are decoded (scores are computed first, cheaply).
    """
    all_boxes, all_scores, all_landmarks = [], [], []
    for stride in YUNET_STRIDES:
        cols = size // stride
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0.0, 1.0).astype(np.float64)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0.0, 1.0).astype(np.float64)
        scores = np.sqrt(cls * obj)
        keep = np.flatnonzero(scores >= min_score)
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[keep].astype(np.float64)
        kps = outputs[f"kps_{stride}"].reshape(-1, 10)[keep].astype(np.float64)
        grid_y, grid_x = np.divmod(keep, cols)
        centre_x = (grid_x + bbox[:, 0]) * stride
        centre_y = (grid_y + bbox[:, 1]) * stride
        width = np.exp(bbox[:, 2]) * stride
        height = np.exp(bbox[:, 3]) * stride
        all_boxes.append(np.stack([centre_x - width / 2, centre_y - height / 2, width, height], 1))
        all_scores.append(scores[keep])
        points = kps.reshape(-1, 5, 2)
        landmarks = np.empty_like(points)
        landmarks[:, :, 0] = (points[:, :, 0] + grid_x[:, None]) * stride
        landmarks[:, :, 1] = (points[:, :, 1] + grid_y[:, None]) * stride
        all_landmarks.append(landmarks)
    return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_landmarks)


class YuNetDetector(ZooModel):
    """YuNet 2023mar through LiteRT; thresholds from the manifest's params."""

    task = "detection"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, YUNET_INPUT_SIZE, YUNET_INPUT_SIZE, 3))
        self.score_threshold = self.float_param("score_threshold", 0.0, 1.0)
        self.nms_threshold = self.float_param("nms_threshold", 0.0, 1.0)

    def raw_outputs(self, tensor: NDArray[np.float32]) -> dict[str, NDArray[np.float32]]:
        """Run the network on a (1, 640, 640, 3) BGR tensor."""
        return self.runtime.run(**{self.runtime.input_name: tensor})

    def warm_up(self) -> None:
        """One detection on a blank VGA frame."""
        self.detect(np.zeros((480, 640, 3), dtype=np.uint8))

    def detect(
        self,
        image_rgb: NDArray[np.uint8],
        score_threshold: float | None = None,
        upscale: bool = True,
    ) -> list[DetectedFace]:
        """Faces in original pixels, highest score first (after NMS); see letterbox_bgr."""
        threshold = self.score_threshold if score_threshold is None else score_threshold
        letterbox = letterbox_bgr(image_rgb, upscale=upscale)
        outputs = self.raw_outputs(letterbox.tensor)
        boxes, scores, landmarks = decode_yunet(outputs, min_score=threshold)
        keep = cv2.dnn.NMSBoxes(
            boxes.tolist(), scores.tolist(), threshold, self.nms_threshold, top_k=YUNET_TOP_K
        )
        height, width = image_rgb.shape[:2]
        faces = []
        for index in np.asarray(keep, dtype=np.int64).reshape(-1):
            box = boxes[index] / letterbox.scale
            x1, y1 = max(0.0, box[0]), max(0.0, box[1])
            x2, y2 = min(float(width), box[0] + box[2]), min(float(height), box[1] + box[3])
            if x2 <= x1 or y2 <= y1:
                continue
            faces.append(
                DetectedFace(
                    box=np.array([x1, y1, x2 - x1, y2 - y1]),
                    score=float(scores[index]),
                    landmarks=landmarks[index] / letterbox.scale,
                )
            )
        return faces
