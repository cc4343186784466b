"""POST /api/v1/verify: 1:1, two photos (image_a + image_b) or a photo against a stored user."""

from __future__ import annotations

import asyncio
from typing import Any

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Request

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.recognition_schemas import VerifyFacesOut
from gateway.api.schemas import ERROR_RESPONSES, image_request_body
from gateway.core import pipeline, recognition
from gateway.core.context import envelope
from gateway.core.embedding_calls import embedding
from gateway.core.errors import ApiError
from gateway.core.inputs import check_image, read_input

router = APIRouter(tags=["recognition"])

IMAGE_FIELDS = ("image_a", "image_b", "image")
PARAMS: dict[str, dict[str, Any]] = {
    "group_id": {"type": "string", "description": "with image + user_id: the user's group"},
    "user_id": {"type": "string", "description": "with image + group_id: the stored user"},
    "face_selection": recognition.FACE_SELECTION_PARAM,
}


@router.post(
    "/verify",
    response_model=VerifyFacesOut,
    response_model_exclude_none=True,
    responses=ERROR_RESPONSES,
    openapi_extra=image_request_body(("image_a", "image_b"), PARAMS),
    summary="Verify two faces (1:1)",
)
async def verify(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Compare the largest face of image_a with that of image_b, or the largest face of
    image with the stored user (group_id, user_id); ``face_selection=center`` uses the face
    nearest each photo's centre instead. Scores are 0-100 (100 * cosine, clipped);
    ``same_person`` applies the FAR 1e-4 threshold."""
    data = await read_input(request, IMAGE_FIELDS, settings.max_image_bytes)
    order = recognition.parse_face_selection(data.text("face_selection"))

    def image(name: str) -> bytes:
        raw = data.image(name) or b""
        return check_image(raw, name, settings.max_image_bytes, settings.max_image_pixels)

    two_images = bool(data.files.get("image_a") or data.files.get("image_b"))
    if two_images:
        if data.files.get("image"):
            raise ApiError(400, "INVALID_ARGUMENT", "send image_a + image_b, or image + user_id")
        first, second = image("image_a"), image("image_b")
        detections = list(
            await asyncio.gather(
                recognition.detect_with_crops(clients, first, 1, order),
                recognition.detect_with_crops(clients, second, 1, order),
            )
        )
        faces = [detections[0].faces[0], detections[1].faces[0]]
        verify_request = embedding_pb2.VerifyRequest(
            tenant=tenant.tenant_id,
            a=recognition.crop_probe(faces[0]),
            b=recognition.crop_probe(faces[1]),
        )
        faces_out = [
            pipeline.face_json(first, faces[0]) | {"image": "image_a"},
            pipeline.face_json(second, faces[1]) | {"image": "image_b"},
        ]
        match: dict[str, Any] | None = None
    else:
        group_id, user_id = data.text("group_id"), data.text("user_id")
        if not data.files.get("image") or not group_id or not user_id:
            raise ApiError(
                400,
                "INVALID_ARGUMENT",
                "send image_a and image_b, or image with group_id and user_id",
            )
        photo = image("image")
        detection = await recognition.detect_with_crops(clients, photo, 1, order)
        face = detection.faces[0]
        detections = [detection]
        verify_request = embedding_pb2.VerifyRequest(
            tenant=tenant.tenant_id,
            a=recognition.crop_probe(face),
            b=recognition.user_probe(group_id, user_id),
        )
        faces_out = [pipeline.face_json(photo, face) | {"image": "image"}]
        match = {"group_id": group_id, "user_id": user_id}
    result = await embedding(clients).verify(verify_request)
    body: dict[str, Any] = {
        "score": round(result.score, 2),
        "similarity": round(result.similarity, 4),
        "same_person": result.same_person,
        "thresholds": recognition.thresholds_json(result.thresholds),
        "faces": faces_out,
        "models": pipeline.models_json(*detections, result),
    }
    if match is not None:
        body["user"] = match | {"face_token": result.face_token}
    return envelope(request, body)
