"""Liveness endpoints: passive check, action-challenge sessions and their verification.

``POST /liveness/check`` (one image), ``POST /liveness/sessions`` (a random list of actions
and an expiry), ``POST /liveness/sessions/{session_id}/verify`` (``frames``: several images, or
``video``: one mp4/webm). Sessions belong to the caller's tenant and are single use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.schemas import ERROR_RESPONSES, DetectedFaceOut, ModelRef, image_request_body
from gateway.core import pipeline
from gateway.core.context import envelope
from gateway.core.errors import ApiError
from gateway.core.inputs import check_image, read_input

router = APIRouter(tags=["liveness"])

VERIFY_DEADLINE_SECONDS = 60.0
MAX_VIDEO_BYTES = 20 * 1024 * 1024
MAX_FRAMES_READ = 1000  # the service's own limit (100) answers with a clear error below this


class LivenessCheckOut(BaseModel):
    """Passive verdict on the largest face."""

    live: bool
    score: float = Field(description="fused real-face probability of the two models, 0-1")
    threshold: float
    face: DetectedFaceOut
    face_count: int
    models: list[ModelRef]
    request_id: str
    took_ms: float


class SessionOut(BaseModel):
    """A new challenge: perform the actions in order, then send the recording."""

    session_id: str
    actions: list[str] = Field(examples=[["blink", "turn_left"]])
    expires_at: str = Field(description="ISO 8601 UTC")
    expires_in: float = Field(description="seconds from now")
    request_id: str
    took_ms: float


class ActionOut(BaseModel):
    """Whether one asked action was seen, and in which frame (-1: not seen)."""

    action: str
    passed: bool
    frame: int


class VerifyOut(BaseModel):
    """The verdict of a session."""

    session_id: str
    live: bool
    score: float
    threshold: float
    actions: list[ActionOut]
    reasons: list[str] = Field(examples=[["ACTION_NOT_SEEN: turn_left"]])
    frames_analysed: int
    frames_with_face: int
    models: list[ModelRef]
    request_id: str
    took_ms: float


def _stub(clients: ClientsDep) -> liveness_pb2_grpc.LivenessServiceStub:
    return liveness_pb2_grpc.LivenessServiceStub(clients.channel("liveness"))


def _action_name(value: int) -> str:
    return str(liveness_pb2.Action.Name(value)).lower()


def _iso(milliseconds: int) -> str:
    moment = datetime.fromtimestamp(milliseconds / 1000.0, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.post(
    "/liveness/check",
    response_model=LivenessCheckOut,
    responses=ERROR_RESPONSES,
    openapi_extra=image_request_body(("image",), {}),
    summary="Passive liveness of the largest face",
)
async def check(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Photo, screen or real face? 400 NO_FACE when the image has none."""
    data = await read_input(request, ("image",), settings.max_image_bytes)
    image = check_image(
        data.image("image") or b"", "image", settings.max_image_bytes, settings.max_image_pixels
    )
    stub = _stub(clients)
    reply: liveness_pb2.CheckResponse = await clients.call(
        "liveness", stub.Check, liveness_pb2.CheckRequest(image=common_pb2.Image(data=image))
    )
    return envelope(
        request,
        {
            "live": reply.live,
            "score": round(reply.score, 4),
            "threshold": round(reply.threshold, 4),
            "face": pipeline.face_json(image, reply.face),
            "face_count": reply.face_count,
            "models": pipeline.models_json(reply),
        },
    )


SESSION_PARAMS: dict[str, dict[str, Any]] = {
    "action_count": {
        "type": "integer",
        "minimum": 2,
        "maximum": 4,
        "description": "default random",
    },
    "ttl_seconds": {"type": "integer", "minimum": 5, "maximum": 600, "default": 60},
}


