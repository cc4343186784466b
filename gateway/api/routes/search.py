"""POST /api/v1/search: 1:N (M:N) search of every face in a photo against the tenant's groups."""

from __future__ import annotations

from typing import Any

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Request

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.recognition_schemas import SearchOut
from gateway.api.schemas import ERROR_RESPONSES, image_request_body
from gateway.core import pipeline, recognition
from gateway.core.context import envelope
from gateway.core.embedding_calls import embedding
from gateway.core.errors import ApiError
from gateway.core.inputs import check_image, read_input
from services.shared.open_set import DEFAULT_FPIR, MAX_FPIR, MIN_FPIR

router = APIRouter(tags=["recognition"])

MAX_TOP_K = 100
PARAMS: dict[str, dict[str, Any]] = {
    "group_ids": {"type": "string", "description": "comma list of group ids to search"},
    "top_k": {"type": "integer", "default": 5, "minimum": 1, "maximum": MAX_TOP_K},
    "threshold": {
        "type": "number",
        "minimum": 0,
        "maximum": 100,
        "description": "minimum score of a match; overrides fpir. Default: the threshold "
        "that holds fpir for the number of users searched",
    },
    "fpir": {
        "type": "number",
        "minimum": MIN_FPIR,
        "maximum": MAX_FPIR,
        "description": "target false-positive identification rate: the share of strangers "
        f"(people not enrolled) that may match someone. Default: the service's setting "
        f"({DEFAULT_FPIR:g})",
    },
    "max_faces": {
        "type": "integer",
        "default": 10,
        "minimum": 1,
        "maximum": recognition.MAX_SEARCH_FACES,
    },
}


@router.post(
    "/search",
    response_model=SearchOut,
    responses=ERROR_RESPONSES,
    openapi_extra=image_request_body(("image",), PARAMS),
    summary="Search the gallery for every face in a photo (1:N)",
)
async def search(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Each face (largest first) with the users it matches above the threshold, best first."""
    data = await read_input(request, ("image",), settings.max_image_bytes)
    image = check_image(
        data.image("image") or b"", "image", settings.max_image_bytes, settings.max_image_pixels
    )
    group_ids = data.csv("group_ids")
    if not group_ids:
        raise ApiError(400, "INVALID_ARGUMENT", "group_ids must name at least one group")
    top_k = data.integer("top_k", 5, 1, MAX_TOP_K)
    threshold = data.number("threshold", None, 0.0, 100.0)
    fpir = data.number("fpir", None, MIN_FPIR, MAX_FPIR)
    max_faces = data.integer("max_faces", 10, 1, recognition.MAX_SEARCH_FACES)
    detection = await recognition.detect_with_crops(clients, image, max_faces)
    search_request = embedding_pb2.SearchRequest(
        tenant=tenant.tenant_id,
        probes=[recognition.crop_probe(face) for face in detection.faces],
        group_ids=group_ids,
        top_k=top_k,
    )
    if threshold is not None:
        search_request.min_score = threshold
    if fpir is not None:
        search_request.fpir = fpir
    result = await embedding(clients).search(search_request)
    faces = []
    for face, found in zip(detection.faces, result.results, strict=True):
        item = pipeline.face_json(image, face)
        item["matches"] = [recognition.match_json(m) for m in found.matches]
        faces.append(item)
    return envelope(
        request,
        {
            "faces": faces,
            "threshold": round(result.min_score, 2),
            "fpir": float(f"{result.fpir:.3g}"),
            "gallery_size": result.gallery_size,
            "models": pipeline.models_json(detection, result),
        },
    )
