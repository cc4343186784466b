"""The shared ``faceflow.common.v1`` messages built from the services' results: a detected
``Face`` (detection, liveness) and a face's ``Quality`` (embedding, attributes)."""

from __future__ import annotations

import numpy as np
from faceflow.common.v1 import common_pb2
from numpy.typing import NDArray

from services.shared.alignment import ALIGNED_SIZE, align_face
from services.shared.model_zoo import DetectedFace
from services.shared.quality import QualityReport


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
