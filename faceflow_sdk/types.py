"""Typed shapes of the API's JSON responses (``TypedDict``: at run time they are plain dicts).

Field names follow the fixed contract (docs in the gateway's ``/docs``). The server may add
fields; they are kept in the dicts and simply not named here.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class ModelRef(TypedDict):
    """A model used to answer."""

    name: str
    version: str


class Box(TypedDict):
    """A face box in image pixels."""

    x: float
    y: float
    width: float
    height: float


class Landmarks(TypedDict):
    """Five points, each [x, y] in image pixels."""

    left_eye: list[float]
    right_eye: list[float]
    nose: list[float]
    mouth_left: list[float]
    mouth_right: list[float]


class Face(TypedDict):
    """One detected face; attribute fields appear when requested with ``fields``."""

    face_token: str
    box: Box
    score: float
    landmarks: Landmarks
    mesh: NotRequired[list[list[float]] | None]
    age: NotRequired[object]
    gender: NotRequired[object]
    emotion: NotRequired[object]
    pose: NotRequired[object]
    quality: NotRequired[object]


class ImageInfo(TypedDict):
    """The decoded image's size."""

    width: int
    height: int


class DetectResult(TypedDict):
    """``POST /detect``."""

    faces: list[Face]
    image: ImageInfo
    models: list[ModelRef]
    request_id: str
    took_ms: float


class VerifyResult(TypedDict):
    """``POST /verify``."""

    score: float
    similarity: float
    same_person: bool
    thresholds: dict[str, float]
    models: list[ModelRef]
    request_id: str
    took_ms: float


class Group(TypedDict):
    """A gallery group."""

    group_id: str
    created_at: NotRequired[float]
    user_count: NotRequired[int]
    face_count: NotRequired[int]


class GroupList(TypedDict):
    """``GET /groups``."""

    groups: list[Group]
    request_id: str


class StoredFace(TypedDict):
    """A face stored for a user."""

    face_token: str
    created_at: NotRequired[float]


class User(TypedDict):
    """``GET /groups/{group_id}/users/{user_id}``: a user and their faces."""

    group_id: str
    user_id: str
    user_info: NotRequired[str | None]
    faces: list[StoredFace]


class UserList(TypedDict):
    """``GET /groups/{group_id}/users``: one page of users."""

    users: list[User]
    total: int
    offset: int
    limit: int


class EnrollResult(TypedDict):
    """``POST /groups/{group_id}/users/{user_id}/faces``."""

    face_token: str
    group_id: str
    user_id: str
    request_id: str


class Match(TypedDict):
    """One gallery match of a searched face."""

    group_id: str
    user_id: str
    user_info: NotRequired[str | None]
    score: float


class SearchFace(TypedDict):
    """One face of the searched image and its matches, best first."""

    box: Box
    face_token: str
    matches: list[Match]


class SearchResult(TypedDict):
    """``POST /search``."""

    faces: list[SearchFace]
    threshold: float
    fpir: float
    gallery_size: int
    models: list[ModelRef]
    request_id: str
    took_ms: float


class LivenessCheck(TypedDict):
    """``POST /liveness/check``."""

    live: bool
    score: float
    threshold: float
    face: NotRequired[Face]
    models: list[ModelRef]
    request_id: str


class LivenessSession(TypedDict):
    """``POST /liveness/sessions``."""

    session_id: str
    actions: list[str]
    expires_at: str
    expires_in: NotRequired[float]
    request_id: str


class ActionResult(TypedDict):
    """One action of a verified session."""

    action: str
    passed: bool
    frame: int | None


class LivenessVerdict(TypedDict):
    """``POST /liveness/sessions/{session_id}/verify``."""

    session_id: str
    live: bool
    score: float
    threshold: NotRequired[float]
    actions: list[ActionResult]
    reasons: list[str]
    frames_analysed: NotRequired[int]
    frames_with_face: NotRequired[int]
    request_id: str


