"""Response schemas of /verify, /search and the gallery endpoints (for the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.api.schemas import Box, Landmarks, ModelRef

THRESHOLDS_DESCRIPTION = (
    'Scores at false-accept rates {"1e-3": s, "1e-4": s, "1e-5": s}, measured on LFW View 1'
)


class FaceUsed(BaseModel):
    """A detected face that was compared."""

    face_token: str = Field(description="stable id of this detection (image + box)")
    box: Box
    score: float = Field(description="detector confidence")
    landmarks: Landmarks
    image: str = Field(description="which field it came from: image_a, image_b or image")


class UserMatched(BaseModel):
    """The stored user a photo was compared with."""

    group_id: str
    user_id: str
    face_token: str = Field(description="the user's stored face that matched best")


class VerifyFacesOut(BaseModel):
    """1:1 result. score = 100 x cosine similarity, clipped to 0-100."""

    score: float = Field(ge=0, le=100)
    similarity: float = Field(description="raw cosine similarity in [-1, 1]")
    same_person: bool = Field(description="score >= the FAR 1e-4 threshold")
    thresholds: dict[str, float] = Field(description=THRESHOLDS_DESCRIPTION)
    faces: list[FaceUsed]
    user: UserMatched | None = Field(default=None, description="only for image + user_id")
    models: list[ModelRef]
    request_id: str
    took_ms: float


class MatchOut(BaseModel):
    """A user found in the gallery."""

    group_id: str
    user_id: str
    user_info: str
    score: float = Field(ge=0, le=100)
    similarity: float
    face_token: str = Field(description="the user's stored face that matched best")


class SearchFaceOut(BaseModel):
    """A face of the photo and the users it matches, best first."""

    face_token: str
    box: Box
    score: float
    landmarks: Landmarks
    matches: list[MatchOut]


class SearchOut(BaseModel):
    """Every face of the photo (largest first) with its matches."""

    faces: list[SearchFaceOut]
    threshold: float = Field(description="the score threshold applied")
    fpir: float = Field(
        description="expected share of strangers matched to someone at that threshold, for "
        "this gallery size (the target asked for, or what an explicit threshold gives)"
    )
    gallery_size: int = Field(description="users searched (a user is one candidate)")
    models: list[ModelRef]
    request_id: str
    took_ms: float


class GroupOut(BaseModel):
    """A group with its counts."""

    group_id: str
    created_at: float = Field(description="seconds since the epoch")
    user_count: int
    face_count: int
    request_id: str
    took_ms: float


class GroupItem(BaseModel):
    """A group in a listing."""

    group_id: str
    created_at: float
    user_count: int
    face_count: int


class GroupListOut(BaseModel):
    """The tenant's groups."""

    groups: list[GroupItem]
    request_id: str
    took_ms: float


class FaceItem(BaseModel):
    """A stored face."""

    face_token: str
    created_at: float


class UserItem(BaseModel):
    """A user with their faces."""

    group_id: str
    user_id: str
    user_info: str
    faces: list[FaceItem]


class UserOut(UserItem):
    """One user."""

    request_id: str
    took_ms: float


class UserPageOut(BaseModel):
    """One page of users, ordered by id."""

    users: list[UserItem]
    total: int
    offset: int
    limit: int
    request_id: str
    took_ms: float


class EnrolledFace(BaseModel):
    """The detected face that was enrolled."""

    box: Box
    score: float
    landmarks: Landmarks


class QualityOut(BaseModel):
    """Quality measured on the enrolled face (services/shared/quality.py)."""

    score: float = Field(ge=0, le=1)
    blur: float
    brightness: float
    yaw: float
    pitch: float
    roll: float


class EnrollOut(BaseModel):
    """The enrolled face's token."""

    face_token: str
    group_id: str
    user_id: str
    face: EnrolledFace
    quality: QualityOut
    models: list[ModelRef]
    request_id: str
    took_ms: float


class DeletedOut(BaseModel):
    """What was deleted."""

    group_id: str
    user_id: str | None = None
    face_token: str | None = None
    deleted: bool
    request_id: str
    took_ms: float
