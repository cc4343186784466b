"""Face clustering: group the faces of many photos into people, as a background job.

``POST /clusters`` (photos, or enrolled faces of a group) starts a job and answers 202 with its
id; ``POST /clusters/{job_id}/photos`` adds more (they join the clusters they match);
``GET /clusters/{job_id}`` gives its status, progress and a page of clusters;
``DELETE /clusters/{job_id}`` removes it. Every face of every photo is clustered (at most
``max_faces`` per photo, as /detect finds them). Jobs belong to the caller's tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Self

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Path, Request, Response
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from starlette.datastructures import UploadFile

from gateway.api.cluster_schemas import (
    ClusterFaceOut,
    ClusterJobBase,
    ClusterJobDeletedOut,
    ClusterJobOut,
    ClusterJobPageOut,
    ClusterOut,
    ClusterPhotoOut,
)
from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.params import RouteParams
from gateway.api.params.fields import (
    BLANK_IS_DEFAULT,
    CommaList,
    GroupId,
    matching,
    rejection,
)
from gateway.api.params.messages import model_error
from gateway.api.params.uploads import IMAGE_LIMITS, Upload, checked, image_limits
from gateway.api.schemas import ModelRef, error_responses
from gateway.core.config import GatewaySettings
from gateway.core.context import envelope
from gateway.core.inputs import read_input
from gateway.orchestration.clustering import Photo, detect_photos, face_ids_per_photo
from gateway.orchestration.embedding_calls import embedding
from services.shared.limits import MAX_FAR, MAX_MIN_CLUSTER_SIZE, MAX_PHOTO_NAME_CHARS, MIN_FAR

router = APIRouter(tags=["clustering"])

MAX_PHOTOS = 32
MAX_FACE_TOKENS = 256  # the embedding service's faces per request
MAX_FACES_PER_PHOTO = 100
MAX_MIN_FACE_SIZE = 100_000
MAX_PAGE = 1000
MAX_OFFSET = 2**31 - 1
FACE_TOKEN = "[0-9a-f]{32}"
PHOTO_NAMES = "photo_names"
"""The validation-context key of the uploaded photos' file names."""
CLUSTER_ERRORS = error_responses(
    {
        404: "CLUSTER_JOB_NOT_FOUND, GROUP_NOT_FOUND or FACE_NOT_FOUND",
        409: "ALREADY_EXISTS: a face token the job holds already",
    }
)

FaceToken = Annotated[
    str,
    BeforeValidator(
        matching(FACE_TOKEN, "face_tokens must be face tokens (32 hex digits) as enroll gave them")
    ),
]
JobIdPath = Annotated[
    str, Path(min_length=1, max_length=64, description="as POST /clusters answered it")
]


