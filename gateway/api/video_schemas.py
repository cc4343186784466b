"""Response schemas of the video endpoints: track events, the synchronous result, jobs with
their webhook deliveries, and streams."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from gateway.api.liveness_schemas import iso_time
from gateway.api.schemas import Box, ModelRef
from gateway.core.video_state import DeliveryRecord, JobRecord


class BestFrameOut(BaseModel):
    """The track's best frame: detector score times quality, highest."""

    time: float = Field(description="seconds from the start of the video (or stream)")
    box: Box
    score: float = Field(description="the detector's confidence, 0-1")
    quality: float = Field(description="the aligned face's quality, 0-1 (size, sharpness, pose)")


class TrackEventOut(BaseModel):
    """One person's appearance: a track of their face, and who they are in the groups."""

    track_id: int = Field(description="numbers the tracks of one video or stream, from 1")
    user_id: str | None = Field(description="who it is; null when nobody of the groups matches")
    group_id: str | None
    user_info: str | None
    face_token: str | None = Field(description="the enrolled face that matched best")
    score: float | None = Field(description="the match's score 0-100; null without a match")
    first_seen: float = Field(description="seconds from the start of the video (or stream)")
    last_seen: float
    frames: int = Field(description="sampled frames in which the face was detected")
    best_frame: BestFrameOut


class VideoInfoOut(BaseModel):
    """The video as its container declares it, and how much was analysed."""

    width: int
    height: int
    fps: float = Field(description="the video's own frame rate")
    duration_s: float | None = Field(description="declared length; null when it says none")
    frames_analysed: int = Field(description="frames sampled and run through detection")


class SearchSummaryOut(BaseModel):
    """The threshold the searches applied (null when no track was searched)."""

    threshold: float | None = Field(description="the match score threshold applied")
    fpir: float | None = Field(
        description="the false-positive identification rate it gives for gallery_size users"
    )
    gallery_size: int | None = Field(description="users searched")


class VideoResultOut(SearchSummaryOut):
    """A video recognized while you waited: one event per track, in order of ending."""

    events: list[TrackEventOut]
    video: VideoInfoOut
    models: list[ModelRef]
    request_id: str
    took_ms: float


class JobErrorOut(BaseModel):
    """Why a job failed."""

    code: str = Field(examples=["INVALID_VIDEO", "INTERRUPTED"])
    message: str


class DeliveryAttemptOut(BaseModel):
    """One try to deliver a webhook message."""

    at: str = Field(description="ISO 8601 UTC")
    status_code: int | None = Field(description="the receiver's HTTP status; null: no answer")
    error: str | None
    duration_ms: float


class DeliveryOut(BaseModel):
    """One webhook message and its delivery attempts."""

    delivery_id: str = Field(description="sent as X-FaceFlow-Delivery on every attempt")
    event: Literal["video.track", "video.job"]
    track_id: int | None
    delivered: bool
    attempts: list[DeliveryAttemptOut]

    @classmethod
    def of(cls, record: DeliveryRecord) -> Self:
        return cls(
            delivery_id=record.delivery_id,
            event="video.track" if record.kind == "video.track" else "video.job",
            track_id=record.track_id,
            delivered=record.delivered,
            attempts=[
                DeliveryAttemptOut(
                    at=iso_time(round(float(a["at"]) * 1000)),
                    status_code=a.get("status_code"),
                    error=a.get("error"),
                    duration_ms=float(a.get("duration_ms", 0.0)),
                )
                for a in record.attempts
            ],
        )


class WebhookOut(BaseModel):
    """Where the job's events go, and how each delivery went."""

    url: str
    deliveries: list[DeliveryOut]


class VideoJobOut(SearchSummaryOut):
    """A video job: its status, progress, the events so far, and its webhook deliveries."""

    job_id: str
    status: Literal["queued", "running", "completed", "failed"]
    progress: float = Field(description="0-1 (by the declared length; 1 when completed)")
    frames_analysed: int
    events: list[TrackEventOut] = Field(description="tracks ended so far, in order of ending")
    video: VideoInfoOut | None = Field(description="the video as its container declares it")
    error: JobErrorOut | None
    webhook: WebhookOut | None
    models: list[ModelRef]
    created_at: str = Field(description="ISO 8601 UTC")
    updated_at: str
    finished_at: str | None
    request_id: str
    took_ms: float

    @classmethod
    def of(
        cls,
        job: JobRecord,
        events: list[dict[str, Any]],
        deliveries: list[DeliveryRecord],
        **extra: Any,
    ) -> Self:
        result = job.result or {}
        url = job.request.get("webhook_url")
        return cls(
            job_id=job.job_id,
            status=_status(job.status),
            progress=round(job.progress, 4),
            frames_analysed=job.frames_analysed,
            events=[TrackEventOut.model_validate(event) for event in events],
            video=VideoInfoOut.model_validate({**job.video, "frames_analysed": job.frames_analysed})
            if job.video is not None
            else None,
            error=JobErrorOut(code=job.error_code, message=job.error_message or "")
            if job.error_code
            else None,
            webhook=WebhookOut(url=url, deliveries=[DeliveryOut.of(d) for d in deliveries])
            if url
            else None,
            threshold=result.get("threshold"),
            fpir=result.get("fpir"),
            gallery_size=result.get("gallery_size"),
            models=[ModelRef.model_validate(m) for m in result.get("models", [])],
            created_at=iso_time(round(job.created_at * 1000)),
            updated_at=iso_time(round(job.updated_at * 1000)),
            finished_at=iso_time(round(job.finished_at * 1000)) if job.finished_at else None,
            **extra,
        )


def _status(value: str) -> Literal["queued", "running", "completed", "failed"]:
    if value == "queued":
        return "queued"
    if value == "running":
        return "running"
    if value == "completed":
        return "completed"
    return "failed"


class StreamOut(BaseModel):
    """A new stream: send its frames in batches, then close it."""

    stream_id: str
    expires_at: str = Field(description="ISO 8601 UTC; each batch extends it")
    idle_timeout_s: float = Field(description="a stream without frames this long is closed")
    request_id: str
    took_ms: float


class StreamBatchOut(SearchSummaryOut):
    """What one batch (or closing the stream) ended: one event per finished track."""

    stream_id: str
    events: list[TrackEventOut]
    open_tracks: int = Field(description="tracks still open (their events come later)")
    frames_analysed: int = Field(description="frames of the stream analysed so far")
    last_time_ms: float | None = Field(description="time of the stream's last frame")
    closed: bool
    models: list[ModelRef]
    request_id: str
    took_ms: float


class JobDeletedOut(BaseModel):
    """A deleted job."""

    job_id: str
    deleted: bool
    request_id: str
    took_ms: float
