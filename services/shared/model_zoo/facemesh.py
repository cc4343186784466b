"""MediaPipe FaceMesh: 468 3-D points for one face, on a crop rotated so the eyes are level."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.model_zoo.yunet import DetectedFace
from services.shared.runtime import LiteModel

FACEMESH_INPUT_SIZE = 192
FACEMESH_ROI_SCALE = 1.5
FACEMESH_POINTS = 468


def facemesh_roi(face: DetectedFace) -> NDArray[np.float64]:
    """2x3 affine from image pixels to the 192x192 mesh input, rotated so the eyes are level."""
    left_eye, right_eye = face.landmarks[0], face.landmarks[1]
    angle = float(np.arctan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))
    x, y, w, h = face.box
    centre = np.array([x + w / 2, y + h / 2])
    side = max(w, h) * FACEMESH_ROI_SCALE
    scale = FACEMESH_INPUT_SIZE / side
    cos, sin = np.cos(-angle) * scale, np.sin(-angle) * scale
    rotation = np.array([[cos, -sin], [sin, cos]])
    offset = FACEMESH_INPUT_SIZE / 2 - rotation @ centre
    return np.hstack([rotation, offset[:, None]])


class FaceMesh(ZooModel):
    """MediaPipe FaceMesh: 468 3-D points for one face."""

    task = "landmarks"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, FACEMESH_INPUT_SIZE, FACEMESH_INPUT_SIZE, 3))
        self.points_output = self.output_with_last_dim(FACEMESH_POINTS * 3)

    def warm_up(self) -> None:
        """Landmarks of a made-up face on a blank frame."""
        face = DetectedFace(
            box=np.array([270.0, 190.0, 100.0, 100.0]),
            score=1.0,
            landmarks=np.array(
                [[300.0, 230.0], [340.0, 230.0], [320.0, 250.0], [305, 270], [335, 270]]
            ),
        )
        self.landmarks(np.zeros((480, 640, 3), dtype=np.uint8), face)

    def landmarks(self, image_rgb: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.float64]:
        """(468, 3) points in original pixels; z in the same pixel scale."""
        matrix = facemesh_roi(face)
        crop = cv2.warpAffine(
            image_rgb,
            matrix,
            (FACEMESH_INPUT_SIZE, FACEMESH_INPUT_SIZE),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        tensor = (crop.astype(np.float32) / 255.0)[np.newaxis]
        output = self.runtime.run(**{self.runtime.input_name: tensor})[self.points_output]
        points = output.reshape(FACEMESH_POINTS, 3).astype(np.float64)
        inverse = cv2.invertAffineTransform(matrix)
        xy = points[:, :2] @ inverse[:, :2].T + inverse[:, 2]
        scale = float(np.sqrt(abs(np.linalg.det(inverse[:, :2]))))
        return np.hstack([xy, points[:, 2:3] * scale])
