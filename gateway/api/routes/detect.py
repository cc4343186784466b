"""POST /api/v1/detect: faces, landmarks and optional extras (mesh, attributes)."""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Annotated, Any

from faceflow.attributes.v1 import attributes_pb2
from faceflow.common.v1 import common_pb2
from fastapi import APIRouter, Request
from pydantic import AfterValidator, Field

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.params import RouteParams
from gateway.api.params.fields import BLANK_IS_DEFAULT, CommaList, rejection
from gateway.api.params.uploads import ImageUpload
from gateway.api.schemas import (
    ERROR_RESPONSES,
    DetectedFaceOut,
    DetectOut,
    ImageInfo,
    ModelRef,
    attribute_fields,
    mesh_points,
)
from gateway.core.context import envelope
from gateway.orchestration import pipeline
from gateway.orchestration.attributes import ATTRIBUTE_FIELDS, MESH_FIELDS, analyze

router = APIRouter(tags=["detection"])

DETECTION_FIELDS = frozenset({"mesh"})
KNOWN_FIELDS = sorted(DETECTION_FIELDS | ATTRIBUTE_FIELDS)
MAX_FACES_LIMIT = 100
MAX_MIN_FACE_SIZE = 100_000
MAX_FIELDS = 32  # far more than there are names; a longer list is refused, not read


def known_fields(names: list[str]) -> list[str]:
    """The requested extras; unknown names are a 400 naming them."""
    if len(names) > MAX_FIELDS:
        raise rejection(f"fields may hold at most {MAX_FIELDS} names")
    unknown = sorted(set(names) - set(KNOWN_FIELDS))
    if unknown:
        raise rejection(f"unknown field(s): {', '.join(unknown)}; known: {', '.join(KNOWN_FIELDS)}")
    return names


class DetectParams(RouteParams):
    """Parameters of /detect."""

    image: ImageUpload = Field(description="the photo: JPEG, PNG, WebP or BMP")
    max_faces: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=10, ge=1, le=MAX_FACES_LIMIT, description="at most this many faces, largest first"
    )
    min_face_size: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=0, ge=0, le=MAX_MIN_FACE_SIZE, description="ignore faces smaller than this (px)"
    )
    fields: Annotated[
        list[str],
        CommaList(
            item="|".join(map(re.escape, KNOWN_FIELDS)),
            item_schema={"type": "string", "enum": KNOWN_FIELDS},
            max_items=MAX_FIELDS,
        ),
        AfterValidator(known_fields),
    ] = Field(default=[], description="extras, comma list of: " + ", ".join(KNOWN_FIELDS))


def detected_face(
    image: bytes,
    face: common_pb2.Face,
    fields: Set[str],
    attributes: attributes_pb2.FaceAttributes | None,
) -> DetectedFaceOut:
    """One face with the extras asked for; the others stay unset, so the answer leaves them out."""
    extras: dict[str, Any] = {}
    if "mesh" in fields:
        extras["mesh"] = mesh_points(face)
    if attributes is not None:
        extras |= attribute_fields(attributes, fields & ATTRIBUTE_FIELDS)
    return DetectedFaceOut.of(image, face, **extras)


@router.post(
    "/detect",
    response_model=DetectOut,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    openapi_extra=DetectParams.request_body(),
    summary="Detect faces",
)
async def detect(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> DetectOut:
    """Faces sorted by box area, largest first; a photo with no face gives an empty list."""
    params = await DetectParams.read(request, settings)
    fields = set(params.fields)
    detection = await pipeline.detect(
        clients,
        params.image,
        max_faces=params.max_faces,
        min_face_size=params.min_face_size,
        include_mesh="mesh" in fields or bool(fields & MESH_FIELDS),
    )
    models = ModelRef.merged(detection)
    attributes: list[attributes_pb2.FaceAttributes | None] = [None] * len(detection.faces)
    if fields & ATTRIBUTE_FIELDS and detection.faces:
        analysis = await analyze(clients, params.image, detection, fields & ATTRIBUTE_FIELDS)
        models += ModelRef.merged(analysis)
        attributes = list(analysis.faces)
    return DetectOut(
        faces=[
            detected_face(params.image, face, fields, found)
            for face, found in zip(detection.faces, attributes, strict=True)
        ],
        image=ImageInfo(width=detection.image_width, height=detection.image_height),
        models=models,
        **envelope(request),
    )
