"""The SDK against the real running stack: groups, enrollment, 1:N search and 1:1 verify."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from faceflow_sdk import (
    AlreadyExistsError,
    FaceflowClient,
    FaceNotFoundError,
    GroupNotFoundError,
    InvalidArgumentError,
    NoFaceError,
    UserNotFoundError,
)
from tests.clients import photos

pytestmark = pytest.mark.e2e


@pytest.fixture
def group(client: FaceflowClient) -> str:
    """A fresh group of the demo tenant."""
    group_id = f"sdk-{uuid.uuid4().hex[:8]}"
    client.create_group(group_id)
    return group_id


def test_group_lifecycle(client: FaceflowClient, group: str) -> None:
    assert group in {g["group_id"] for g in client.list_groups()["groups"]}
    with pytest.raises(AlreadyExistsError) as raised:
        client.create_group(group)
    assert raised.value.status == 409
    client.delete_group(group)
    assert group not in {g["group_id"] for g in client.list_groups()["groups"]}


def test_enroll_then_search_finds_the_user(
    client: FaceflowClient, group: str, tmp_path: Path
) -> None:
    enrolled = client.enroll(
        group, "eileen", photos.astronaut(tmp_path / "a.jpg"), user_info="Eileen Collins"
    )
    assert enrolled["group_id"] == group and enrolled["user_id"] == "eileen"
    assert enrolled["face_token"]
    result = client.search(photos.astronaut_mirrored(tmp_path / "b.jpg"), group)
    assert len(result["faces"]) == 1
    best = result["faces"][0]["matches"][0]
    assert best["user_id"] == "eileen" and best["group_id"] == group
    assert 0 <= best["score"] <= 100


def test_search_a_group_without_that_person_has_no_match(
    client: FaceflowClient, group: str, tmp_path: Path
) -> None:
    result = client.search(photos.astronaut(tmp_path / "a.jpg"), group)
    assert len(result["faces"]) == 1
    assert result["faces"][0]["matches"] == []


def test_search_a_photo_without_a_face_raises_no_face(
    client: FaceflowClient, group: str, tmp_path: Path
) -> None:
    with pytest.raises(NoFaceError) as raised:
        client.search(photos.no_face(tmp_path / "n.jpg"), group)
    assert raised.value.status == 400


def test_user_faces_and_deletion(client: FaceflowClient, group: str, tmp_path: Path) -> None:
    first = client.enroll(group, "eileen", photos.astronaut(tmp_path / "a.jpg"))
    client.enroll(group, "eileen", photos.astronaut_mirrored(tmp_path / "b.jpg"))
    listing = client.list_users(group)
    assert [u["user_id"] for u in listing["users"]] == ["eileen"] and listing["total"] == 1
    tokens = {f["face_token"] for f in client.get_user(group, "eileen")["faces"]}
    assert first["face_token"] in tokens and len(tokens) == 2
    with pytest.raises(AlreadyExistsError):  # the same photo twice
        client.enroll(group, "eileen", photos.astronaut(tmp_path / "a.jpg"))
    client.delete_face(group, "eileen", first["face_token"])
    remaining = {f["face_token"] for f in client.get_user(group, "eileen")["faces"]}
    assert remaining == tokens - {first["face_token"]}
    with pytest.raises(FaceNotFoundError):
        client.delete_face(group, "eileen", first["face_token"])
    client.delete_user(group, "eileen")
    with pytest.raises(UserNotFoundError) as raised:
        client.get_user(group, "eileen")
    assert raised.value.status == 404


def test_unknown_group_raises_group_not_found(client: FaceflowClient, tmp_path: Path) -> None:
    with pytest.raises(GroupNotFoundError) as raised:
        client.search(photos.astronaut(tmp_path / "a.jpg"), "no-such-group")
    assert raised.value.status == 404
    with pytest.raises(GroupNotFoundError):
        client.enroll("no-such-group", "someone", photos.astronaut(tmp_path / "a.jpg"))


def test_enrolling_a_photo_without_a_face_raises_no_face(
    client: FaceflowClient, group: str, tmp_path: Path
) -> None:
    with pytest.raises(NoFaceError) as raised:
        client.enroll(group, "nobody", photos.no_face(tmp_path / "n.jpg"))
    assert raised.value.status == 400


def test_verify_two_photos_of_the_same_person(client: FaceflowClient, tmp_path: Path) -> None:
    result = client.verify(
        photos.astronaut(tmp_path / "a.jpg"), photos.astronaut_mirrored(tmp_path / "b.jpg")
    )
    assert result["same_person"] is True
    assert result["score"] >= result["thresholds"]["1e-4"]
    assert set(result["thresholds"]) == {"1e-3", "1e-4", "1e-5"}


def test_verify_a_photo_without_a_face_raises_no_face(
    client: FaceflowClient, tmp_path: Path
) -> None:
    with pytest.raises(NoFaceError):
        client.verify(photos.astronaut(tmp_path / "a.jpg"), photos.no_face(tmp_path / "n.jpg"))


def test_verify_against_an_enrolled_user(
    client: FaceflowClient, group: str, tmp_path: Path
) -> None:
    client.enroll(group, "eileen", photos.astronaut(tmp_path / "a.jpg"))
    result = client.verify_user(photos.astronaut_mirrored(tmp_path / "b.jpg"), group, "eileen")
    assert result["same_person"] is True
    with pytest.raises(UserNotFoundError):
        client.verify_user(photos.astronaut(tmp_path / "a.jpg"), group, "somebody-else")


def test_ids_are_percent_encoded_and_bad_ids_are_invalid_argument(
    client: FaceflowClient, group: str, tmp_path: Path
) -> None:
    enrolled = client.enroll(group, "e.collins@nasa", photos.astronaut(tmp_path / "a.jpg"))
    assert enrolled["user_id"] == "e.collins@nasa"
    assert len(client.get_user(group, "e.collins@nasa")["faces"]) == 1
    with pytest.raises(InvalidArgumentError) as raised:
        client.enroll(group, "two words", photos.astronaut(tmp_path / "a.jpg"))
    assert raised.value.status == 400 and "user_id" in raised.value.message
