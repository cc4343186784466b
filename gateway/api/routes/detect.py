"""POST /api/v1/detect: faces, landmarks and optional extras (mesh, attributes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.schemas import ERROR_RESPONSES, DetectOut, image_request_body
from gateway.core import pipeline
from gateway.core.attributes import ATTRIBUTE_FIELDS, MESH_FIELDS, add_attributes
from gateway.core.context import envelope
from gateway.core.errors import ApiError
from gateway.core.inputs import check_image, read_input

router = APIRouter(tags=["detection"])

DETECTION_FIELDS = frozenset({"mesh"})
KNOWN_FIELDS = DETECTION_FIELDS | ATTRIBUTE_FIELDS
MAX_FACES_LIMIT = 100

PARAMS: dict[str, dict[str, Any]] = {
    "max_faces": {"type": "integer", "default": 10, "minimum": 1, "maximum": MAX_FACES_LIMIT},
    "min_face_size": {"type": "integer", "default": 0, "minimum": 0},
    "fields": {
        "type": "string",
        "description": "comma list of: " + ", ".join(sorted(KNOWN_FIELDS)),
    },
}


def parse_fields(values: list[str]) -> set[str]:
    """Validate the ``fields`` list; unknown names are a 400 naming them."""
    requested = set(values)
    unknown = sorted(requested - KNOWN_FIELDS)
    if unknown:
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            f"unknown field(s): {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_FIELDS))}",
        )
    return requested


@router.post(
    "/detect",
    response_model=DetectOut,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    openapi_extra=image_request_body(("image",), PARAMS),
    summary="Detect faces",
)
async def detect(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Faces sorted by box area, largest first; a photo with no face gives an empty list."""
    data = await read_input(request, ("image",), settings.max_image_bytes)
    image = check_image(
        data.image("image") or b"", "image", settings.max_image_bytes, settings.max_image_pixels
    )
    max_faces = data.integer("max_faces", 10, 1, MAX_FACES_LIMIT)
    min_face_size = data.integer("min_face_size", 0, 0, 100_000)
    fields = parse_fields(data.csv("fields"))
    detection = await pipeline.detect(
        clients,
        image,
        max_faces=max_faces,
        min_face_size=min_face_size,
        include_mesh="mesh" in fields or bool(fields & MESH_FIELDS),
    )
    faces = []
    for face in detection.faces:
        item = pipeline.face_json(image, face)
        if "mesh" in fields:
            item["mesh"] = [[round(p.x, 2), round(p.y, 2), round(p.z, 2)] for p in face.mesh]
        faces.append(item)
    models = pipeline.models_json(detection)
    attribute_fields = fields & ATTRIBUTE_FIELDS
    if attribute_fields and detection.faces:
        models += await add_attributes(clients, image, detection, faces, attribute_fields)
    return envelope(
        request,
        {
            "faces": faces,
            "image": {"width": detection.image_width, "height": detection.image_height},
            "models": models,
        },
    )
