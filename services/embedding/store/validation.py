"""Input checks shared by both gallery backends: ids, paging, faces to enroll, embeddings.

Bad input raises ``InvalidArgumentError`` (HTTP 400) with a message naming the field; the backends
never see an unchecked id or a vector of the wrong shape.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from services.shared import limits
from services.shared.errors import InvalidArgumentError
from services.shared.limits import MAX_SEARCH_GROUPS, MAX_TOP_K, MAX_USER_INFO_CHARS

TOKEN_PATTERN = re.compile(limits.FACE_TOKEN_PATTERN)
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MAX_PAGE_LIMIT = 1000
MAX_THUMBNAIL_BYTES = 64 * 1024
JPEG_MAGIC = b"\xff\xd8\xff"


def checked_thumbnail(data: bytes) -> bytes | None:
    """A face thumbnail to keep: None for none (empty), else a JPEG of at most 64 KiB."""
    if not data:
        return None
    if len(data) > MAX_THUMBNAIL_BYTES:
        raise InvalidArgumentError(f"thumbnail must be at most {MAX_THUMBNAIL_BYTES} bytes")
    if not data.startswith(JPEG_MAGIC):
        raise InvalidArgumentError("thumbnail must be a JPEG image")
    return data


def check_id(value: str, field: str) -> str:
    """A tenant, group or user id: 1-128 of letters, digits, ``_ . @ -``, not dots only."""
    if not limits.is_gallery_id(value):
        raise InvalidArgumentError(f"{field} {limits.ID_RULE}")
    return value


def is_face_token(value: str) -> bool:
    """Whether a string has the shape of a face token (32 lowercase hex digits)."""
    return isinstance(value, str) and TOKEN_PATTERN.match(value) is not None


def check_sha256(value: str) -> str:
    """A lowercase hex sha256 of the enrolled image."""
    if not isinstance(value, str) or not SHA256_PATTERN.match(value):
        raise InvalidArgumentError("image_sha256 must be 64 lowercase hex digits")
    return value


def check_user_info(value: str | None) -> str | None:
    """Free text stored with the user, at most ``MAX_USER_INFO_CHARS`` characters and no NUL
    (a text column cannot hold one: PostgreSQL refuses it)."""
    if value is not None and (not isinstance(value, str) or len(value) > MAX_USER_INFO_CHARS):
        raise InvalidArgumentError(f"user_info must be text of at most {MAX_USER_INFO_CHARS} chars")
    if value is not None and "\x00" in value:
        raise InvalidArgumentError("user_info must not contain a NUL character")
    return value


def check_page(offset: int, limit: int) -> None:
    """Paging: ``offset >= 0`` and ``1 <= limit <= MAX_PAGE_LIMIT``."""
    if offset < 0:
        raise InvalidArgumentError("offset must be >= 0")
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_PAGE_LIMIT}")


def check_top_k(top_k: int) -> None:
    """How many users a search returns: 1..MAX_TOP_K."""
    if not 1 <= top_k <= MAX_TOP_K:
        raise InvalidArgumentError(f"top_k must be between 1 and {MAX_TOP_K}")


def check_group_ids(group_ids: list[str]) -> list[str]:
    """The groups a search covers: 1..MAX_SEARCH_GROUPS valid ids, duplicates dropped."""
    if not group_ids:
        raise InvalidArgumentError("group_ids must name at least one group")
    if len(group_ids) > MAX_SEARCH_GROUPS:
        raise InvalidArgumentError(f"group_ids may name at most {MAX_SEARCH_GROUPS} groups")
    return list(dict.fromkeys(check_id(g, "group_id") for g in group_ids))


def normalized(embedding: NDArray[np.float32], dimension: int) -> NDArray[np.float32]:
    """The embedding as a C-contiguous float32 unit vector of shape (dimension,)."""
    vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
    if vector.shape[0] != dimension:
        raise InvalidArgumentError(
            f"embedding has {vector.shape[0]} values, the gallery stores {dimension}"
        )
    if not np.all(np.isfinite(vector)):
        raise InvalidArgumentError("embedding has non-finite values")
    norm = float(np.linalg.norm(vector))
    if norm < 1e-12:
        raise InvalidArgumentError("embedding is the zero vector")
    return np.ascontiguousarray(vector / norm, dtype=np.float32)


def checked_face(
    user_id: str,
    embedding: NDArray[np.float32],
    image_sha256: str,
    user_info: str | None,
    dimension: int,
) -> NDArray[np.float32]:
    """Check a face to enroll (user id, image hash, user info, embedding); its unit embedding."""
    check_id(user_id, "user_id")
    check_sha256(image_sha256)
    check_user_info(user_info)
    return normalized(embedding, dimension)
