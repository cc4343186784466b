"""The row mapping and search policy both gallery backends share (records.py)."""

from __future__ import annotations

import pytest

from services.embedding.store.base import Match
from services.embedding.store.errors import GroupNotFoundError, UserNotFoundError
from services.embedding.store.records import (
    best_per_user,
    face_exists,
    faces_by_user,
    group_pk_of,
    user_pk_of,
    widening_search,
)

NAMES = {1: "staff", 2: "alumni"}


def test_best_per_user_keeps_each_users_best_face_best_first() -> None:
    hits = [
        (0.50, "a1", 1, "ann", "i-ann"),
        (0.90, "a2", 1, "ann", "i-ann"),
        (0.90, "a3", 1, "ann", "i-ann"),  # as similar as a2, later: a2 stays
        (0.70, "b1", 1, "bob", ""),
        (1.0000002, "c1", 2, "ann", ""),  # same user id in another group: another person
        (0.70, "d1", 1, "abe", ""),
    ]
    matches = best_per_user(hits, NAMES)
    assert [(m.group_id, m.user_id, m.face_token, m.similarity) for m in matches] == [
        ("alumni", "ann", "c1", 1.0),  # clamped to 1
        ("staff", "ann", "a2", 0.90),
        ("staff", "abe", "d1", 0.70),  # ties go by group id, then user id
        ("staff", "bob", "b1", 0.70),
    ]
    assert matches[1].user_info == "i-ann"
    assert best_per_user([], NAMES) == []


def test_widening_search_widens_until_enough_users_or_exhausted() -> None:
    asked: list[int] = []

    def fetch(faces: int) -> tuple[list[Match], bool]:
        asked.append(faces)
        users = min(faces // 8, 5)  # each user has 8 close faces; 5 users in all
        matches = [Match("g", f"u{i}", "", f"t{i}", 1.0 - i / 10) for i in range(users)]
        return matches, faces >= 40

    assert [m.user_id for m in widening_search(2, fetch, lambda: 5)] == ["u0", "u1"]
    assert asked == [8, 32]  # 4 x top_k, then 4 times more
    asked.clear()
    assert len(widening_search(10, fetch, lambda: 5)) == 5  # exhausted before 10 users found
    assert asked == [40]


def test_widening_stops_once_every_user_of_the_groups_is_found() -> None:
    """2 users with 50,000 close faces each: the first fetch finds both, and there is no third
    to widen for (the search read all 100,000 faces before)."""
    asked: list[int] = []

    def fetch(faces: int) -> tuple[list[Match], bool]:
        asked.append(faces)
        return [Match("g", "u0", "", "t0", 0.9), Match("g", "u1", "", "t1", 0.8)], faces >= 100_000

    counted: list[int] = []

    def count_users() -> int:
        counted.append(2)
        return 2

    assert [m.user_id for m in widening_search(5, fetch, count_users)] == ["u0", "u1"]
    assert asked == [20] and counted == [2]
    asked.clear()
    assert len(widening_search(2, fetch, count_users)) == 2  # enough: users are not counted
    assert asked == [8] and counted == [2]


def test_users_are_counted_once_however_far_the_search_widens() -> None:
    asked: list[int] = []
    counted: list[int] = []

    def fetch(faces: int) -> tuple[list[Match], bool]:  # one more user per widening
        asked.append(faces)
        found = len(asked)
        return [Match("g", f"u{i}", "", f"t{i}", 0.9) for i in range(found)], False

    def count_users() -> int:
        counted.append(1000)
        return 1000

    assert len(widening_search(4, fetch, count_users)) == 4
    assert asked == [16, 64, 256, 1024] and counted == [1000]


def test_lookups_raise_the_contract_errors() -> None:
    assert group_pk_of((7,), "staff") == 7
    with pytest.raises(GroupNotFoundError, match=r"^group 'staff' not found$"):
        group_pk_of(None, "staff")
    assert user_pk_of((3,), "ann") == 3
    with pytest.raises(UserNotFoundError, match=r"^user 'ann' not found$"):
        user_pk_of(None, "ann")
    error = face_exists("ann", ("f" * 32, 12.5))
    assert (str(error), error.existing_face_token, error.existing_created_at) == (
        "this image is enrolled for user 'ann' already",
        "f" * 32,
        12.5,
    )


def test_faces_by_user_groups_rows_and_keeps_users_without_faces() -> None:
    faces = faces_by_user("g", [(1, "ann"), (2, "bob")], [(1, "t1", 1.0, 0), (1, "t2", 2.0, 1)])
    assert [f.face_token for f in faces[1]] == ["t1", "t2"]
    assert faces[1][0].user_id == "ann"
    assert faces[2] == []
