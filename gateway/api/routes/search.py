"""POST /api/v1/search: 1:N (M:N) search of every face in a photo against the tenant's groups."""

from __future__ import annotations

from typing import Annotated

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Request
from pydantic import AfterValidator, Field

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.params import RouteParams
from gateway.api.params.fields import BLANK_IS_DEFAULT, CommaList, GroupId, rejection
from gateway.api.params.uploads import ImageUpload
from gateway.api.recognition_schemas import MatchOut, SearchFaceOut, SearchOut
from gateway.api.schemas import ModelRef, error_responses
from gateway.core.context import envelope
from gateway.orchestration import recognition
from gateway.orchestration.embedding_calls import embedding
from services.shared.limits import ID_PATTERN, MAX_SEARCH_GROUPS, MAX_TOP_K
from services.shared.open_set import DEFAULT_FPIR, MAX_FPIR, MIN_FPIR

router = APIRouter(tags=["recognition"])

GROUP_IDS = CommaList(
    item=ID_PATTERN.removeprefix("^").removesuffix("$"),
    item_schema={"type": "string", "pattern": ID_PATTERN},
    min_items=1,
    max_items=MAX_SEARCH_GROUPS,
)


def group_count(group_ids: list[str]) -> list[str]:
    """At least one group, at most MAX_SEARCH_GROUPS."""
    if not group_ids:
        raise rejection("group_ids must name at least one group")
    if len(group_ids) > MAX_SEARCH_GROUPS:
        raise rejection(f"group_ids may name at most {MAX_SEARCH_GROUPS} groups")
    return group_ids


class SearchParams(RouteParams):
    """Parameters of /search."""

    image: ImageUpload = Field(description="the photo: every face in it is searched")
    group_ids: Annotated[list[GroupId], GROUP_IDS, AfterValidator(group_count)] = Field(
        description=f"the groups to search: 1-{MAX_SEARCH_GROUPS} group ids"
    )
    top_k: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=5, ge=1, le=MAX_TOP_K, description="at most this many matches per face"
    )
    threshold: Annotated[float | None, BLANK_IS_DEFAULT] = Field(
        default=None,
        ge=0.0,
        le=100.0,
        description="minimum score of a match; overrides fpir. Default: the threshold "
        "that holds fpir for the number of users searched",
    )
    fpir: Annotated[float | None, BLANK_IS_DEFAULT] = Field(
        default=None,
        ge=MIN_FPIR,
        le=MAX_FPIR,
        description="target false-positive identification rate: the share of strangers "
        f"(people not enrolled) that may match someone. Default: the service's setting "
        f"({DEFAULT_FPIR:g})",
    )
    max_faces: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=10,
        ge=1,
        le=recognition.MAX_SEARCH_FACES,
        description="search at most this many faces of the photo, largest first",
    )


@router.post(
    "/search",
    response_model=SearchOut,
    responses=error_responses({404: "GROUP_NOT_FOUND"}),
    openapi_extra=SearchParams.request_body(),
    summary="Search the gallery for every face in a photo (1:N)",
)
async def search(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> SearchOut:
    """Each face (largest first) with the users it matches above the threshold, best first."""
    params = await SearchParams.read(request, settings)
    detection = await recognition.detect_with_crops(clients, params.image, params.max_faces)
    search_request = embedding_pb2.SearchRequest(
        tenant=tenant.tenant_id,
        probes=[recognition.crop_probe(face) for face in detection.faces],
        group_ids=params.group_ids,
        top_k=params.top_k,
    )
    if params.threshold is not None:
        search_request.min_score = params.threshold
    if params.fpir is not None:
        search_request.fpir = params.fpir
    result = await embedding(clients).search(search_request)
    return SearchOut(
        faces=[
            SearchFaceOut.of(params.image, face, matches=[MatchOut.of(m) for m in found.matches])
            for face, found in zip(detection.faces, result.results, strict=True)
        ],
        threshold=round(result.min_score, 2),
        fpir=float(f"{result.fpir:.3g}"),
        gallery_size=result.gallery_size,
        models=ModelRef.merged(detection, result),
        **envelope(request),
    )
