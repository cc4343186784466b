"""How both gallery backends turn database rows into the records the store returns.

One home for what SQLite + FAISS and PostgreSQL + pgvector must do identically: the not-found
and already-exists errors a lookup raises (their messages are part of the contract), the mapping
of group, user and face rows to ``Group``, ``User`` and ``FaceRecord``, and the search policy:
the best face per user, best first, fetching ``SEARCH_FETCH_FACTOR`` x ``top_k`` faces and
widening the fetch until ``top_k`` distinct users are found or the groups are exhausted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.base import FaceRecord, Group, Match, User
from services.embedding.store.errors import (
    FaceExistsError,
    FaceNotFoundError,
    GroupNotFoundError,
    ThumbnailNotFoundError,
    UserNotFoundError,
)

SEARCH_FETCH_FACTOR = 4
"""A search first fetches this many faces per wanted user, and multiplies the fetch by it."""

Row = Sequence[Any]
"""One row as a database driver returns it (a tuple)."""

HitRow = tuple[float, str, int, str, str]
"""One nearest face: (similarity, face_token, group_pk, user_id, user_info)."""


def group_pk_of(row: Row | None, group_id: str) -> int:
    """The group's primary key from its lookup row; ``GroupNotFoundError`` when there is none."""
    if row is None:
        raise GroupNotFoundError(f"group {group_id!r} not found")
    return int(row[0])


def user_pk_of(row: Row | None, user_id: str) -> int:
    """The user's primary key from its lookup row; ``UserNotFoundError`` when there is none."""
    if row is None:
        raise UserNotFoundError(f"user {user_id!r} not found")
    return int(row[0])


def face_exists(user_id: str, existing: Row | None) -> FaceExistsError:
    """The error for an image enrolled twice; ``existing`` is its (face_token, created_at) row."""
    return FaceExistsError(
        f"this image is enrolled for user {user_id!r} already",
        str(existing[0]) if existing else "",
        float(existing[1]) if existing else 0.0,
    )


def embeddings_in_order(
    group_id: str, face_tokens: Sequence[str], found: dict[str, NDArray[np.float32]], dimension: int
) -> NDArray[np.float32]:
    """The found embeddings in the order of ``face_tokens``; ``FaceNotFoundError`` naming the
    first token the group does not hold (a token of another shape is never found)."""
    missing = [token for token in face_tokens if token not in found]
    if missing:
        raise FaceNotFoundError(f"face {missing[0]!r} not found in group {group_id!r}")
    if not face_tokens:
        return np.empty((0, dimension), dtype=np.float32)
    return np.stack([found[token] for token in face_tokens]).astype(np.float32, copy=False)


def group_of(row: Row) -> Group:
    """A ``Group`` from a (group_id, created_at, user count, face count) row."""
    return Group(str(row[0]), float(row[1]), int(row[2]), int(row[3]))


def faces_by_user(
    group_id: str, users: list[tuple[int, str]], rows: Iterable[Row]
) -> dict[int, list[FaceRecord]]:
    """The faces of ``users`` ((user_pk, user_id) pairs), keyed by user_pk, in row order.

    ``rows`` are (user_pk, face_token, created_at, has_thumbnail) of those users' faces.
    """
    faces: dict[int, list[FaceRecord]] = {pk: [] for pk, _ in users}
    names = dict(users)
    for user_pk, token, created, has_thumbnail in rows:
        faces[int(user_pk)].append(
            FaceRecord(
                str(token), group_id, names[int(user_pk)], float(created), bool(has_thumbnail)
            )
        )
    return faces


def thumbnail_of(row: Row | None, user_id: str, face_token: str) -> bytes:
    """A face's thumbnail from its (thumbnail or NULL) lookup row: ``FaceNotFoundError`` when
    the user has no such face, ``ThumbnailNotFoundError`` when none was kept with it."""
    if row is None:
        raise FaceNotFoundError(f"face {face_token!r} not found for user {user_id!r}")
    if row[0] is None:
        raise ThumbnailNotFoundError(f"no thumbnail is kept for face {face_token!r}")
    return bytes(row[0])


def users_of(group_id: str, rows: Iterable[Row], faces: dict[int, list[FaceRecord]]) -> list[User]:
    """``User`` records from (user_pk, user_id, user_info) rows and their faces."""
    return [User(group_id, str(r[1]), str(r[2]), faces[int(r[0])]) for r in rows]


def best_per_user(hits: Iterable[HitRow], names: dict[int, str]) -> list[Match]:
    """The most similar face of each user (similarities clamped to [-1, 1]), best first.

    ``names`` maps the searched groups' primary keys to their group ids. Of equally similar
    faces of one user the first in ``hits`` is kept; ties between users go by group, then user id.
    """
    best: dict[tuple[int, str], Match] = {}
    for similarity, token, group_pk, user_id, info in hits:
        clamped = min(1.0, max(-1.0, float(similarity)))
        key = (int(group_pk), str(user_id))
        current = best.get(key)
        if current is None or clamped > current.similarity:
            best[key] = Match(names[int(group_pk)], str(user_id), str(info), str(token), clamped)
    return sorted(best.values(), key=lambda m: (-m.similarity, m.group_id, m.user_id))


def widening_search(
    top_k: int,
    fetch: Callable[[int], tuple[list[Match], bool]],
    count_users: Callable[[], int],
) -> list[Match]:
    """Up to ``top_k`` matches, one per user, widening the fetch until enough users are found.

    ``fetch(n)`` searches the ``n`` nearest faces and returns ``best_per_user`` of them and
    whether the groups are exhausted (fewer than ``n`` faces to return). ``count_users()``, the
    users with a face in the groups, is asked once a first fetch falls short: when every one of
    them is found, widening cannot find more (a group of 4 users with 25,000 faces each read
    all 100,000 faces on every search).
    """
    wanted = top_k * SEARCH_FETCH_FACTOR
    enough: int | None = None  # min(top_k, users), once a fetch fell short
    while True:
        matches, exhausted = fetch(wanted)
        if len(matches) >= (top_k if enough is None else enough) or exhausted:
            return matches[:top_k]
        if enough is None:
            enough = min(top_k, count_users())
            if len(matches) >= enough:
                return matches[:top_k]
        wanted *= SEARCH_FETCH_FACTOR