class ClusterFacesParams(RouteParams):
    """Faces for a job: photos (several files), or enrolled faces of one group."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["photos"], "properties": {"group_id": False, "face_tokens": False}},
                {
                    "required": ["group_id", "face_tokens"],
                    "properties": {
                        "photos": False,
                        "group_id": {"type": "string"},
                        "face_tokens": {"not": {"type": "null"}},
                    },
                },
            ]
        }
    )

    photos: Annotated[list[bytes], Upload(many=True, min_items=1, max_items=MAX_PHOTOS)] = Field(
        default=[],
        description=f"the photos (JPEG, PNG, WebP, BMP), 1-{MAX_PHOTOS} per request: every "
        "face of each is clustered; a multipart file's name names the photo in the result",
    )
    group_id: Annotated[GroupId | None, BLANK_IS_DEFAULT] = Field(
        default=None, description="instead of photos: the group holding face_tokens"
    )
    face_tokens: Annotated[
        list[FaceToken],
        CommaList(
            item=FACE_TOKEN,
            item_schema={"type": "string", "pattern": f"^{FACE_TOKEN}$"},
            min_items=1,
            max_items=MAX_FACE_TOKENS,
        ),
    ] = Field(
        default=[],
        description=f"instead of photos: 1-{MAX_FACE_TOKENS} enrolled faces of group_id "
        "(comma list or array)",
    )
    max_faces: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=10,
        ge=1,
        le=MAX_FACES_PER_PHOTO,
        description="at most this many faces of each photo, largest first (as /detect)",
    )
    min_face_size: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=0, ge=0, le=MAX_MIN_FACE_SIZE, description="ignore faces smaller than this (px)"
    )

    @model_validator(mode="after")
    def photos_or_faces(self, info: ValidationInfo) -> Self:
        """Photos or group_id + face_tokens; each photo a readable image within the limits."""
        if self.photos and (self.group_id is not None or self.face_tokens):
            raise rejection("send photos or group_id with face_tokens, not both")
        if not self.photos:
            if self.group_id is None and not self.face_tokens:
                raise rejection("send photos (one or more files), or group_id with face_tokens")
            if self.group_id is None:
                raise rejection("face_tokens needs the group_id that holds them")
            if not self.face_tokens:
                raise rejection("group_id needs face_tokens: the enrolled faces to cluster")
        if len(self.face_tokens) > MAX_FACE_TOKENS:
            raise rejection(  # the list was cut at one over (CommaList): "more", not a count
                f"at most {MAX_FACE_TOKENS} face_tokens per request, got more"
            )
        if len(self.face_tokens) != len(set(self.face_tokens)):
            raise rejection("face_tokens names a face twice")
        if len(self.photos) > MAX_PHOTOS:
            raise rejection(
                f"at most {MAX_PHOTOS} photos per request, got {len(self.photos)}: "
                "send the rest with POST /clusters/{job_id}/photos"
            )
        for photo in self.named_photos(info.context):
            if len(photo.name) > MAX_PHOTO_NAME_CHARS:
                raise rejection(
                    f"photos[{photo.index}]: the file name is over"
                    f" {MAX_PHOTO_NAME_CHARS} characters"
                )
            if "\x00" in photo.name:  # the job store's text column cannot hold it
                raise rejection(f"photos[{photo.index}]: the file name contains a NUL character")
            checked(photo.data, photo.label, image_limits(info))
        return self

    def named_photos(self, context: Mapping[str, Any] | None) -> list[Photo]:
        """The photos with their file names (``photos[i]`` where none was given)."""
        names = list((context or {}).get(PHOTO_NAMES, ()))
        return [
            Photo(i, names[i] if i < len(names) and names[i] else f"photos[{i}]", data)
            for i, data in enumerate(self.photos)
        ]

    @classmethod
    async def read_named(
        cls, request: Request, settings: GatewaySettings
    ) -> tuple[Self, list[Photo]]:
        """The parameters and the photos with the names their multipart files carry."""
        values = await read_input(request, cls.upload_fields(), cls.read_limit(settings))
        context = {IMAGE_LIMITS: settings.image_limits, PHOTO_NAMES: await file_names(request)}
        try:
            params = cls.model_validate(values, context=context)
        except ValidationError as error:
            raise model_error(error, cls) from None
        return params, params.named_photos(context)


class ClusterCreateParams(ClusterFacesParams):
    """Parameters of a new job."""

    far: Annotated[float | None, BLANK_IS_DEFAULT] = Field(
        default=None,
        ge=MIN_FAR,
        le=MAX_FAR,
        allow_inf_nan=False,
        description="two faces are linked when they are as similar as a pair of different "
        "people is at this false-accept rate (the model's measured impostor table); "
        "default 1e-5. Higher links more photos of one person and merges more people",
    )
    min_cluster_size: Annotated[int | None, BLANK_IS_DEFAULT] = Field(
        default=None,
        ge=1,
        le=MAX_MIN_CLUSTER_SIZE,
        description="smaller clusters are left unassigned (default 2; 1: every face in one)",
    )


class ClusterPageParams(RouteParams):
    """Query parameters of a job's page."""

    offset: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=0, ge=0, le=MAX_OFFSET, description="clusters to skip (largest first)"
    )
    limit: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=100, ge=1, le=MAX_PAGE, description="clusters in the page"
    )
    unassigned_offset: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=0, ge=0, le=MAX_OFFSET, description="unassigned faces to skip (by face_id)"
    )
    unassigned_limit: Annotated[int, BLANK_IS_DEFAULT] = Field(
        default=100, ge=1, le=MAX_PAGE, description="unassigned faces in the page"
    )


