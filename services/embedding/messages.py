"""Conversions between the embedding protos and arrays / gallery records, with input checks."""

from __future__ import annotations

import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2
from numpy.typing import NDArray

from services.embedding.store.base import Group, Match, User
from services.shared.alignment import ALIGNED_SIZE
from services.shared.errors import InvalidArgumentError
from services.shared.quality import QualityLevel

QUALITY_LEVELS = {
    embedding_pb2.QUALITY_CONTROL_UNSPECIFIED: QualityLevel.NONE,
    embedding_pb2.QUALITY_CONTROL_NONE: QualityLevel.NONE,
    embedding_pb2.QUALITY_CONTROL_LOW: QualityLevel.LOW,
    embedding_pb2.QUALITY_CONTROL_NORMAL: QualityLevel.NORMAL,
    embedding_pb2.QUALITY_CONTROL_HIGH: QualityLevel.HIGH,
}


def crop_array(crop: common_pb2.AlignedCrop, field: str = "crop") -> NDArray[np.uint8]:
    """An AlignedCrop as a (112, 112, 3) uint8 array; INVALID_ARGUMENT when malformed."""
    expected = ALIGNED_SIZE * ALIGNED_SIZE * 3
    if crop.size != ALIGNED_SIZE or len(crop.rgb) != expected:
        raise InvalidArgumentError(
            f"{field} must be a {ALIGNED_SIZE}x{ALIGNED_SIZE} RGB crop ({expected} bytes), got "
            f"size {crop.size} with {len(crop.rgb)} bytes"
        )
    return np.frombuffer(crop.rgb, dtype=np.uint8).reshape(ALIGNED_SIZE, ALIGNED_SIZE, 3)


def embedding_array(
    embedding: embedding_pb2.Embedding, dimension: int, field: str = "embedding"
) -> NDArray[np.float32]:
    """An Embedding as a unit float32 vector; INVALID_ARGUMENT when malformed."""
    vector = np.asarray(embedding.values, dtype=np.float32)
    if vector.shape != (dimension,):
        raise InvalidArgumentError(f"{field} must have {dimension} values, got {vector.shape[0]}")
    norm = float(np.linalg.norm(vector))
    if not np.all(np.isfinite(vector)) or norm < 1e-12:
        raise InvalidArgumentError(f"{field} must be a finite, non-zero vector")
    return np.asarray(vector / norm, dtype=np.float32)


def group_message(group: Group) -> embedding_pb2.Group:
    """A gallery group as its message."""
    return embedding_pb2.Group(
        group_id=group.group_id,
        created_at=group.created_at,
        user_count=group.user_count,
        face_count=group.face_count,
    )


def user_message(user: User) -> embedding_pb2.User:
    """A gallery user (with faces) as its message."""
    return embedding_pb2.User(
        group_id=user.group_id,
        user_id=user.user_id,
        user_info=user.user_info,
        faces=[
            embedding_pb2.FaceRecord(
                face_token=f.face_token, created_at=f.created_at, has_thumbnail=f.has_thumbnail
            )
            for f in user.faces
        ],
    )


def match_message(match: Match, score: float) -> embedding_pb2.Match:
    """A search hit as its message."""
    return embedding_pb2.Match(
        group_id=match.group_id,
        user_id=match.user_id,
        user_info=match.user_info,
        face_token=match.face_token,
        similarity=match.similarity,
        score=score,
    )
