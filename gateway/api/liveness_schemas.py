"""Response schemas of the liveness endpoints (for the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from faceflow.liveness.v1 import liveness_pb2
from pydantic import BaseModel, Field

from gateway.api.schemas import DetectedFaceOut, ModelRef


def action_name(value: int) -> str:
    """A proto Action as its API name (``turn_left``)."""
    return str(liveness_pb2.Action.Name(value)).lower()


def iso_time(milliseconds: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with a Z."""
    moment = datetime.fromtimestamp(milliseconds / 1000.0, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    @classmethod
    def of(cls, image: bytes, reply: liveness_pb2.CheckResponse, **extra: Any) -> Self:
        return cls(
            live=reply.live,
            score=round(reply.score, 4),
            threshold=round(reply.threshold, 4),
            face=DetectedFaceOut.of(image, reply.face),
            face_count=reply.face_count,
            models=ModelRef.merged(reply),
            **extra,
        )


class SessionOut(BaseModel):
    """A new challenge: perform the actions in order, then send the recording."""

    session_id: str
    actions: list[str] = Field(examples=[["blink", "turn_left"]])
    expires_at: str = Field(description="ISO 8601 UTC")
    expires_in: float = Field(
        description="seconds the session lasts from its creation (the liveness service's own "
        "creation and expiry times, so clock differences between machines do not change it)"
    )
    request_id: str
    took_ms: float

    @classmethod
    def of(cls, session: liveness_pb2.Session, **extra: Any) -> Self:
        # Both times come from the liveness host's clock: their difference is the lifetime,
        # whatever the gateway's clock says. A reply without created_at_ms (an older service)
        # falls back to the gateway's clock.
        start_ms = session.created_at_ms or datetime.now(tz=UTC).timestamp() * 1000
        return cls(
            session_id=session.session_id,
            actions=[action_name(a) for a in session.actions],
            expires_at=iso_time(session.expires_at_ms),
            expires_in=round(max(0.0, (session.expires_at_ms - start_ms) / 1000.0), 1),
            **extra,
        )


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

    @classmethod
    def of(cls, reply: liveness_pb2.VerifySessionResponse, **extra: Any) -> Self:
        return cls(
            session_id=reply.session_id,
            live=reply.live,
            score=round(reply.score, 4),
            threshold=round(reply.threshold, 4),
            actions=[
                ActionOut(action=action_name(a.action), passed=a.passed, frame=a.frame)
                for a in reply.actions
            ],
            reasons=list(reply.reasons),
            frames_analysed=reply.frames_analysed,
            frames_with_face=reply.frames_with_face,
            models=ModelRef.merged(reply),
            **extra,
        )
