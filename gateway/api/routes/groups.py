"""The gallery: groups -> users -> faces of the caller's tenant (create, list, enroll, delete)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Request, Response
from pydantic import Field

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.params import RouteParams
from gateway.api.params.fields import (
    BLANK_IS_DEFAULT,
    FaceSelectionParam,
    FaceTokenPath,
    GroupId,
    GroupIdPath,
    QualityControlParam,
    UserIdPath,
)
from gateway.api.params.uploads import ImageUpload
from gateway.api.recognition_schemas import (
    DeletedOut,
    EnrolledFace,
    EnrollOut,
    EnrollQualityOut,
    GroupItem,
    GroupListOut,
    GroupOut,
    UserItem,
    UserOut,
    UserPageOut,
)
from gateway.api.schemas import ModelRef, error_responses
from gateway.core.context import envelope
from gateway.orchestration import recognition
from gateway.orchestration.embedding_calls import embedding
from gateway.orchestration.thumbnails import thumbnail_jpeg
from services.shared.limits import MAX_USER_INFO_CHARS

router = APIRouter(tags=["gallery"])

MAX_PAGE = 1000
MAX_OFFSET = 2**31 - 1
MAX_FACE_INDEX = 99
GALLERY_ERRORS = error_responses(
    {404: "GROUP_NOT_FOUND, USER_NOT_FOUND or FACE_NOT_FOUND", 409: "ALREADY_EXISTS"}
)
THUMBNAIL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the face's thumbnail: the 112x112 aligned face as a JPEG",
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    },
    **error_responses(
        {404: "GROUP_NOT_FOUND, USER_NOT_FOUND, FACE_NOT_FOUND or THUMBNAIL_NOT_FOUND"}
    ),
}
THUMBNAIL_CACHE = "private, max-age=86400"
"""A face's thumbnail never changes (a face token is never reused): browsers may keep it."""


class GroupParams(RouteParams):
    """Parameters of POST /groups."""

    group_id: Annotated[GroupId, BLANK_IS_DEFAULT] = Field(description="the new group's id")


class EnrollParams(RouteParams):
    """Parameters of enroll."""

    image: ImageUpload = Field(description="a photo of the user")
    quality_control: QualityControlParam = "NONE"
    face_index: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=0,
        ge=0,
        le=MAX_FACE_INDEX,
        description="which face to enroll, in face_selection order (0 = the first)",
    )
    face_selection: FaceSelectionParam = "largest"
    user_info: str | None = Field(
        default=None,
        max_length=MAX_USER_INFO_CHARS,
        description="free text stored with the user (replaces what was stored)",
    )


class UserPageParams(RouteParams):
    """Query parameters of the user listing."""

    offset: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=0, ge=0, le=MAX_OFFSET, description="users to skip (ordered by id)"
    )
    limit: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=100, ge=1, le=MAX_PAGE, description="users in the page"
    )