class ClusterFace(TypedDict):
    """One face of a clustering job: from a photo (``photo``, ``face_index``, ``box``) or an
    enrolled face (``group_id``, ``face_token``)."""

    face_id: int
    photo: str | None
    face_index: int | None
    box: Box | None
    group_id: str | None
    face_token: str | None


class Cluster(TypedDict):
    """One person found: ``cluster_id`` 0 is the largest."""

    cluster_id: int
    size: int
    representative: ClusterFace
    faces: list[ClusterFace]


class ClusterPhoto(TypedDict):
    """A photo a call uploaded (``index``: its position in the call) and the ids its faces got
    in the job (empty: no face in it)."""

    index: int
    name: str
    face_ids: list[int]


class ClusterJob(TypedDict):
    """``POST /clusters``, ``POST /clusters/{job_id}/photos``, ``GET /clusters/{job_id}``.

    ``status``: queued, running, done or failed. ``clusters`` and ``unassigned`` are one page
    of the latest result (``GET``); ``photos`` lists what a ``POST`` added.
    """

    job_id: str
    status: str
    progress: float
    face_count: int
    pending_count: int
    cluster_count: int
    unassigned_count: int
    far: float
    link_similarity: float
    min_cluster_size: int
    created_at: float
    updated_at: float
    error: str | None
    faces_added: NotRequired[int]
    clusters: NotRequired[list[Cluster]]
    unassigned: NotRequired[list[ClusterFace]]
    photos: NotRequired[list[ClusterPhoto]]
    offset: NotRequired[int]
    limit: NotRequired[int]
    unassigned_offset: NotRequired[int]
    unassigned_limit: NotRequired[int]
    models: list[ModelRef]
    request_id: str
    took_ms: float


class VideoBestFrame(TypedDict):
    """A track's best frame (detector score times quality)."""

    time: float
    box: Box
    score: float
    quality: float


class VideoEvent(TypedDict):
    """One person's appearance in a video: ``user_id`` is None for nobody of the groups.

    ``first_seen`` / ``last_seen`` are seconds from the start of the video or stream;
    ``faceflow watch`` adds ``first_seen_at`` / ``last_seen_at`` (UTC) for live sources.
    """

    track_id: int
    user_id: str | None
    group_id: str | None
    user_info: str | None
    face_token: str | None
    score: float | None
    first_seen: float
    last_seen: float
    frames: int
    best_frame: VideoBestFrame
    first_seen_at: NotRequired[str]
    last_seen_at: NotRequired[str]


class VideoInfo(TypedDict):
    """The video as declared, and the frames analysed."""

    width: int
    height: int
    fps: float
    duration_s: float | None
    frames_analysed: int


class VideoResult(TypedDict):
    """``POST /videos/recognize`` answered at once (a short video)."""

    events: list[VideoEvent]
    video: VideoInfo
    threshold: float | None
    fpir: float | None
    gallery_size: int | None
    models: list[ModelRef]
    request_id: str
    took_ms: float


class VideoJob(TypedDict):
    """A video job (``POST /videos/recognize`` answered 202, ``GET /videos/jobs/{id}``).

    ``status``: queued, running, completed or failed (``error``: code and message).
    """

    job_id: str
    status: str
    progress: float
    frames_analysed: int
    events: list[VideoEvent]
    video: VideoInfo | None
    error: dict[str, str] | None
    webhook: dict[str, Any] | None
    threshold: float | None
    fpir: float | None
    gallery_size: int | None
    models: list[ModelRef]
    created_at: str
    updated_at: str
    finished_at: str | None
    request_id: str
    took_ms: float


class VideoStream(TypedDict):
    """A new stream (``POST /videos/streams``)."""

    stream_id: str
    expires_at: str
    idle_timeout_s: float
    request_id: str
    took_ms: float


class VideoStreamBatch(TypedDict):
    """What a batch of frames (or closing the stream) ended."""

    stream_id: str
    events: list[VideoEvent]
    open_tracks: int
    frames_analysed: int
    last_time_ms: float | None
    closed: bool
    threshold: float | None
    fpir: float | None
    gallery_size: int | None
    models: list[ModelRef]
    request_id: str
    took_ms: float
