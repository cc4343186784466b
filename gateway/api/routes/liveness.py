"""Liveness endpoints: passive check, action-challenge sessions and their verification.

``POST /liveness/check`` (one image), ``POST /liveness/sessions`` (a random list of actions
and an expiry), ``POST /liveness/sessions/{session_id}/verify`` (``frames``: several images, or
``video``: one mp4/webm). Sessions belong to the caller's tenant and are single use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Self

from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2
from fastapi import APIRouter, Request
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.liveness_schemas import LivenessCheckOut, SessionOut, VerifyOut
from gateway.api.params import RouteParams
from gateway.api.params.fields import (
    BLANK_IS_DEFAULT,
    CommaList,
    SessionIdPath,
    matching,
    rejection,
)
from gateway.api.params.uploads import ImageUpload, Upload, checked, image_limits, one_video
from gateway.api.schemas import ERROR_RESPONSES, error_responses
from gateway.core.context import envelope
from gateway.orchestration.liveness_calls import liveness
from services.shared.limits import (
    LIVENESS_DEFAULT_ACTIONS,
    LIVENESS_DEFAULT_FRAMES,
    LIVENESS_DEFAULT_MAX_SESSION_TTL_SECONDS,
    MIN_SESSION_TTL_SECONDS,
)

router = APIRouter(tags=["liveness"])

MAX_VIDEO_BYTES = 20 * 1024 * 1024
"""The largest session video the gateway takes over HTTP (the liveness service's default
max_video_bytes): more is 413 VIDEO_TOO_LARGE before the service is called. It is the HTTP
ceiling: a service configured lower (``FACEFLOW_LIVENESS_MAX_VIDEO_BYTES``) refuses a video
over its own limit with VIDEO_TOO_LARGE, also 413 here; one configured higher still gets at
most this much through the gateway."""
MAX_FRAMES_READ = 1000  # the service's own limit (max_frames) answers clearly below this
MAX_INT32 = 2**31 - 1  # action_count and ttl_seconds are int32 in the request message
FRAME_TIME = r"-?\d{1,12}(?:\.\d+)?"
MAX_FRAME_TIME = 10**12
FRAME_TIMES = CommaList(
    item=FRAME_TIME,
    item_schema={
        "anyOf": [
            {"type": "number", "minimum": -MAX_FRAME_TIME, "maximum": MAX_FRAME_TIME},
            {"type": "string", "pattern": f"^{FRAME_TIME}$"},
        ]
    },
    max_items=MAX_FRAMES_READ,
)
FrameTime = Annotated[
    float,
    BeforeValidator(matching(FRAME_TIME, "'frame_times_ms' must be a comma list of numbers")),
    Field(ge=-MAX_FRAME_TIME, le=MAX_FRAME_TIME, allow_inf_nan=False),
]


def frame_time_count(times: list[float]) -> list[float]:
    """At most one time per frame the gateway reads."""
    if len(times) > MAX_FRAMES_READ:
        raise rejection(f"frame_times_ms may hold at most {MAX_FRAMES_READ} values")
    return times


FrameTimes = Annotated[list[FrameTime], FRAME_TIMES, AfterValidator(frame_time_count)]
"""Frame capture times (ms) as a comma list or an array, at most ``MAX_FRAMES_READ``."""


class CheckParams(RouteParams):
    """Parameters of the passive check."""

    image: ImageUpload = Field(description="a photo with the face")


def documented_range(minimum: int, maximum: int) -> Callable[[dict[str, Any]], None]:
    """State the liveness service's default bounds in the document, where the gateway itself
    only checks that the value is a positive int32: the service's settings may change them."""

    def edit(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "integer":
                branch.update(minimum=minimum, maximum=maximum)

    return edit


class SessionParams(RouteParams):
    """Parameters of a new session (query, form or JSON), all optional. Their bounds are the
    liveness service's settings, which it enforces (400 INVALID_ARGUMENT); the document states
    their defaults."""

    action_count: Annotated[int | None, BLANK_IS_DEFAULT] = Field(
        default=None,
        ge=1,
        le=MAX_INT32,
        json_schema_extra=documented_range(*LIVENESS_DEFAULT_ACTIONS),
        description="how many actions (default: random), between the liveness service's "
        "min_actions and max_actions ({}-{} by default)".format(*LIVENESS_DEFAULT_ACTIONS),
    )
    ttl_seconds: Annotated[int | None, BLANK_IS_DEFAULT] = Field(
        default=None,
        ge=1,
        le=MAX_INT32,
        json_schema_extra=documented_range(
            MIN_SESSION_TTL_SECONDS, LIVENESS_DEFAULT_MAX_SESSION_TTL_SECONDS
        ),
        description=f"how long the session lasts (default 60), {MIN_SESSION_TTL_SECONDS} to "
        "the liveness service's max_session_ttl_seconds "
        f"({LIVENESS_DEFAULT_MAX_SESSION_TTL_SECONDS} by default)",
    )


def _video_size(video: bytes | None) -> bytes | None:
    if video is not None and len(video) > MAX_VIDEO_BYTES:
        raise rejection(
            f"the video is over the limit of {MAX_VIDEO_BYTES} bytes", "VIDEO_TOO_LARGE", 413
        )
    return video


class VerifySessionParams(RouteParams):
    """Parameters of a session's verification: frames or a video."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["frames"], "properties": {"video": False}},
                {"required": ["video"], "properties": {"frames": False}},
            ]
        }
    )

    frames: Annotated[
        list[bytes],
        Upload(
            many=True, min_items=LIVENESS_DEFAULT_FRAMES[0], max_items=LIVENESS_DEFAULT_FRAMES[1]
        ),
    ] = Field(
        default=[],
        description="the frames (images) in capture order; how many the liveness service "
        "takes is its setting (min_frames to max_frames, {}-{} by default)".format(
            *LIVENESS_DEFAULT_FRAMES
        ),
    )
    video: Annotated[
        bytes | None,
        BeforeValidator(one_video),
        AfterValidator(_video_size),
        Upload(max_bytes=MAX_VIDEO_BYTES),
    ] = Field(default=None, description="mp4 or webm instead of frames")
    frame_times_ms: FrameTimes = Field(
        default=[],
        description="the frames' capture times (ms), comma list: one per frame, not decreasing",
    )
    frame_interval_ms: Annotated[int | None, BLANK_IS_DEFAULT] = Field(
        default=None,
        ge=1,
        le=10_000,
        description="frame spacing when frame_times_ms is absent (default: the service's, 200)",
    )

    @model_validator(mode="after")
    def frames_or_video(self, info: ValidationInfo) -> Self:
        """Frames or a video, not both; every frame a readable image within the limits."""
        if self.frames and self.video is not None:
            raise rejection("send frames or a video, not both")
        if not self.frames and self.video is None:
            raise rejection("send several images as 'frames' or one 'video'")
        for index, frame in enumerate(self.frames):
            checked(frame, f"frames[{index}]", image_limits(info))
        return self


@router.post(
    "/liveness/check",
    response_model=LivenessCheckOut,
    responses=ERROR_RESPONSES,
    openapi_extra=CheckParams.request_body(),
    summary="Passive liveness of the largest face",
)
async def check(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> LivenessCheckOut:
    """Photo, screen or real face? 400 NO_FACE when the image has none."""
    params = await CheckParams.read(request, settings)
    reply = await liveness(clients).check(
        liveness_pb2.CheckRequest(image=common_pb2.Image(data=params.image))
    )
    return LivenessCheckOut.of(params.image, reply, **envelope(request))


@router.post(
    "/liveness/sessions",
    response_model=SessionOut,
    responses=ERROR_RESPONSES,
    openapi_extra=SessionParams.request_body(),
    summary="Start an action challenge",
)
async def create_session(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> SessionOut:
    """2-4 random actions (blink, open_mouth, turn_left, turn_right, nod) and an expiry.

    turn_left / turn_right mean the user's own left / right. Optional parameters (query, form
    or JSON): ``action_count`` (2-4), ``ttl_seconds`` (5-600, default 60); these bounds are
    the liveness service's defaults, its settings may change them.
    """
    params = await SessionParams.read(request, settings)
    session = await liveness(clients).create_session(
        liveness_pb2.CreateSessionRequest(
            tenant_id=tenant.tenant_id,
            action_count=params.action_count or 0,
            ttl_seconds=params.ttl_seconds or 0,
        ),
    )
    return SessionOut.of(session, **envelope(request))


@router.post(
    "/liveness/sessions/{session_id}/verify",
    response_model=VerifyOut,
    responses=error_responses(
        {
            404: "SESSION_NOT_FOUND",
            409: "SESSION_ALREADY_USED",
            413: "IMAGE_TOO_LARGE, VIDEO_TOO_LARGE",
        }
    ),
    openapi_extra=VerifySessionParams.request_body(),
    summary="Verify an action challenge (single use)",
)
async def verify_session(
    session_id: SessionIdPath,
    request: Request,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> VerifyOut:
    """Send ``frames`` (several images in capture order) or one ``video``.

    Answers ``live: false`` with reasons (NO_FACE_IN_FRAMES, MULTIPLE_FACES, FACE_CHANGED,
    ACTION_NOT_SEEN: <action>, SPOOF_SUSPECTED) when the checks fail; errors for a bad upload
    (400), a frame over the image limits (413 IMAGE_TOO_LARGE), a video over 20 MiB or the
    liveness service's max_video_bytes if lower (413 VIDEO_TOO_LARGE), an unknown session
    (404 SESSION_NOT_FOUND), an expired one (400 SESSION_EXPIRED) or one verified before (409
    SESSION_ALREADY_USED).
    """
    params = await VerifySessionParams.read(request, settings)
    reply = await liveness(clients).verify_session(
        liveness_pb2.VerifySessionRequest(
            tenant_id=tenant.tenant_id,
            session_id=session_id,
            frames=[common_pb2.Image(data=frame) for frame in params.frames],
            video=params.video or b"",
            frame_times_ms=[int(time) for time in params.frame_times_ms],
            frame_interval_ms=params.frame_interval_ms or 0,
        )
    )
    return VerifyOut.of(reply, **envelope(request))
