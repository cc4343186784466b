"""Video recognition: who appears in a video, one event per person's appearance (a track).

``POST /videos/recognize`` takes an mp4/webm upload: a short one is answered at once
(``200`` with the events); a long one (or ``mode=async``, or a ``webhook_url``) becomes a job
(``202``; ``GET /videos/jobs/{job_id}`` for status, progress and events, ``DELETE`` to stop
and forget it). Streams serve live sources (``faceflow watch``): ``POST /videos/streams``,
then batches of frames with their times (``.../frames``), then ``.../close``; open tracks are
kept between batches, so a person seen across a batch boundary is one event.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticUseDefault

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.liveness_schemas import iso_time
from gateway.api.params import RouteParams
from gateway.api.params.fields import (
    BLANK_IS_DEFAULT,
    OPAQUE_ID_PATTERN,
    GroupId,
    any_case,
    rejection,
)
from gateway.api.params.uploads import Upload, checked, image_limits, one_video
from gateway.api.routes.liveness import FrameTimes
from gateway.api.routes.search import GROUP_IDS, group_count
from gateway.api.schemas import ModelRef, error_responses
from gateway.api.video_schemas import (
    JobDeletedOut,
    StreamBatchOut,
    StreamOut,
    TrackEventOut,
    VideoInfoOut,
    VideoJobOut,
    VideoResultOut,
)
from gateway.core.clients import ServiceClients
from gateway.core.config import GatewaySettings
from gateway.core.context import envelope
from gateway.core.errors import (
    CODE_STATUS_OVERRIDES,
    ApiError,
    http_status_for,
    local_disk_errors,
)
from gateway.core.video_state import StreamBusyError, StreamLease, StreamRecord, VideoState
from gateway.core.webhook_destinations import DestinationRefusedError, check_destination
from gateway.orchestration import recognition
from gateway.orchestration.embedding_calls import embedding
from gateway.orchestration.video import (
    VideoSearch,
    new_recognizer,
    recognize,
    stream_frames,
    video_frames,
)
from gateway.orchestration.video_jobs import VideoJobs, video_info
from services.shared.errors import FaceflowError
from services.shared.face_tracker import FaceTracker
from services.shared.open_set import DEFAULT_FPIR, MAX_FPIR, MIN_FPIR
from services.shared.video import InvalidVideoError, VideoReader, video_file, video_suffix

router = APIRouter(tags=["video"])

MAX_VIDEO_UPLOAD_BYTES = 256 * 1024 * 1024
"""The most bytes read of an upload; the enforced limit is the setting video_max_bytes."""
MIN_FPS, MAX_FPS = 0.2, 30.0
MAX_STREAM_FRAMES = 50
STREAM_LEASE_SECONDS = 30.0
"""A batch holds its stream this long, renewed every third of it while the batch runs: a
gateway that crashed mid-batch leaves the stream busy (409) for at most this long."""
log = logging.getLogger("faceflow.gateway.videos")
WEBHOOK_URL = r"^[hH][tT][tT][pP][sS]?://[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+(?:[/?#][!-~]*)?$"
"""http(s)://host[:port] then an optional path: printable ASCII only (an international
domain name in its punycode form), so JSON Schema's and Python's regexes agree on it."""
JOB_ERRORS = {404: "VIDEO_JOB_NOT_FOUND"}
STREAM_ERRORS = {
    404: "VIDEO_STREAM_NOT_FOUND",
    409: "VIDEO_STREAM_BUSY, FRAMES_OUT_OF_ORDER",
}
JobIdPath = Annotated[
    str,
    PathParam(
        max_length=100,
        pattern=OPAQUE_ID_PATTERN,
        description="as POST /videos/recognize answered it",
    ),
]
StreamIdPath = Annotated[
    str,
    PathParam(
        max_length=100, pattern=OPAQUE_ID_PATTERN, description="as POST /videos/streams answered it"
    ),
]


def _container(video: bytes) -> bytes:
    """Empty, or neither mp4 nor webm: INVALID_VIDEO (what the bytes hold, not a parameter)."""
    if not video:
        raise rejection("the video is empty", "INVALID_VIDEO", content=True)
    try:
        video_suffix(video)
    except InvalidVideoError as error:
        raise rejection(error.message, error.code, content=True) from None
    return video


def _webhook_url(value: Any) -> Any:
    if value == "":
        raise PydanticUseDefault()
    if isinstance(value, str) and not re.fullmatch(WEBHOOK_URL, value):
        raise rejection("webhook_url must be an http:// or https:// URL")
    return value


def _webhook_secret(value: Any) -> Any:
    if value == "":
        raise PydanticUseDefault()
    if isinstance(value, str) and not 16 <= len(value) <= 256:
        raise rejection("webhook_secret must be 16-256 characters")
    if isinstance(value, str) and "\x00" in value:  # the job store's text column cannot hold it
        raise rejection("webhook_secret must not contain a NUL character")
    return value


def _not_a_boolean(value: Any, info: ValidationInfo) -> Any:
    """JSON true/false is no number (pydantic would read it as 1/0)."""
    if isinstance(value, bool):
        raise rejection(f"'{info.field_name}' must be a number, not {str(value).lower()}")
    return value


NOT_A_BOOLEAN = BeforeValidator(_not_a_boolean)
WebhookUrl = Annotated[str, StringConstraints(pattern=WEBHOOK_URL, max_length=2000)]
WebhookSecret = Annotated[
    str, StringConstraints(min_length=16, max_length=256, pattern=r"^[^\x00]*$")
]
OptionalNumber = Annotated[float | None, NOT_A_BOOLEAN, BLANK_IS_DEFAULT]
Integer = Annotated[int, NOT_A_BOOLEAN, BLANK_IS_DEFAULT]


class SearchOptions(RouteParams):
    """Whom to look for and which faces count (shared by uploads and streams)."""

    group_ids: Annotated[list[GroupId], GROUP_IDS, AfterValidator(group_count)] = Field(
        description="the groups to search: 1-100 group ids"
    )
    threshold: OptionalNumber = Field(
        default=None,
        ge=0.0,
        le=100.0,
        description="minimum score of a match; overrides fpir. Default: the threshold that "
        "holds fpir for the number of users searched",
    )
    fpir: OptionalNumber = Field(
        default=None,
        ge=MIN_FPIR,
        le=MAX_FPIR,
        description="target false-positive identification rate per track: the share of "
        f"strangers' appearances matched to someone. Default: the service's ({DEFAULT_FPIR:g})",
    )
    max_faces: Integer = Field(
        default=10,
        ge=1,
        le=recognition.MAX_SEARCH_FACES,
        description="faces per frame, largest first",
    )
    min_face_size: Integer = Field(
        default=0, ge=0, le=4096, description="ignore faces smaller than this (box side, px)"
    )
    fps: OptionalNumber = Field(
        default=None,
        ge=MIN_FPS,
        le=MAX_FPS,
        description="frames analysed per second of video (default: the server's, 5)",
    )

    def search(self, tenant: str) -> VideoSearch:
        return VideoSearch(
            tenant=tenant,
            group_ids=tuple(self.group_ids),
            threshold=self.threshold,
            fpir=self.fpir,
            max_faces=self.max_faces,
            min_face_size=self.min_face_size,
        )


class RecognizeParams(SearchOptions):
    """Parameters of /videos/recognize."""

    model_config = ConfigDict(
        json_schema_extra={"dependentRequired": {"webhook_url": ["webhook_secret"]}}
    )

    video: Annotated[
        bytes,
        BeforeValidator(one_video),
        AfterValidator(_container),
        Upload(max_bytes=MAX_VIDEO_UPLOAD_BYTES),
    ] = Field(description="the video: mp4 or webm")
    mode: Annotated[Literal["auto", "async"], any_case(("auto", "async"))] = Field(
        default="auto",
        description="auto: answer at once when the video is short (its declared length at "
        "most the server's sync limit, 30 s), else a job; async: always a job",
    )
    webhook_url: Annotated[WebhookUrl | None, BeforeValidator(_webhook_url)] = Field(
        default=None,
        description="an http:// or https:// URL that receives each event as the job runs "
        "(makes the request a job); needs webhook_secret",
    )
    webhook_secret: Annotated[WebhookSecret | None, BeforeValidator(_webhook_secret)] = Field(
        default=None,
        description="the key of each delivery's HMAC-SHA256 signature (16-256 characters, no "
        "NUL); "
        "required with webhook_url",
    )

    @model_validator(mode="after")
    def secret_with_url(self) -> Self:
        """A webhook is signed: no URL without its secret."""
        if self.webhook_url is not None and self.webhook_secret is None:
            raise rejection("webhook_secret is required with webhook_url")
        return self


class StreamParams(SearchOptions):
    """Parameters of a new stream (its frames come in batches)."""


class FramesParams(RouteParams):
    """One batch of a stream's frames."""

    frames: Annotated[list[bytes], Upload(many=True, min_items=1, max_items=MAX_STREAM_FRAMES)] = (
        Field(
            description=f"the frames (JPEG or PNG images) in capture order, 1-{MAX_STREAM_FRAMES}"
        )
    )
    frame_times_ms: FrameTimes = Field(
        description="the frames' capture times in ms from the stream's start, comma list: one "
        "per frame, not decreasing, after the previous batch's last"
    )

    @model_validator(mode="after")
    def one_time_per_frame(self, info: ValidationInfo) -> Self:
        """Every frame a readable image; one time each, in order."""
        if len(self.frames) > MAX_STREAM_FRAMES:
            raise rejection(f"at most {MAX_STREAM_FRAMES} frames per batch")
        for index, frame in enumerate(self.frames):
            checked(frame, f"frames[{index}]", image_limits(info))
        if len(self.frame_times_ms) != len(self.frames):
            raise rejection(
                f"frame_times_ms has {len(self.frame_times_ms)} values for "
                f"{len(self.frames)} frames"
            )
        times = self.frame_times_ms
        if any(b < a for a, b in itertools.pairwise(times)):
            raise rejection("frame_times_ms must not decrease")
        return self