async def file_names(request: Request) -> list[str]:
    """The file names of the multipart ``photos`` files, in order (none for JSON)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return []
    form = await request.form()  # parsed already by read_input: Starlette keeps it
    return [
        str(value.filename or "")
        for key, value in form.multi_items()
        if key == "photos" and isinstance(value, UploadFile)
    ]


async def faces_of(
    params: ClusterFacesParams,
    photos: list[Photo],
    clients: ClientsDep,
    settings: GatewaySettings,
) -> tuple[embedding_pb2.ClusterFaces, list[int], list[ModelRef]]:
    """The faces to send (detected in the photos, or the tokens), the number of faces of each
    photo, and the detection models used."""
    if not photos:
        faces = embedding_pb2.ClusterFaces(
            group_id=params.group_id or "", face_tokens=params.face_tokens
        )
        return faces, [], []
    detected = await detect_photos(
        clients,
        photos,
        max_faces=params.max_faces,
        min_face_size=params.min_face_size,
        max_request_faces=settings.cluster_max_request_faces,
    )
    models = ModelRef.merged(*detected.detections)
    return embedding_pb2.ClusterFaces(crops=detected.faces), detected.per_photo, models


def job_out(
    reply: embedding_pb2.ClusterJob,
    photos: list[Photo],
    per_photo: list[int],
    models: list[ModelRef],
    request: Request,
) -> ClusterJobOut:
    """The answer to a create or an add."""
    ids = face_ids_per_photo(per_photo, [face.face_id for face in reply.added])
    return ClusterJobOut(
        **ClusterJobBase.fields_of(reply),
        faces_added=len(reply.added),
        photos=[
            ClusterPhotoOut(index=photo.index, name=photo.name, face_ids=face_ids)
            for photo, face_ids in zip(photos, ids, strict=True)
        ],
        models=[*models, *ModelRef.merged(reply)],
        **envelope(request),
    )


@router.post(
    "/clusters",
    status_code=202,
    response_model=ClusterJobOut,
    responses=CLUSTER_ERRORS,
    openapi_extra=ClusterCreateParams.request_body(),
    summary="Start clustering the faces of photos",
)
async def create_job(
    request: Request,
    response: Response,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> ClusterJobOut:
    """Every face of the ``photos`` (or the enrolled ``face_tokens`` of ``group_id``) is
    grouped into people in the background: 202 with the job's id, then poll
    ``GET /clusters/{job_id}``. NO_FACE when no photo has a face, TOO_MANY_FACES when the
    photos hold more than 256 faces (send fewer at a time, then add the rest)."""
    params, photos = await ClusterCreateParams.read_named(request, settings)
    faces, per_photo, models = await faces_of(params, photos, clients, settings)
    create = embedding_pb2.CreateClusterJobRequest(
        tenant=tenant.tenant_id,
        faces=faces,
        min_cluster_size=params.min_cluster_size or 0,
        request_key=uuid.uuid4().hex,
    )
    if params.far is not None:
        create.far = params.far
    reply = await embedding(clients).create_cluster_job(
        create, timeout=settings.cluster_deadline_seconds
    )
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{reply.job_id}"
    return job_out(reply, photos, per_photo, models, request)


@router.post(
    "/clusters/{job_id}/photos",
    status_code=202,
    response_model=ClusterJobOut,
    responses=CLUSTER_ERRORS,
    openapi_extra=ClusterFacesParams.request_body(),
    summary="Add photos to a clustering job",
)
async def add_photos(
    job_id: JobIdPath,
    request: Request,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> ClusterJobOut:
    """Add ``photos`` (or enrolled ``face_tokens`` of ``group_id``) to a job: in the background
    their faces join the clusters they match or form new ones; faces clustered before keep
    their cluster. CLUSTER_JOB_NOT_FOUND (404) for an unknown job."""
    params, photos = await ClusterFacesParams.read_named(request, settings)
    faces, per_photo, models = await faces_of(params, photos, clients, settings)
    reply = await embedding(clients).add_cluster_faces(
        embedding_pb2.AddClusterFacesRequest(
            tenant=tenant.tenant_id, job_id=job_id, faces=faces, request_key=uuid.uuid4().hex
        ),
        timeout=settings.cluster_deadline_seconds,
    )
    return job_out(reply, photos, per_photo, models, request)


@router.get(
    "/clusters/{job_id}",
    response_model=ClusterJobPageOut,
    responses=CLUSTER_ERRORS,
    openapi_extra=ClusterPageParams.query_parameters(),
    summary="A clustering job's status and result",
)
async def get_job(
    job_id: JobIdPath,
    request: Request,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> ClusterJobPageOut:
    """Status (queued, running, done, failed), progress, counts and one page of the latest
    result: clusters largest first, each with its representative face and members, and the
    unassigned faces. While faces added later are clustered, the previous result is shown and
    ``pending_count`` says how many faces it lacks."""
    params = await ClusterPageParams.read(request, settings)
    reply = await embedding(clients).get_cluster_job(
        embedding_pb2.GetClusterJobRequest(
            tenant=tenant.tenant_id,
            job_id=job_id,
            offset=params.offset,
            limit=params.limit,
            unassigned_offset=params.unassigned_offset,
            unassigned_limit=params.unassigned_limit,
        )
    )
    return ClusterJobPageOut(
        **ClusterJobBase.fields_of(reply),
        clusters=[ClusterOut.of(cluster) for cluster in reply.clusters],
        unassigned=[ClusterFaceOut.of(face) for face in reply.unassigned],
        offset=params.offset,
        limit=params.limit,
        unassigned_offset=params.unassigned_offset,
        unassigned_limit=params.unassigned_limit,
        models=ModelRef.merged(reply),
        **envelope(request),
    )


@router.delete(
    "/clusters/{job_id}",
    response_model=ClusterJobDeletedOut,
    responses=CLUSTER_ERRORS,
    summary="Delete a clustering job",
)
async def delete_job(
    job_id: JobIdPath, request: Request, tenant: TenantDep, clients: ClientsDep
) -> ClusterJobDeletedOut:
    """Delete a job with its faces and result (a run in progress is dropped)."""
    await embedding(clients).delete_cluster_job(
        embedding_pb2.DeleteClusterJobRequest(tenant=tenant.tenant_id, job_id=job_id)
    )
    return ClusterJobDeletedOut(job_id=job_id, deleted=True, **envelope(request))
