"""Response schemas of /verify, /search and the gallery endpoints (for the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Self

from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2
from pydantic import BaseModel, Field

from gateway.api.schemas import Box, FaceBase, Landmarks, ModelRef, face_score

THRESHOLDS_DESCRIPTION = (
    'Scores at false-accept rates {"1e-3": s, "1e-4": s, "1e-5": s}, measured on LFW View 1'
)


def thresholds_of(thresholds: embedding_pb2.Thresholds) -> dict[str, float]:
    """The published thresholds as {"1e-3": score, "1e-4": score, "1e-5": score}."""
    return {
        "1e-3": round(thresholds.far_1e3, 2),
        "1e-4": round(thresholds.far_1e4, 2),
        "1e-5": round(thresholds.far_1e5, 2),
    }


class FaceUsed(FaceBase):
    """A detected face that was compared."""

    face_token: str = Field(description="stable id of this detection (image + box)")
    score: float = Field(description="detector confidence")
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

    @classmethod
    def of(cls, match: embedding_pb2.Match) -> Self:
        return cls(
            group_id=match.group_id,
            user_id=match.user_id,
            user_info=match.user_info,
            score=round(match.score, 2),
            similarity=round(match.similarity, 4),
            face_token=match.face_token,
        )


class SearchFaceOut(FaceBase):
    """A face of the photo and the users it matches, best first."""

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


class GroupItem(BaseModel):
    """A group in a listing."""

    group_id: str
    created_at: float = Field(description="seconds since the epoch")
    user_count: int
    face_count: int

    @classmethod
    def of(cls, group: embedding_pb2.Group, **extra: Any) -> Self:
        return cls(
            group_id=group.group_id,
            created_at=round(group.created_at, 3),
            user_count=group.user_count,
            face_count=group.face_count,
            **extra,
        )


class GroupOut(GroupItem):
    """A group with its counts."""

    request_id: str
    took_ms: float


class GroupListOut(BaseModel):
    """The tenant's groups."""

    groups: list[GroupItem]
    request_id: str
    took_ms: float


class FaceItem(BaseModel):
    """A stored face."""

    face_token: str
    created_at: float
    has_thumbnail: bool = Field(
        description="a thumbnail is kept with this face (the tenant's thumbnails setting was on"
        " when it was enrolled): GET .../faces/{face_token}/thumbnail"
    )

    @classmethod
    def of(cls, face: embedding_pb2.FaceRecord) -> Self:
        return cls(
            face_token=face.face_token,
            created_at=round(face.created_at, 3),
            has_thumbnail=face.has_thumbnail,
        )


class UserItem(BaseModel):
    """A user with their faces."""

    group_id: str
    user_id: str
    user_info: str
    faces: list[FaceItem]

    @classmethod
    def of(cls, user: embedding_pb2.User, **extra: Any) -> Self:
        return cls(
            group_id=user.group_id,
            user_id=user.user_id,
            user_info=user.user_info,
            faces=[FaceItem.of(face) for face in user.faces],
            **extra,
        )


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

    @classmethod
    def of(cls, face: common_pb2.Face) -> Self:
        return cls(box=Box.of(face.box), score=face_score(face), landmarks=Landmarks.of(face))


class EnrollQualityOut(BaseModel):
    """Quality measured on the enrolled face (services/shared/quality.py)."""

    score: float = Field(ge=0, le=1)
    blur: float
    brightness: float
    yaw: float
    pitch: float
    roll: float

    @classmethod
    def of(cls, quality: common_pb2.Quality) -> Self:
        return cls(
            score=round(quality.score, 3),
            blur=round(quality.blur, 1),
            brightness=round(quality.brightness, 1),
            yaw=round(quality.yaw, 1),
            pitch=round(quality.pitch, 1),
            roll=round(quality.roll, 1),
        )


class EnrollOut(BaseModel):
    """The enrolled face's token."""

    face_token: str
    group_id: str
    user_id: str
    face: EnrolledFace
    quality: EnrollQualityOut
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
