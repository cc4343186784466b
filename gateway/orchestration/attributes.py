"""Attribute fields of /detect (age, gender, emotion, pose, quality), from the attributes service.

The faces the detection service found (box, five landmarks and, when pose or quality is asked,
the 468-point mesh) go to the attributes service with the requested fields only.
"""

from __future__ import annotations

from collections.abc import Set

from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2

from gateway.core.clients import Retry, ServiceClients

ATTRIBUTES: dict[str, attributes_pb2.Attribute] = {
    "age": attributes_pb2.ATTRIBUTE_AGE,
    "gender": attributes_pb2.ATTRIBUTE_GENDER,
    "emotion": attributes_pb2.ATTRIBUTE_EMOTION,
    "pose": attributes_pb2.ATTRIBUTE_POSE,
    "quality": attributes_pb2.ATTRIBUTE_QUALITY,
}
ATTRIBUTE_FIELDS: frozenset[str] = frozenset(ATTRIBUTES)
# Fields that are more precise with the 468-point mesh: /detect asks detection for it.
MESH_FIELDS = frozenset({"pose", "quality"})
ATTRIBUTE_NAMES: dict[int, str] = {value: name for name, value in ATTRIBUTES.items()}


async def analyze(
    clients: ServiceClients,
    image: bytes,
    detection: detection_pb2.DetectResponse,
    fields: Set[str],
) -> attributes_pb2.AnalyzeResponse:
    """The requested attributes of every detected face (one result per face, same order)."""
    stub = attributes_pb2_grpc.AttributesServiceStub(clients.channel("attributes"))
    request = attributes_pb2.AnalyzeRequest(
        image=common_pb2.Image(data=image),
        faces=list(detection.faces),
        attributes=[ATTRIBUTES[name] for name in sorted(fields)],
    )
    response: attributes_pb2.AnalyzeResponse = await clients.call(
        "attributes",
        stub.Analyze,
        request,
        retry=Retry.SAME,  # a read
    )
    return response