def api_error(error: FaceflowError) -> ApiError:
    """A domain error raised in the gateway (decoding a video) as its HTTP answer."""
    status = CODE_STATUS_OVERRIDES.get(error.code, http_status_for(error.status))
    return ApiError(status, error.code, error.message)


async def check_groups(clients: ServiceClients, tenant: str, group_ids: list[str]) -> None:
    """404 GROUP_NOT_FOUND before any video work when a group does not exist."""
    listing = await embedding(clients).list_groups(embedding_pb2.ListGroupsRequest(tenant=tenant))
    known = {group.group_id for group in listing.groups}
    for group_id in group_ids:
        if group_id not in known:
            raise ApiError(404, "GROUP_NOT_FOUND", f"group {group_id!r} does not exist")


def _open(path: Path, settings: GatewaySettings, max_seconds: float) -> VideoReader:
    try:
        return VideoReader(
            path,
            max_pixels=settings.max_image_pixels,
            max_side=settings.video_max_side,
            max_duration_s=max_seconds,
        )
    except FaceflowError as error:
        raise api_error(error) from None


def video_jobs(request: Request) -> VideoJobs:
    jobs: VideoJobs = request.app.state.video_jobs
    return jobs


def video_state(request: Request) -> VideoState:
    return video_jobs(request).state


