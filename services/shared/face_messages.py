"""The shared ``faceflow.common.v1`` messages built from the services' results: a detected
``Face`` (detection, liveness) and a face's ``Quality`` (embedding, attributes); and the one
validation of a ``Face`` a caller sends in (attributes, embedding), ``face_from_proto``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from faceflow.common.v1 import common_pb2
from numpy.typing import NDArray

from services.shared.alignment import ALIGNED_SIZE, align_face
from services.shared.errors import InvalidArgumentError
from services.shared.model_zoo import DetectedFace
from services.shared.model_zoo.facemesh import FACEMESH_POINTS
from services.shared.quality import QualityReport

MAX_BOX_TO_IMAGE = 2
"""A caller's box may reach past the image (a face at its edge), but its side may be at most
this many times the image's longer side: the attribute crops allocate the box's size."""


def _point(xy: NDArray[np.float64]) -> common_pb2.Point:
    return common_pb2.Point(x=float(xy[0]), y=float(xy[1]))


def face_to_proto(
    face: DetectedFace, image_rgb: NDArray[np.uint8], with_crop: bool
) -> common_pb2.Face:
    """Convert one detected face to its message, with the optional extras."""
    x, y, w, h = (float(v) for v in face.box)
    message = common_pb2.Face(
        box=common_pb2.BoundingBox(x=x, y=y, width=w, height=h),
        score=face.score,
        landmarks=common_pb2.Landmarks5(
            left_eye=_point(face.landmarks[0]),
            right_eye=_point(face.landmarks[1]),
            nose=_point(face.landmarks[2]),
            mouth_left=_point(face.landmarks[3]),
            mouth_right=_point(face.landmarks[4]),
        ),
    )
    if face.mesh is not None:
        message.mesh.extend(
            common_pb2.Point3(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in face.mesh
        )
    if with_crop:
        crop = align_face(image_rgb, face.landmarks)
        message.aligned_crop.CopyFrom(common_pb2.AlignedCrop(size=ALIGNED_SIZE, rgb=crop.tobytes()))
    return message


def quality_to_proto(report: QualityReport) -> common_pb2.Quality:
    """One face's quality measures (eyes/mouth open are added by the caller that has a mesh)."""
    return common_pb2.Quality(
        score=report.score,
        blur=report.blur,
        brightness=report.brightness,
        face_size=report.face_size,
        yaw=report.yaw,
        pitch=report.pitch,
        roll=report.roll,
    )


def landmarks_from_proto(face: common_pb2.Face) -> NDArray[np.float64]:
    """The five landmarks of a Face message as a (5, 2) array (the order of ``face_to_proto``)."""
    marks = face.landmarks
    points = (marks.left_eye, marks.right_eye, marks.nose, marks.mouth_left, marks.mouth_right)
    return np.array([[p.x, p.y] for p in points], dtype=np.float64)


@dataclass(frozen=True)
class FaceInput:
    """One face a caller sent, as the models need it, in original image pixels."""

    box: NDArray[np.float64]  # x, y, width, height
    landmarks: NDArray[np.float64]  # (5, 2)
    mesh: NDArray[np.float64] | None  # (468, 3) or None

    @property
    def size(self) -> float:
        """The shorter side of the box, pixels."""
        return float(min(self.box[2], self.box[3]))


def face_from_proto(
    face: common_pb2.Face, where: str, image_size: tuple[int, int] | None = None
) -> FaceInput:
    """Validate a caller's face message (``where`` names it in errors): a finite box of positive
    size (on the image, when its (width, height) is given), five finite landmarks with the eyes
    apart, no mesh or a whole finite one. Anything else is INVALID_ARGUMENT."""
    if not face.HasField("box"):
        raise InvalidArgumentError(f"{where}.box is missing")
    box = np.array([face.box.x, face.box.y, face.box.width, face.box.height], dtype=np.float64)
    if not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
        raise InvalidArgumentError(f"{where}.box must have a positive width and height")
    if image_size is not None:
        width, height = image_size
        inside_width = min(box[0] + box[2], width) - max(box[0], 0.0)
        inside_height = min(box[1] + box[3], height) - max(box[1], 0.0)
        if inside_width < 1 or inside_height < 1:  # not one whole pixel of the image inside
            raise InvalidArgumentError(f"{where}.box lies outside the {width}x{height} image")
        if max(box[2], box[3]) > MAX_BOX_TO_IMAGE * max(width, height):  # crops are its size
            raise InvalidArgumentError(
                f"{where}.box is more than {MAX_BOX_TO_IMAGE} times the {width}x{height} image"
            )
    if not face.HasField("landmarks"):
        raise InvalidArgumentError(f"{where}.landmarks are missing (five points are required)")
    landmarks = landmarks_from_proto(face)
    if not np.isfinite(landmarks).all():
        raise InvalidArgumentError(f"{where}.landmarks must be finite numbers")
    if float(np.linalg.norm(landmarks[1] - landmarks[0])) < 1e-3:
        raise InvalidArgumentError(f"{where}.landmarks: the two eyes coincide")
    mesh = None
    if len(face.mesh):
        if len(face.mesh) != FACEMESH_POINTS:
            raise InvalidArgumentError(
                f"{where}.mesh has {len(face.mesh)} points; expected {FACEMESH_POINTS} or none"
            )
        mesh = np.array([[p.x, p.y, p.z] for p in face.mesh], dtype=np.float64)
        if not np.isfinite(mesh).all():
            raise InvalidArgumentError(f"{where}.mesh must be finite numbers")
    return FaceInput(box=box, landmarks=landmarks, mesh=mesh)
