"""Attribute fields of /detect (age, gender, emotion, pose, quality), from the attributes service.

The faces the detection service found (box, five landmarks and, when pose or quality is asked,
the 468-point mesh) go to the attributes service with the requested fields only; each face dict
gets those fields. A field that cannot be computed for a face (too small for its model) is
null, with the reason under ``unavailable``.
"""

from __future__ import annotations

from typing import Any

from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2

from gateway.core import pipeline
from gateway.core.clients import ServiceClients

ATTRIBUTE_FIELDS = frozenset({"age", "gender", "emotion", "pose", "quality"})
# Fields that are more precise with the 468-point mesh: /detect asks detection for it.
MESH_FIELDS = frozenset({"pose", "quality"})

_ENUM = {
    "age": attributes_pb2.ATTRIBUTE_AGE,
    "gender": attributes_pb2.ATTRIBUTE_GENDER,
    "emotion": attributes_pb2.ATTRIBUTE_EMOTION,
    "pose": attributes_pb2.ATTRIBUTE_POSE,
    "quality": attributes_pb2.ATTRIBUTE_QUALITY,
}
_NAME = {value: name for name, value in _ENUM.items()}


def _round(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def age_json(age: attributes_pb2.Age) -> dict[str, Any]:
    """{value, range: [low, high]} in years."""
    return {"value": _round(age.value, 1), "range": [_round(age.low, 1), _round(age.high, 1)]}


def gender_json(gender: attributes_pb2.Gender) -> dict[str, Any]:
    """{label, probability}."""
    return {"label": gender.label, "probability": _round(gender.probability, 4)}


def emotion_json(emotion: attributes_pb2.Emotion) -> dict[str, Any]:
    """{dominant, probabilities: {label: p}} over the 7 FER classes."""
    return {
        "dominant": emotion.dominant,
        "probabilities": {s.label: _round(s.probability, 4) for s in emotion.scores},
    }


def pose_json(pose: attributes_pb2.Pose) -> dict[str, Any]:
    """{yaw, pitch, roll} in degrees and the landmarks they came from."""
    return {
        "yaw": _round(pose.yaw, 1),
        "pitch": _round(pose.pitch, 1),
        "roll": _round(pose.roll, 1),
        "source": pose.source,
    }


def quality_json(quality: attributes_pb2.Quality) -> dict[str, Any]:
    """{score, blur, brightness, face_size, eyes_open, mouth_open} (the last two need the mesh)."""
    return {
        "score": _round(quality.score),
        "blur": _round(quality.blur, 1),
        "brightness": _round(quality.brightness, 1),
        "face_size": _round(quality.face_size, 1),
        "eyes_open": _round(quality.eyes_open) if quality.HasField("eyes_open") else None,
        "mouth_open": _round(quality.mouth_open) if quality.HasField("mouth_open") else None,
    }


def attributes_json(result: attributes_pb2.FaceAttributes, fields: set[str]) -> dict[str, Any]:
    """The requested fields of one face; unavailable ones are null with a reason."""
    shapers = {
        "age": age_json,
        "gender": gender_json,
        "emotion": emotion_json,
        "pose": pose_json,
        "quality": quality_json,
    }
    out: dict[str, Any] = {}
    for name in sorted(fields):
        out[name] = shapers[name](getattr(result, name)) if result.HasField(name) else None
    if result.unavailable:
        out["unavailable"] = {_NAME[u.attribute]: u.reason for u in result.unavailable}
    return out


async def add_attributes(
    clients: ServiceClients,
    image: bytes,
    detection: detection_pb2.DetectResponse,
    faces: list[dict[str, Any]],
    fields: set[str],
) -> list[dict[str, str]]:
    """Fill the requested attribute fields into faces; returns the models used."""
    stub = attributes_pb2_grpc.AttributesServiceStub(clients.channel("attributes"))
    request = attributes_pb2.AnalyzeRequest(
        image=common_pb2.Image(data=image),
        faces=list(detection.faces),
        attributes=[_ENUM[name] for name in sorted(fields)],
    )
    response: attributes_pb2.AnalyzeResponse = await clients.call(
        "attributes", stub.Analyze, request
    )
    for face, result in zip(faces, response.faces, strict=True):
        face.update(attributes_json(result, fields))
    return pipeline.models_json(response)
