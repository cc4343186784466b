"""Turn the request's detected faces into arrays, rejecting malformed ones with a clear error."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from faceflow.common.v1 import common_pb2
from numpy.typing import NDArray

from services.shared.errors import InvalidArgumentError

MESH_POINTS = 468
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class FaceInput:
    """One face as the models need it, in original image pixels."""

    box: NDArray[np.float64]  # x, y, width, height
    landmarks: NDArray[np.float64]  # (5, 2)
    mesh: NDArray[np.float64] | None  # (468, 3) or None

    @property
    def size(self) -> float:
        """The shorter side of the box, pixels."""
        return float(min(self.box[2], self.box[3]))


def face_from_proto(face: common_pb2.Face, index: int, width: int, height: int) -> FaceInput:
    """Validate one face message against the decoded image's size."""
    where = f"faces[{index}]"
    if not face.HasField("box"):
        raise InvalidArgumentError(f"{where}.box is missing")
    box = np.array([face.box.x, face.box.y, face.box.width, face.box.height], dtype=np.float64)
    if not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
        raise InvalidArgumentError(f"{where}.box must have a positive width and height")
    inside_width = min(box[0] + box[2], width) - max(box[0], 0.0)
    inside_height = min(box[1] + box[3], height) - max(box[1], 0.0)
    if inside_width < 1 or inside_height < 1:  # not one whole pixel of the image inside
        raise InvalidArgumentError(f"{where}.box lies outside the {width}x{height} image")
    if not face.HasField("landmarks"):
        raise InvalidArgumentError(f"{where}.landmarks are missing (five points are required)")
    marks = face.landmarks
    landmarks = np.array(
        [[getattr(marks, name).x, getattr(marks, name).y] for name in LANDMARK_NAMES],
        dtype=np.float64,
    )
    if not np.isfinite(landmarks).all():
        raise InvalidArgumentError(f"{where}.landmarks must be finite numbers")
    if float(np.linalg.norm(landmarks[1] - landmarks[0])) < 1e-3:
        raise InvalidArgumentError(f"{where}.landmarks: the two eyes coincide")
    mesh = None
    if len(face.mesh):
        if len(face.mesh) != MESH_POINTS:
            raise InvalidArgumentError(
                f"{where}.mesh has {len(face.mesh)} points; expected {MESH_POINTS} or none"
            )
        mesh = np.array([[p.x, p.y, p.z] for p in face.mesh], dtype=np.float64)
        if not np.isfinite(mesh).all():
            raise InvalidArgumentError(f"{where}.mesh must be finite numbers")
    return FaceInput(box=box, landmarks=landmarks, mesh=mesh)