@router.post(
    "/groups",
    response_model=GroupOut,
    responses=GALLERY_ERRORS,
    openapi_extra=GroupParams.request_body(),
    summary="Create a group",
)
async def create_group(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> GroupOut:
    """Create an empty group; ALREADY_EXISTS (409) when the tenant has it."""
    params = await GroupParams.read(request, settings)
    group = await embedding(clients).create_group(
        embedding_pb2.CreateGroupRequest(tenant=tenant.tenant_id, group_id=params.group_id),
    )
    return GroupOut.of(group, **envelope(request))


@router.get("/groups", response_model=GroupListOut, responses=GALLERY_ERRORS, summary="List groups")
async def list_groups(request: Request, tenant: TenantDep, clients: ClientsDep) -> GroupListOut:
    """The tenant's groups with their user and face counts."""
    result = await embedding(clients).list_groups(
        embedding_pb2.ListGroupsRequest(tenant=tenant.tenant_id)
    )
    return GroupListOut(groups=[GroupItem.of(g) for g in result.groups], **envelope(request))


@router.delete(
    "/groups/{group_id}",
    response_model=DeletedOut,
    response_model_exclude_none=True,
    responses=GALLERY_ERRORS,
    summary="Delete a group",
)
async def delete_group(
    request: Request, group_id: GroupIdPath, tenant: TenantDep, clients: ClientsDep
) -> DeletedOut:
    """Delete a group with its users and faces; they leave search at once."""
    await embedding(clients).delete_group(
        embedding_pb2.DeleteGroupRequest(tenant=tenant.tenant_id, group_id=group_id),
    )
    return DeletedOut(group_id=group_id, deleted=True, **envelope(request))


@router.post(
    "/groups/{group_id}/users/{user_id}/faces",
    response_model=EnrollOut,
    responses=GALLERY_ERRORS,
    openapi_extra=EnrollParams.request_body(),
    summary="Enroll a face",
)
async def enroll_face(
    request: Request,
    group_id: GroupIdPath,
    user_id: UserIdPath,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> EnrollOut:
    """Enroll the largest face (or ``face_index``; ``face_selection=center`` orders the faces
    by distance from the photo's centre) of the photo for the user, creating the user.
    LOW_QUALITY (400) names the failed checks; the same photo twice for a user is
    ALREADY_EXISTS (409)."""
    params = await EnrollParams.read(request, settings)
    detection = await recognition.detect_with_crops(
        clients,
        params.image,
        params.face_index + 1,
        recognition.FACE_SELECTION[params.face_selection],
    )
    face = recognition.pick_face(detection, params.face_index)
    add = embedding_pb2.AddFaceRequest(
        tenant=tenant.tenant_id,
        group_id=group_id,
        user_id=user_id,
        face=face,
        image_sha256=hashlib.sha256(params.image).hexdigest(),
        quality_control=recognition.QUALITY_CONTROL[params.quality_control],
        image=params.image,
    )
    if params.user_info is not None:
        add.user_info = params.user_info
    if tenant.thumbnails:
        add.thumbnail = thumbnail_jpeg(face.aligned_crop)
    result = await embedding(clients).add_face(add)
    return EnrollOut(
        face_token=result.face_token,
        group_id=result.group_id,
        user_id=result.user_id,
        face=EnrolledFace.of(face),
        quality=EnrollQualityOut.of(result.quality),
        models=ModelRef.merged(detection, result),
        **envelope(request),
    )


@router.get(
    "/groups/{group_id}/users",
    response_model=UserPageOut,
    responses=GALLERY_ERRORS,
    openapi_extra=UserPageParams.query_parameters(),
    summary="List users",
)
async def list_users(
    request: Request,
    group_id: GroupIdPath,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> UserPageOut:
    """One page of the group's users (ordered by id), each with their faces, and the total."""
    params = await UserPageParams.read(request, settings)
    result = await embedding(clients).list_users(
        embedding_pb2.ListUsersRequest(
            tenant=tenant.tenant_id, group_id=group_id, offset=params.offset, limit=params.limit
        ),
    )
    return UserPageOut(
        users=[UserItem.of(u) for u in result.users],
        total=result.total,
        offset=params.offset,
        limit=params.limit,
        **envelope(request),
    )


@router.get(
    "/groups/{group_id}/users/{user_id}",
    response_model=UserOut,
    responses=GALLERY_ERRORS,
    summary="Get a user",
)
async def get_user(
    request: Request,
    group_id: GroupIdPath,
    user_id: UserIdPath,
    tenant: TenantDep,
    clients: ClientsDep,
) -> UserOut:
    """A user with their faces."""
    user = await embedding(clients).get_user(
        embedding_pb2.GetUserRequest(tenant=tenant.tenant_id, group_id=group_id, user_id=user_id),
    )
    return UserOut.of(user, **envelope(request))


@router.delete(
    "/groups/{group_id}/users/{user_id}",
    response_model=DeletedOut,
    response_model_exclude_none=True,
    responses=GALLERY_ERRORS,
    summary="Delete a user",
)
async def delete_user(
    request: Request,
    group_id: GroupIdPath,
    user_id: UserIdPath,
    tenant: TenantDep,
    clients: ClientsDep,
) -> DeletedOut:
    """Delete a user with their faces; they leave search at once."""
    await embedding(clients).delete_user(
        embedding_pb2.DeleteUserRequest(
            tenant=tenant.tenant_id, group_id=group_id, user_id=user_id
        ),
    )
    return DeletedOut(group_id=group_id, user_id=user_id, deleted=True, **envelope(request))


@router.get(
    "/groups/{group_id}/users/{user_id}/faces/{face_token}/thumbnail",
    response_class=Response,
    responses=THUMBNAIL_RESPONSES,
    summary="Get a face's thumbnail",
)
async def get_face_thumbnail(
    group_id: GroupIdPath,
    user_id: UserIdPath,
    face_token: FaceTokenPath,
    tenant: TenantDep,
    clients: ClientsDep,
) -> Response:
    """The small JPEG (the 112x112 aligned face) kept with a face when the tenant's thumbnails
    setting was on at enrollment (``has_thumbnail`` in the user's faces); THUMBNAIL_NOT_FOUND
    (404) for a face enrolled without one."""
    thumbnail = await embedding(clients).get_face_thumbnail(
        embedding_pb2.GetFaceThumbnailRequest(
            tenant=tenant.tenant_id, group_id=group_id, user_id=user_id, face_token=face_token
        ),
    )
    return Response(
        content=thumbnail.jpeg,
        media_type="image/jpeg",
        headers={"Cache-Control": THUMBNAIL_CACHE},
    )


@router.delete(
    "/groups/{group_id}/users/{user_id}/faces/{face_token}",
    response_model=DeletedOut,
    response_model_exclude_none=True,
    responses=GALLERY_ERRORS,
    summary="Delete a face",
)
async def delete_face(
    request: Request,
    group_id: GroupIdPath,
    user_id: UserIdPath,
    face_token: FaceTokenPath,
    tenant: TenantDep,
    clients: ClientsDep,
) -> DeletedOut:
    """Delete one face of a user; it leaves search at once."""
    await embedding(clients).delete_face(
        embedding_pb2.DeleteFaceRequest(
            tenant=tenant.tenant_id, group_id=group_id, user_id=user_id, face_token=face_token
        ),
    )
    return DeletedOut(
        group_id=group_id,
        user_id=user_id,
        face_token=face_token,
        deleted=True,
        **envelope(request),
    )
