"""Orchestration of recognition: detect (with aligned crops) -> embed / match / enroll.

The detection service finds the faces and returns each one's 112x112 aligned crop; the
embedding service embeds the crops and matches them against the caller's tenant only. Every
call passes ``tenant.tenant_id``.
"""

from __future__ import annotations

from typing import Literal

from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2
from faceflow.embedding.v1 import embedding_pb2

from gateway.core.clients import ServiceClients
from gateway.core.errors import ApiError, no_face
from gateway.orchestration import pipeline

QualityControl = Literal["NONE", "LOW", "NORMAL", "HIGH"]
QUALITY_CONTROL: dict[QualityControl, embedding_pb2.QualityControl] = {
    "NONE": embedding_pb2.QUALITY_CONTROL_NONE,
    "LOW": embedding_pb2.QUALITY_CONTROL_LOW,
    "NORMAL": embedding_pb2.QUALITY_CONTROL_NORMAL,
    "HIGH": embedding_pb2.QUALITY_CONTROL_HIGH,
}
FaceSelection = Literal["largest", "center"]
FACE_SELECTION: dict[FaceSelection, detection_pb2.FaceOrder] = {
    "largest": detection_pb2.FACE_ORDER_LARGEST,
    "center": detection_pb2.FACE_ORDER_CENTER,
}
MAX_SEARCH_FACES = 20


async def detect_with_crops(
    clients: ServiceClients,
    image: bytes,
    max_faces: int,
    order: detection_pb2.FaceOrder = detection_pb2.FACE_ORDER_LARGEST,
) -> detection_pb2.DetectResponse:
    """Faces in ``order`` (largest first by default), each with its aligned crop; NO_FACE
    when there is none."""
    detection = await pipeline.detect(
        clients,
        image,
        max_faces=max_faces,
        include_aligned_crops=True,
        keep_native_scale=True,
        order=order,
    )
    if not detection.faces:
        raise no_face()
    return detection


def pick_face(
    detection: detection_pb2.DetectResponse, face_index: int, field: str = "image"
) -> common_pb2.Face:
    """The face at face_index in the detection's order (0 = the first: by default the largest)."""
    if face_index >= len(detection.faces):
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            f"face_index {face_index} is out of range: "
            f"'{field}' has {len(detection.faces)} face(s)",
        )
    face: common_pb2.Face = detection.faces[face_index]
    return face


def crop_probe(face: common_pb2.Face) -> embedding_pb2.Probe:
    """A verify/search probe from a detected face's aligned crop."""
    return embedding_pb2.Probe(crop=face.aligned_crop)


def user_probe(user: embedding_pb2.UserRef) -> embedding_pb2.Probe:
    """A verify probe naming a stored user."""
    return embedding_pb2.Probe(user=user)