@router.post(
    "/liveness/sessions",
    response_model=SessionOut,
    responses=ERROR_RESPONSES,
    summary="Start an action challenge",
)
async def create_session(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> dict[str, Any]:
    """2-4 random actions (blink, open_mouth, turn_left, turn_right, nod) and an expiry.

    turn_left / turn_right mean the user's own left / right. Optional parameters (query, form
    or JSON): ``action_count`` (2-4), ``ttl_seconds`` (5-600, default 60).
    """
    data = await read_input(request, (), settings.max_image_bytes)
    reply: liveness_pb2.Session = await clients.call(
        "liveness",
        _stub(clients).CreateSession,
        liveness_pb2.CreateSessionRequest(
            tenant_id=tenant.tenant_id,
            action_count=data.integer("action_count", 0, 2, 4),
            ttl_seconds=data.integer("ttl_seconds", 0, 5, 600),
        ),
    )
    now_ms = datetime.now(tz=UTC).timestamp() * 1000
    return envelope(
        request,
        {
            "session_id": reply.session_id,
            "actions": [_action_name(a) for a in reply.actions],
            "expires_at": _iso(reply.expires_at_ms),
            "expires_in": round(max(0.0, (reply.expires_at_ms - now_ms) / 1000.0), 1),
        },
    )


VERIFY_PARAMS: dict[str, dict[str, Any]] = {
    "frames": {"type": "array", "items": {"type": "string", "format": "binary"}},
    "video": {"type": "string", "format": "binary", "description": "mp4 or webm instead of frames"},
    "frame_interval_ms": {"type": "integer", "default": 200, "description": "frame spacing"},
    "frame_times_ms": {"type": "string", "description": "comma list of capture times (ms)"},
}


def _frame_times(values: list[str]) -> list[int]:
    try:
        return [int(float(v)) for v in values]
    except ValueError:
        raise ApiError(
            400, "INVALID_ARGUMENT", "'frame_times_ms' must be a comma list of numbers"
        ) from None


@router.post(
    "/liveness/sessions/{session_id}/verify",
    response_model=VerifyOut,
    responses={
        **ERROR_RESPONSES,
        404: {"description": "SESSION_NOT_FOUND"},
        409: {"description": "SESSION_ALREADY_USED"},
    },
    openapi_extra=image_request_body((), VERIFY_PARAMS),
    summary="Verify an action challenge (single use)",
)
async def verify_session(
    session_id: str,
    request: Request,
    tenant: TenantDep,
    clients: ClientsDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Send ``frames`` (several images in capture order) or one ``video``.

    Answers ``live: false`` with reasons (NO_FACE_IN_FRAMES, MULTIPLE_FACES, FACE_CHANGED,
    ACTION_NOT_SEEN: <action>, SPOOF_SUSPECTED) when the checks fail; errors for a bad upload
    (400), an unknown session (404 SESSION_NOT_FOUND), an expired one (400 SESSION_EXPIRED)
    or one verified before (409 SESSION_ALREADY_USED).
    """
    limit = max(settings.max_image_bytes, MAX_VIDEO_BYTES)
    data = await read_input(request, ("video",), limit)
    frames = data.files.get("frames") or []
    videos = data.files.get("video") or []
    if len(videos) > 1:
        raise ApiError(400, "INVALID_ARGUMENT", "send one video")
    if frames and videos:
        raise ApiError(400, "INVALID_ARGUMENT", "send frames or a video, not both")
    if not frames and not videos:
        raise ApiError(400, "INVALID_ARGUMENT", "send several images as 'frames' or one 'video'")
    if len(frames) > MAX_FRAMES_READ:
        raise ApiError(400, "INVALID_ARGUMENT", f"{len(frames)} frames is far over the limit")
    video = videos[0] if videos else b""
    if len(video) > MAX_VIDEO_BYTES:
        raise ApiError(
            413, "IMAGE_TOO_LARGE", f"the video is over the limit of {MAX_VIDEO_BYTES} bytes"
        )
    checked = [
        check_image(f, f"frames[{i}]", settings.max_image_bytes, settings.max_image_pixels)
        for i, f in enumerate(frames)
    ]
    message = liveness_pb2.VerifySessionRequest(
        tenant_id=tenant.tenant_id,
        session_id=session_id,
        frames=[common_pb2.Image(data=f) for f in checked],
        video=video,
        frame_times_ms=_frame_times(data.csv("frame_times_ms")),
        frame_interval_ms=data.integer("frame_interval_ms", 0, 1, 10_000),
    )
    reply: liveness_pb2.VerifySessionResponse = await clients.call(
        "liveness", _stub(clients).VerifySession, message, timeout=VERIFY_DEADLINE_SECONDS
    )
    return envelope(
        request,
        {
            "session_id": reply.session_id,
            "live": reply.live,
            "score": round(reply.score, 4),
            "threshold": round(reply.threshold, 4),
            "actions": [
                {"action": _action_name(a.action), "passed": a.passed, "frame": a.frame}
                for a in reply.actions
            ],
            "reasons": list(reply.reasons),
            "frames_analysed": reply.frames_analysed,
            "frames_with_face": reply.frames_with_face,
            "models": pipeline.models_json(reply),
        },
    )
