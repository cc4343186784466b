"""Typed shapes of the API's JSON responses (``TypedDict``: at run time they are plain dicts).

Field names follow the fixed contract (docs in the gateway's ``/docs``). The server may add
fields; they are kept in the dicts and simply not named here.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


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
