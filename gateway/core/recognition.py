"""Orchestration of recognition: detect (with aligned crops) -> embed / match / enroll.

The detection service finds the faces and returns each one's 112x112 aligned crop; the
embedding service embeds the crops and matches them against the caller's tenant only. Every
call passes ``tenant.tenant_id``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2
from faceflow.embedding.v1 import embedding_pb2

from gateway.core import pipeline
from gateway.core.clients import ServiceClients
from gateway.core.errors import ApiError, no_face

QUALITY_CONTROL: dict[str, embedding_pb2.QualityControl] = {
    "NONE": embedding_pb2.QUALITY_CONTROL_NONE,
    "LOW": embedding_pb2.QUALITY_CONTROL_LOW,
    "NORMAL": embedding_pb2.QUALITY_CONTROL_NORMAL,
    "HIGH": embedding_pb2.QUALITY_CONTROL_HIGH,
}
T = TypeVar("T")

MAX_SEARCH_FACES = 20
FACE_SELECTION: dict[str, detection_pb2.FaceOrder] = {
    "largest": detection_pb2.FACE_ORDER_LARGEST,
    "center": detection_pb2.FACE_ORDER_CENTER,
}
FACE_SELECTION_PARAM: dict[str, Any] = {
    "type": "string",
    "enum": list(FACE_SELECTION),
    "default": "largest",
    "description": "which face of a photo is used: the largest, or the one nearest the "
    "photo's centre (for photos framed around their subject, as LFW's are)",
}


def parse_choice(name: str, value: str | None, choices: dict[str, T], default: T) -> T:
    """One of ``choices`` by its name (any case; empty: ``default``); INVALID_ARGUMENT else."""
    if value is None or value == "":
        return default
    by_name = {key.lower(): choice for key, choice in choices.items()}
    chosen = by_name.get(value.strip().lower())
    if chosen is None:
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            f"{name} must be one of {', '.join(choices)}, got {value!r}",
        )
    return chosen


def parse_face_selection(value: str | None) -> detection_pb2.FaceOrder:
    """largest|center (default largest) -> the detection service's face order."""
    return parse_choice("face_selection", value, FACE_SELECTION, detection_pb2.FACE_ORDER_LARGEST)


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


def user_probe(group_id: str, user_id: str) -> embedding_pb2.Probe:
    """A verify probe naming a stored user."""
    return embedding_pb2.Probe(user=embedding_pb2.UserRef(group_id=group_id, user_id=user_id))


def parse_quality_control(value: str | None) -> embedding_pb2.QualityControl:
    """NONE|LOW|NORMAL|HIGH (default NONE) -> the proto enum."""
    return parse_choice(
        "quality_control", value, QUALITY_CONTROL, embedding_pb2.QUALITY_CONTROL_NONE
    )


def thresholds_json(thresholds: embedding_pb2.Thresholds) -> dict[str, float]:
    """The published thresholds as {"1e-3": score, "1e-4": score, "1e-5": score}."""
    return {
        "1e-3": round(thresholds.far_1e3, 2),
        "1e-4": round(thresholds.far_1e4, 2),
        "1e-5": round(thresholds.far_1e5, 2),
    }


def group_json(group: embedding_pb2.Group) -> dict[str, Any]:
    """A group as JSON."""
    return {
        "group_id": group.group_id,
        "created_at": round(group.created_at, 3),
        "user_count": group.user_count,
        "face_count": group.face_count,
    }


def user_json(user: embedding_pb2.User) -> dict[str, Any]:
    """A user with their faces as JSON."""
    return {
        "group_id": user.group_id,
        "user_id": user.user_id,
        "user_info": user.user_info,
        "faces": [
            {"face_token": f.face_token, "created_at": round(f.created_at, 3)} for f in user.faces
        ],
    }


def match_json(match: embedding_pb2.Match) -> dict[str, Any]:
    """A search match as JSON (``face_token`` is the stored face that matched best)."""
    return {
        "group_id": match.group_id,
        "user_id": match.user_id,
        "user_info": match.user_info,
        "score": round(match.score, 2),
        "similarity": round(match.similarity, 4),
        "face_token": match.face_token,
    }
