"""The liveness RPCs: validate, decode, run the models, build the responses."""

from __future__ import annotations

import random

import grpc
from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc

from services.liveness.actions import ActionName, random_actions
from services.liveness.errors import NoFaceError
from services.liveness.frames import DecodedFrames, FrameLimits, decode_frames, decode_video
from services.liveness.passive import PassiveLiveness
from services.liveness.sessions import Sessions
from services.liveness.settings import LivenessSettings
from services.liveness.tracking import FaceTracker
from services.liveness.verdict import VerdictRules, decide
from services.shared.errors import InvalidArgumentError, ensure_active
from services.shared.face_messages import face_to_proto
from services.shared.imaging import ImageLimits, decode_image
from services.shared.limits import MAX_SESSION_ID, MIN_SESSION_TTL_SECONDS
from services.shared.model_zoo import ServedModel

ACTION_TO_PROTO = {
    ActionName.BLINK: liveness_pb2.BLINK,
    ActionName.OPEN_MOUTH: liveness_pb2.OPEN_MOUTH,
    ActionName.TURN_LEFT: liveness_pb2.TURN_LEFT,
    ActionName.TURN_RIGHT: liveness_pb2.TURN_RIGHT,
    ActionName.NOD: liveness_pb2.NOD,
}
MAX_TENANT_ID = 200


class LivenessServicer(liveness_pb2_grpc.LivenessServiceServicer):  # type: ignore[misc]
    """Implements faceflow.liveness.v1.LivenessService."""

    def __init__(
        self,
        settings: LivenessSettings,
        tracker: FaceTracker,
        passive: PassiveLiveness,
        sessions: Sessions,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.tracker = tracker
        self.passive = passive
        self.sessions = sessions
        self.served_models: list[ServedModel] = [
            tracker.detector,
            tracker.mesh,
            tracker.embedder,
            *passive.models,
        ]
        self.rng = rng or random.SystemRandom()
        self.image_limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
        self.frame_limits = FrameLimits(
            max_frames=settings.max_frames,
            min_frames=settings.min_frames,
            max_video_bytes=settings.max_video_bytes,
            image=ImageLimits(settings.max_image_bytes, settings.max_frame_pixels),
            max_side=settings.max_frame_side,
        )
        self.rules = VerdictRules(
            passive_threshold=settings.passive_threshold,
            same_person_similarity=settings.same_person_similarity,
            min_face_fraction=settings.min_face_fraction,
            best_frames=settings.best_frames,
        )

    def close(self) -> None:
        """Close the session store."""
        self.sessions.close()

    def Check(  # noqa: N802 (gRPC method name)
        self, request: liveness_pb2.CheckRequest, context: grpc.ServicerContext
    ) -> liveness_pb2.CheckResponse:
        image = decode_image(request.image.data, self.image_limits)
        all_faces = self.tracker.detector.detect(image)
        faces = self.tracker.significant(all_faces)
        if not faces:
            raise NoFaceError("no face was found in the image")
        face = faces[0]
        result = self.passive.check(image, face.box)
        threshold = self.settings.passive_threshold
        return liveness_pb2.CheckResponse(
            live=result.score >= threshold,
            score=result.score,
            threshold=threshold,
            face=face_to_proto(face, image, with_crop=False),
            face_count=len(all_faces),
            models=[self.tracker.detector.info, *(m.info for m in self.passive.models)],
        )

    def CreateSession(  # noqa: N802 (gRPC method name)
        self, request: liveness_pb2.CreateSessionRequest, context: grpc.ServicerContext
    ) -> liveness_pb2.Session:
        tenant = _tenant(request.tenant_id)
        low, high = self.settings.min_actions, self.settings.max_actions
        count = request.action_count or self.rng.randint(low, high)
        if not low <= count <= high:
            raise InvalidArgumentError(f"action_count must be between {low} and {high}")
        ttl = request.ttl_seconds or self.settings.session_ttl_seconds
        longest = self.settings.max_session_ttl_seconds
        if not MIN_SESSION_TTL_SECONDS <= ttl <= longest:
            raise InvalidArgumentError(
                f"ttl_seconds must be between {MIN_SESSION_TTL_SECONDS} and {longest}"
            )
        actions = random_actions(count, self.rng)
        record = self.sessions.create(tenant, [a.value for a in actions], ttl)
        return liveness_pb2.Session(
            session_id=record.session_id,
            actions=[ACTION_TO_PROTO[a] for a in actions],
            created_at_ms=round(record.created_at * 1000),
            expires_at_ms=round(record.expires_at * 1000),
        )

    def _decode(
        self, request: liveness_pb2.VerifySessionRequest, context: grpc.ServicerContext
    ) -> DecodedFrames:
        if request.frames and request.video:
            raise InvalidArgumentError("send frames or a video, not both")
        if request.video:
            return decode_video(
                request.video,
                self.settings.video_sample_fps,
                self.frame_limits,
                ensure_active=lambda: ensure_active(context),
            )
        if not request.frames:
            raise InvalidArgumentError("no frames: send several frames or one video")
        if request.frame_interval_ms < 0:
            raise InvalidArgumentError("frame_interval_ms must not be negative")
        interval = request.frame_interval_ms or self.settings.default_frame_interval_ms
        return decode_frames(
            [f.data for f in request.frames],
            list(request.frame_times_ms),
            interval,
            self.frame_limits,
        )

    def VerifySession(  # noqa: N802 (gRPC method name)
        self, request: liveness_pb2.VerifySessionRequest, context: grpc.ServicerContext
    ) -> liveness_pb2.VerifySessionResponse:
        tenant = _tenant(request.tenant_id)
        session_id = request.session_id
        if not session_id or len(session_id) > MAX_SESSION_ID:
            raise InvalidArgumentError("session_id is required")
        # Validate and decode before claiming, so a malformed upload does not burn the
        # session; the claim itself refuses a recording longer than the session's window
        # without consuming it. Any verification that gets past the claim consumes it. A call
        # cancelled or timed out while decoding stops there (CANCELLED / DEADLINE_EXCEEDED),
        # the session still unused.
        decoded = self._decode(request, context)
        ensure_active(context)
        span_s = (decoded.times_ms[-1] - decoded.times_ms[0]) / 1000.0 if decoded.times_ms else 0.0
        record = self.sessions.claim(tenant, session_id, span_seconds=span_s)
        asked = [ActionName(a) for a in record.actions]
        frames = self.tracker.track(decoded.images, decoded.times_ms)
        verdict = decide(asked, frames, decoded.images, self.passive, self.rules)
        return liveness_pb2.VerifySessionResponse(
            session_id=record.session_id,
            live=verdict.live,
            score=verdict.score,
            actions=[
                liveness_pb2.ActionResult(
                    action=ACTION_TO_PROTO[o.action], passed=o.passed, frame=o.frame
                )
                for o in verdict.actions
            ],
            reasons=verdict.reasons,
            frames_analysed=len(frames),
            frames_with_face=verdict.frames_with_face,
            threshold=self.settings.passive_threshold,
            models=[model.info for model in self.served_models],
        )


def _tenant(tenant_id: str) -> str:
    if not tenant_id or len(tenant_id) > MAX_TENANT_ID:
        raise InvalidArgumentError("tenant_id is required")
    return tenant_id