@router.post(
    "/videos/recognize",
    response_model=VideoResultOut,
    responses={
        202: {"model": VideoJobOut, "description": "a job (long video, mode=async, webhook)"},
        **error_responses({404: "GROUP_NOT_FOUND", 413: "VIDEO_TOO_LARGE, IMAGE_TOO_LARGE"}),
    },
    openapi_extra=RecognizeParams.request_body(),
    summary="Recognize the people in a video (one event per track)",
)
async def recognize_video(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> Any:
    """Detect the faces at ``fps``, track them, search each track's best frames in the groups
    (open-set: ``fpir`` per track), and answer one event per track.

    Refused: not an mp4/webm or empty (400 INVALID_VIDEO), over ``video_max_bytes`` (413
    VIDEO_TOO_LARGE), longer than ``video_max_seconds`` (400 VIDEO_TOO_LONG), frames over the
    pixel limit (413 IMAGE_TOO_LARGE), an unknown group (404 GROUP_NOT_FOUND); no room on the
    gateway's disk for the video (503 SERVICE_UNAVAILABLE, nothing stored).
    """
    params = await RecognizeParams.read(request, settings)
    if len(params.video) > settings.video_max_bytes:
        raise ApiError(
            413,
            "VIDEO_TOO_LARGE",
            f"the video is {len(params.video)} bytes; "
            f"the limit is {settings.video_max_bytes} bytes",
        )
    search = params.search(tenant.tenant_id)
    await check_groups(clients, tenant.tenant_id, params.group_ids)
    fps = params.fps or settings.video_default_fps
    webhook = None
    if params.webhook_url is not None and params.webhook_secret is not None:
        try:
            await check_destination(params.webhook_url, settings.webhook_networks)
        except DestinationRefusedError as refused:
            raise ApiError(400, "INVALID_ARGUMENT", str(refused)) from None
        webhook = (params.webhook_url, params.webhook_secret)
    with ExitStack() as stack:
        with local_disk_errors("the video"):
            path = stack.enter_context(video_file(params.video))
        reader = await asyncio.to_thread(_open, path, settings, settings.video_max_seconds)
        try:
            duration = reader.info.duration_s
            info = video_info(reader)
            now = (
                params.mode == "auto"
                and webhook is None
                and duration is not None
                and duration <= settings.video_sync_max_seconds
            )
            if now:
                # answered within the request: its length, declared or not, is bounded by
                # the sync limit (a file may declare 10 s and hold 600)
                reader.limit(settings.video_sync_max_seconds)
                recognizer = new_recognizer(clients, search, fps, settings)
                try:
                    events = await recognize(
                        recognizer,
                        video_frames(reader, fps),
                        window=settings.video_pipeline_window,
                    )
                except FaceflowError as error:
                    raise api_error(error) from None
                return VideoResultOut(
                    events=[TrackEventOut.model_validate(e) for e in events],
                    video=VideoInfoOut(**info, frames_analysed=recognizer.frames),
                    models=[ModelRef.model_validate(m) for m in recognizer.model_list()],
                    **recognizer.summary.as_json(),
                    **envelope(request),
                )
        finally:
            reader.close()
    job = video_jobs(request).start(
        tenant.tenant_id, params.video, video_suffix(params.video), search, fps, info, webhook
    )
    body = VideoJobOut.of(job, [], [], **envelope(request))
    return JSONResponse(
        status_code=202,
        content=body.model_dump(mode="json"),
        headers={"Location": f"{request.url.path.rsplit('/', 1)[0]}/jobs/{job.job_id}"},
    )


@router.get(
    "/videos/jobs/{job_id}",
    response_model=VideoJobOut,
    responses=error_responses(JOB_ERRORS),
    summary="A video job: status, progress, events, webhook deliveries",
)
async def get_job(request: Request, job_id: JobIdPath, tenant: TenantDep) -> VideoJobOut:
    """404 JOB_NOT_FOUND for an unknown job (or another app's)."""
    jobs = video_jobs(request)
    job = jobs.job(tenant.tenant_id, job_id)
    if job is None:
        raise ApiError(404, "VIDEO_JOB_NOT_FOUND", f"no video job {job_id!r}")
    return VideoJobOut.of(
        job, jobs.state.events(job.job_id), jobs.state.deliveries(job.job_id), **envelope(request)
    )


@router.delete(
    "/videos/jobs/{job_id}",
    response_model=JobDeletedOut,
    responses=error_responses(JOB_ERRORS),
    summary="Stop and delete a video job",
)
async def delete_job(request: Request, job_id: JobIdPath, tenant: TenantDep) -> JobDeletedOut:
    """A running job stops; its events and delivery records are deleted with it."""
    jobs = video_jobs(request)
    if not jobs.state.delete_job(tenant.tenant_id, job_id):
        raise ApiError(404, "VIDEO_JOB_NOT_FOUND", f"no video job {job_id!r}")
    jobs.cancel(job_id)
    return JobDeletedOut(job_id=job_id, deleted=True, **envelope(request))


@router.post(
    "/videos/streams",
    response_model=StreamOut,
    responses=error_responses({404: "GROUP_NOT_FOUND"}),
    openapi_extra=StreamParams.request_body(),
    summary="Open a stream (a live source sent in batches of frames)",
)
async def create_stream(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> StreamOut:
    """Then send batches to ``/videos/streams/{stream_id}/frames`` and close it; a stream
    idle for ``idle_timeout_s`` is dropped with its open tracks."""
    params = await StreamParams.read(request, settings)
    await check_groups(clients, tenant.tenant_id, params.group_ids)
    fps = params.fps or settings.video_default_fps
    record = video_state(request).create_stream(
        tenant.tenant_id,
        {**params.search(tenant.tenant_id).as_json(), "fps": fps},
        FaceTracker().state(),
        settings.video_stream_idle_seconds,
    )
    return StreamOut(
        stream_id=record.stream_id,
        expires_at=iso_time(round(record.expires_at * 1000)),
        idle_timeout_s=settings.video_stream_idle_seconds,
        **envelope(request),
    )


def _claim(
    request: Request, tenant: str, stream_id: str, settings: GatewaySettings
) -> StreamRecord:
    try:
        record = video_state(request).claim_stream(tenant, stream_id, STREAM_LEASE_SECONDS)
    except StreamBusyError:
        raise ApiError(
            409,
            "VIDEO_STREAM_BUSY",
            "a batch of this stream is being processed; send batches one at a time",
        ) from None
    if record is None:
        raise ApiError(
            404,
            "VIDEO_STREAM_NOT_FOUND",
            f"no open stream {stream_id!r} (unknown, closed, or idle for too long)",
        )
    return record


async def keep_lease(state: VideoState, lease: StreamLease, lease_seconds: float) -> None:
    """Renew a running batch's lease every third of it, until cancelled or the lease is lost
    (the stream closed, or taken after this one ran out); a database that fails meanwhile is
    tried again at the next turn. (On the event loop, as the batch's other stream writes: the
    lease's ``until`` changes only between them.)"""
    while True:
        await asyncio.sleep(lease_seconds / 3)
        try:
            if not state.renew_stream(lease, lease_seconds):
                return
        except Exception:
            log.warning("stream %s: lease not renewed", lease.stream_id, exc_info=True)


async def _batch(
    request: Request,
    clients: ServiceClients,
    settings: GatewaySettings,
    record: StreamRecord,
    frames: list[bytes],
    times: list[float],
    close: bool,
) -> StreamBatchOut:
    state = video_state(request)
    lease = record.lease
    assert lease is not None  # a claimed record
    renewing = asyncio.create_task(keep_lease(state, lease, STREAM_LEASE_SECONDS))
    try:
        search = VideoSearch.from_json(record.tenant, record.request)
        recognizer = new_recognizer(
            clients, search, float(record.request["fps"]), settings, record.tracker
        )
        recognizer.frames = record.frames_analysed
        events = await recognize(
            recognizer,
            stream_frames(frames, times),
            window=settings.video_pipeline_window,
            finish=close,
        )
    except BaseException:
        state.release_stream(lease)
        raise
    finally:
        renewing.cancel()
    last = times[-1] if times else record.last_time_ms
    if close:
        state.delete_stream(record.stream_id)
    elif not state.save_stream(
        lease,
        recognizer.tracker.state(),
        recognizer.frames,
        last,
        settings.video_stream_idle_seconds,
    ):
        # closed by another request while this batch ran (or its lease ran out and another
        # batch took the stream): its tracks end with this answer
        log.warning(
            "stream %s was closed or taken during a batch; its open tracks are dropped",
            record.stream_id,
        )
    return StreamBatchOut(
        stream_id=record.stream_id,
        events=[TrackEventOut.model_validate(e) for e in events],
        open_tracks=len(recognizer.tracker.live),
        frames_analysed=recognizer.frames,
        last_time_ms=last,
        closed=close,
        models=[ModelRef.model_validate(m) for m in recognizer.model_list()],
        **recognizer.summary.as_json(),
        **envelope(request),
    )


@router.post(
    "/videos/streams/{stream_id}/frames",
    response_model=StreamBatchOut,
    responses=error_responses(STREAM_ERRORS),
    openapi_extra=FramesParams.request_body(),
    summary="Send a batch of a stream's frames; the tracks that ended come back",
)
async def stream_frames_route(
    request: Request,
    stream_id: StreamIdPath,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> StreamBatchOut:
    """A track still open at the end of the batch continues in the next one."""
    params = await FramesParams.read(request, settings)
    record = _claim(request, tenant.tenant_id, stream_id, settings)
    times = [float(t) for t in params.frame_times_ms]
    if record.last_time_ms is not None and times[0] <= record.last_time_ms:
        assert record.lease is not None  # a claimed record
        video_state(request).release_stream(record.lease)
        raise ApiError(
            409,
            "FRAMES_OUT_OF_ORDER",
            f"the batch starts at {times[0]:g} ms, not after the stream's last frame "
            f"({record.last_time_ms:g} ms)",
        )
    return await _batch(request, clients, settings, record, params.frames, times, close=False)


@router.post(
    "/videos/streams/{stream_id}/close",
    response_model=StreamBatchOut,
    responses=error_responses(STREAM_ERRORS),
    summary="Close a stream: the tracks still open end and come back",
)
async def close_stream(
    request: Request,
    stream_id: StreamIdPath,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> StreamBatchOut:
    """The stream is gone afterwards."""
    record = _claim(request, tenant.tenant_id, stream_id, settings)
    return await _batch(request, clients, settings, record, [], [], close=True)
