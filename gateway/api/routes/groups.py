"""The gallery: groups -> users -> faces of the caller's tenant (create, list, enroll, delete)."""

from __future__ import annotations

import hashlib
from typing import Any

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Request

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.recognition_schemas import (
    DeletedOut,
    EnrollOut,
    GroupListOut,
    GroupOut,
    UserOut,
    UserPageOut,
)
from gateway.api.schemas import ERROR_RESPONSES, image_request_body
from gateway.core import pipeline, recognition
from gateway.core.context import envelope
from gateway.core.embedding_calls import embedding
from gateway.core.errors import ApiError
from gateway.core.inputs import check_image, read_input

router = APIRouter(tags=["gallery"])

MAX_PAGE = 1000
MAX_FACE_INDEX = 99
GALLERY_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "GROUP_NOT_FOUND, USER_NOT_FOUND or FACE_NOT_FOUND"},
    409: {"description": "ALREADY_EXISTS"},
}
ENROLL_PARAMS: dict[str, dict[str, Any]] = {
    "user_info": {"type": "string", "description": "free text stored with the user"},
    "quality_control": {
        "type": "string",
        "enum": list(recognition.QUALITY_CONTROL),
        "default": "NONE",
    },
    "face_index": {
        "type": "integer",
        "default": 0,
        "minimum": 0,
        "maximum": MAX_FACE_INDEX,
        "description": "which face to enroll, in face_selection order (0 = the first)",
    },
    "face_selection": recognition.FACE_SELECTION_PARAM,
}
GROUP_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"group_id": {"type": "string"}},
                    "required": ["group_id"],
                }
            }
        },
    }
}


