"""Attribute fields of /detect (age, gender, emotion, pose, quality), from the attributes service.

Until the attributes service is deployed, asking for these fields answers SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

from typing import Any

from faceflow.detection.v1 import detection_pb2

from gateway.core.clients import ServiceClients
from gateway.core.errors import service_unavailable

ATTRIBUTE_FIELDS = frozenset({"age", "gender", "emotion", "pose", "quality"})


async def add_attributes(
    clients: ServiceClients,
    image: bytes,
    detection: detection_pb2.DetectResponse,
    faces: list[dict[str, Any]],
    fields: set[str],
) -> list[dict[str, str]]:
    """Fill the requested attribute fields into faces; returns the models used."""
    raise service_unavailable("attributes")