@router.post(
    "/groups",
    response_model=GroupOut,
    responses=GALLERY_ERRORS,
    openapi_extra=GROUP_BODY,
    summary="Create a group",
)
async def create_group(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Create an empty group; ALREADY_EXISTS (409) when the tenant has it."""
    data = await read_input(request, (), settings.max_image_bytes)
    group_id = data.text("group_id")
    if not group_id:
        raise ApiError(400, "INVALID_ARGUMENT", "group_id is required")
    group = await embedding(clients).create_group(
        embedding_pb2.CreateGroupRequest(tenant=tenant.tenant_id, group_id=group_id),
    )
    return envelope(request, recognition.group_json(group))


@router.get("/groups", response_model=GroupListOut, responses=GALLERY_ERRORS, summary="List groups")
async def list_groups(request: Request, tenant: TenantDep, clients: ClientsDep) -> dict[str, Any]:
    """The tenant's groups with their user and face counts."""
    result = await embedding(clients).list_groups(
        embedding_pb2.ListGroupsRequest(tenant=tenant.tenant_id)
    )
    return envelope(request, {"groups": [recognition.group_json(g) for g in result.groups]})


@router.delete(
    "/groups/{group_id}",
    response_model=DeletedOut,
    response_model_exclude_none=True,
    responses=GALLERY_ERRORS,
    summary="Delete a group",
)
async def delete_group(
    request: Request, group_id: str, tenant: TenantDep, clients: ClientsDep
) -> dict[str, Any]:
    """Delete a group with its users and faces; they leave search at once."""
    await embedding(clients).delete_group(
        embedding_pb2.DeleteGroupRequest(tenant=tenant.tenant_id, group_id=group_id),
    )
    return envelope(request, {"group_id": group_id, "deleted": True})


@router.post(
    "/groups/{group_id}/users/{user_id}/faces",
    response_model=EnrollOut,
    responses=GALLERY_ERRORS,
    openapi_extra=image_request_body(("image",), ENROLL_PARAMS),
    summary="Enroll a face",
)
async def enroll_face(
    request: Request,
    group_id: str,
    user_id: str,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Enroll the largest face (or ``face_index``; ``face_selection=center`` orders the faces
    by distance from the photo's centre) of the photo for the user, creating the user.
    LOW_QUALITY (400) names the failed checks; the same photo twice for a user is
    ALREADY_EXISTS (409)."""
    data = await read_input(request, ("image",), settings.max_image_bytes)
    image = check_image(
        data.image("image") or b"", "image", settings.max_image_bytes, settings.max_image_pixels
    )
    quality = recognition.parse_quality_control(data.text("quality_control"))
    face_index = data.integer("face_index", 0, 0, MAX_FACE_INDEX)
    order = recognition.parse_face_selection(data.text("face_selection"))
    user_info = data.text("user_info")
    detection = await recognition.detect_with_crops(clients, image, face_index + 1, order)
    face = recognition.pick_face(detection, face_index)
    add = embedding_pb2.AddFaceRequest(
        tenant=tenant.tenant_id,
        group_id=group_id,
        user_id=user_id,
        face=face,
        image_sha256=hashlib.sha256(image).hexdigest(),
        quality_control=quality,
        image=image,
    )
    if user_info is not None:
        add.user_info = user_info
    result = await embedding(clients).add_face(add)
    face_out = pipeline.face_json(image, face)
    face_out.pop("face_token")
    return envelope(
        request,
        {
            "face_token": result.face_token,
            "group_id": result.group_id,
            "user_id": result.user_id,
            "face": face_out,
            "quality": {
                "score": round(result.quality.score, 3),
                "blur": round(result.quality.blur, 1),
                "brightness": round(result.quality.brightness, 1),
                "yaw": round(result.quality.yaw, 1),
                "pitch": round(result.quality.pitch, 1),
                "roll": round(result.quality.roll, 1),
            },
            "models": pipeline.models_json(detection, result),
        },
    )


@router.get(
    "/groups/{group_id}/users",
    response_model=UserPageOut,
    responses=GALLERY_ERRORS,
    summary="List users",
)
async def list_users(
    request: Request, group_id: str, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> dict[str, Any]:
    """One page of the group's users (ordered by id), each with their faces, and the total."""
    data = await read_input(request, (), settings.max_image_bytes)
    offset = data.integer("offset", 0, 0, 2**31 - 1)
    limit = data.integer("limit", 100, 1, MAX_PAGE)
    result = await embedding(clients).list_users(
        embedding_pb2.ListUsersRequest(
            tenant=tenant.tenant_id, group_id=group_id, offset=offset, limit=limit
        ),
    )
    return envelope(
        request,
        {
            "users": [recognition.user_json(u) for u in result.users],
            "total": result.total,
            "offset": offset,
            "limit": limit,
        },
    )


@router.get(
    "/groups/{group_id}/users/{user_id}",
    response_model=UserOut,
    responses=GALLERY_ERRORS,
    summary="Get a user",
)
async def get_user(
    request: Request, group_id: str, user_id: str, tenant: TenantDep, clients: ClientsDep
) -> dict[str, Any]:
    """A user with their faces."""
    user = await embedding(clients).get_user(
        embedding_pb2.GetUserRequest(tenant=tenant.tenant_id, group_id=group_id, user_id=user_id),
    )
    return envelope(request, recognition.user_json(user))


@router.delete(
    "/groups/{group_id}/users/{user_id}",
    response_model=DeletedOut,
    response_model_exclude_none=True,
    responses=GALLERY_ERRORS,
    summary="Delete a user",
)
async def delete_user(
    request: Request, group_id: str, user_id: str, tenant: TenantDep, clients: ClientsDep
) -> dict[str, Any]:
    """Delete a user with their faces; they leave search at once."""
    await embedding(clients).delete_user(
        embedding_pb2.DeleteUserRequest(
            tenant=tenant.tenant_id, group_id=group_id, user_id=user_id
        ),
    )
    return envelope(request, {"group_id": group_id, "user_id": user_id, "deleted": True})


@router.delete(
    "/groups/{group_id}/users/{user_id}/faces/{face_token}",
    response_model=DeletedOut,
    response_model_exclude_none=True,
    responses=GALLERY_ERRORS,
    summary="Delete a face",
)
async def delete_face(
    request: Request,
    group_id: str,
    user_id: str,
    face_token: str,
    tenant: TenantDep,
    clients: ClientsDep,
) -> dict[str, Any]:
    """Delete one face of a user; it leaves search at once."""
    await embedding(clients).delete_face(
        embedding_pb2.DeleteFaceRequest(
            tenant=tenant.tenant_id, group_id=group_id, user_id=user_id, face_token=face_token
        ),
    )
    return envelope(
        request,
        {
            "group_id": group_id,
            "user_id": user_id,
            "face_token": face_token,
            "deleted": True,
        },
    )
