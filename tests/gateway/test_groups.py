"""The gallery endpoints through the real gateway, detection and embedding gRPC servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from services.shared.model_store import ModelStore
from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import (
    API,
    astronaut_variant,
    create_group,
    enroll,
    search,
    unique,
)
from tests.helpers import images
from tests.helpers.http import assert_error, error_message
from tests.helpers.serving import serving
from tests.services.embedding.store.conftest import postgres_url

ID_RULE = "must be 1-128 characters of letters, digits, '_', '.', '@' or '-', not only dots"


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


def test_group_lifecycle(gw: GatewayUnderTest) -> None:
    group = unique("g")
    created = create_group(gw, group)
    assert created.status_code == 200, created.text
    assert created.json()["group_id"] == group
    assert created.json()["user_count"] == 0 and created.json()["face_count"] == 0
    assert_error(create_group(gw, group), 409, "ALREADY_EXISTS")
    listed = gw.client.get(f"{API}/groups", headers=gw.headers).json()["groups"]
    assert group in [g["group_id"] for g in listed]
    deleted = gw.client.delete(f"{API}/groups/{group}", headers=gw.headers)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert_error(
        gw.client.delete(f"{API}/groups/{group}", headers=gw.headers), 404, "GROUP_NOT_FOUND"
    )


def test_create_group_by_form_and_bad_ids(gw: GatewayUnderTest) -> None:
    group = unique("form")
    response = gw.client.post(f"{API}/groups", data={"group_id": group}, headers=gw.headers)
    assert response.status_code == 200, response.text
    bad_bodies = [
        ({}, "group_id is required"),
        ({"group_id": ""}, "group_id is required"),
        ({"group_id": "has space"}, f"group_id {ID_RULE}"),
        ({"group_id": "x" * 200}, f"group_id {ID_RULE}"),
        ({"group_id": ".."}, f"group_id {ID_RULE}"),  # a path segment clients rewrite
        ({"group_id": "."}, f"group_id {ID_RULE}"),
        ({"group_id": 5}, "'group_id' must be a string"),
    ]
    for body, message in bad_bodies:
        response = gw.client.post(f"{API}/groups", json=body, headers=gw.headers)
        assert assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"] == message


def test_enroll_get_list_delete(gw: GatewayUnderTest) -> None:
    group = unique("g")
    create_group(gw, group)
    response = enroll(gw, group, "alice", images.astronaut_jpeg(), user_info="Eileen Collins")
    assert response.status_code == 200, response.text
    body = response.json()
    token = body["face_token"]
    assert len(token) == 32 and body["group_id"] == group and body["user_id"] == "alice"
    assert {"name": "sface", "version": "2021dec"} in body["models"]
    assert 0.0 < body["quality"]["score"] <= 1.0
    second = enroll(gw, group, "alice", astronaut_variant())
    assert second.status_code == 200, second.text
    user = gw.client.get(f"{API}/groups/{group}/users/alice", headers=gw.headers).json()
    assert user["user_info"] == "Eileen Collins"
    assert [f["face_token"] for f in user["faces"]] == [token, second.json()["face_token"]]
    groups = gw.client.get(f"{API}/groups", headers=gw.headers).json()["groups"]
    mine = next(g for g in groups if g["group_id"] == group)
    assert mine["user_count"] == 1 and mine["face_count"] == 2
    # Delete one face: it leaves search at once; the other still matches.
    gone = gw.client.delete(f"{API}/groups/{group}/users/alice/faces/{token}", headers=gw.headers)
    assert gone.status_code == 200, gone.text
    hits = search(gw, images.astronaut_jpeg(), group).json()["faces"][0]["matches"]
    assert [m["face_token"] for m in hits] == [second.json()["face_token"]]
    assert_error(
        gw.client.delete(f"{API}/groups/{group}/users/alice/faces/{token}", headers=gw.headers),
        404,
        "FACE_NOT_FOUND",
    )
    assert (
        gw.client.delete(f"{API}/groups/{group}/users/alice", headers=gw.headers).status_code == 200
    )
    assert_error(
        gw.client.get(f"{API}/groups/{group}/users/alice", headers=gw.headers),
        404,
        "USER_NOT_FOUND",
    )
    assert search(gw, images.astronaut_jpeg(), group).json()["faces"][0]["matches"] == []


def test_list_users_paging(gw: GatewayUnderTest) -> None:
    group = unique("page")
    create_group(gw, group)
    photo = images.astronaut()
    for index in range(5):
        # Different bytes each time (brightness nudged): five different "images".
        variant = np.clip(photo.astype(np.int16) + index, 0, 255).astype(np.uint8)
        assert enroll(gw, group, f"user{index}", images.encode(variant)).status_code == 200
    first = gw.client.get(f"{API}/groups/{group}/users?offset=0&limit=2", headers=gw.headers).json()
    assert first["total"] == 5 and [u["user_id"] for u in first["users"]] == ["user0", "user1"]
    last = gw.client.get(f"{API}/groups/{group}/users?offset=4&limit=2", headers=gw.headers).json()
    assert [u["user_id"] for u in last["users"]] == ["user4"]
    assert len(last["users"][0]["faces"]) == 1
    bad_queries = [
        ("limit=0", "'limit' must be between 1 and 1000"),
        ("limit=5000", "'limit' must be between 1 and 1000"),
        ("offset=-1", "'offset' must be between 0 and 2147483647"),
        ("limit=abc", "'limit' must be an integer"),
    ]
    for query, message in bad_queries:
        response = gw.client.get(f"{API}/groups/{group}/users?{query}", headers=gw.headers)
        assert assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"] == message
    blank = gw.client.get(f"{API}/groups/{group}/users?limit=", headers=gw.headers).json()
    assert blank["limit"] == 100  # an empty value is the default


def test_same_image_twice_is_already_exists(gw: GatewayUnderTest) -> None:
    group = unique("dup")
    create_group(gw, group)
    assert enroll(gw, group, "bob", images.astronaut_jpeg()).status_code == 200
    assert_error(enroll(gw, group, "bob", images.astronaut_jpeg()), 409, "ALREADY_EXISTS")
    # The same image for another user is a different enrollment.
    assert enroll(gw, group, "carol", images.astronaut_jpeg()).status_code == 200


def test_not_found_errors(gw: GatewayUnderTest) -> None:
    missing = unique("nope")
    assert_error(enroll(gw, missing, "u", images.astronaut_jpeg()), 404, "GROUP_NOT_FOUND")
    assert_error(
        gw.client.get(f"{API}/groups/{missing}/users", headers=gw.headers), 404, "GROUP_NOT_FOUND"
    )
    group = unique("g")
    create_group(gw, group)
    assert_error(
        gw.client.get(f"{API}/groups/{group}/users/ghost", headers=gw.headers),
        404,
        "USER_NOT_FOUND",
    )
    assert_error(
        gw.client.delete(f"{API}/groups/{group}/users/ghost", headers=gw.headers),
        404,
        "USER_NOT_FOUND",
    )
    enroll(gw, group, "real", images.astronaut_jpeg())
    assert_error(
        gw.client.delete(f"{API}/groups/{group}/users/real/faces/{'0' * 32}", headers=gw.headers),
        404,
        "FACE_NOT_FOUND",
    )


def test_enroll_no_face(gw: GatewayUnderTest) -> None:
    group = unique("g")
    create_group(gw, group)
    assert_error(enroll(gw, group, "u", images.no_face_jpeg()), 400, "NO_FACE")


def test_enroll_bad_inputs(gw: GatewayUnderTest) -> None:
    group = unique("g")
    create_group(gw, group)
    assert_error(enroll(gw, group, "u", b"not an image"), 400, "INVALID_IMAGE")
    photo = images.astronaut_jpeg()
    bad_enrolls: list[tuple[str, dict[str, Any], str]] = [
        (
            "u",
            {"quality_control": "ULTRA"},
            "quality_control must be one of NONE, LOW, NORMAL, HIGH, got 'ULTRA'",
        ),
        ("u", {"face_index": 3}, "face_index 3 is out of range: 'image' has 1 face(s)"),
        ("u", {"face_index": 100}, "'face_index' must be between 0 and 99"),
        ("u", {"user_info": "x" * 4097}, "user_info must be at most 4096 characters"),
        ("bad user!", {}, f"user_id {ID_RULE}"),
        ("%2E%2E%2E", {}, f"user_id {ID_RULE}"),
    ]
    for user, params, message in bad_enrolls:
        response = enroll(gw, group, user, photo, **params)
        assert assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"] == message
    response = gw.client.post(f"{API}/groups/{group}/users/u/faces", headers=gw.headers)
    assert assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"] == (
        "the field 'image' (an image) is required"
    )


def test_bad_ids_in_paths(gw: GatewayUnderTest) -> None:
    for method, path, message in [
        ("GET", "/groups/bad%20g/users", f"group_id {ID_RULE}"),
        ("GET", "/groups/g/users/bad%20u", f"user_id {ID_RULE}"),
        ("DELETE", f"/groups/{'x' * 129}", f"group_id {ID_RULE}"),
        ("DELETE", "/groups/no-such-group/users/bad!", f"user_id {ID_RULE}"),
        ("DELETE", "/groups/g/users/%2E%2E", f"user_id {ID_RULE}"),
        ("POST", "/groups/%2E/users/u/faces", f"group_id {ID_RULE}"),
    ]:
        response = gw.client.request(method, f"{API}{path}", headers=gw.headers)
        assert assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"] == message


@pytest.mark.parametrize(
    ("alter", "reason"),
    [
        (lambda p: cv2.GaussianBlur(p, (0, 0), 3), "BLURRED"),
        (lambda p: np.asarray(p * 0.2, dtype=np.uint8), "TOO_DARK"),
        (lambda p: cv2.resize(p, (160, 160), interpolation=cv2.INTER_AREA), "FACE_TOO_SMALL"),
    ],
    ids=["blurred", "dark", "small"],
)
def test_quality_control_rejects_with_reason(gw: GatewayUnderTest, alter, reason: str) -> None:  # type: ignore[no-untyped-def]
    group = unique("q")
    create_group(gw, group)
    photo = images.encode(np.asarray(alter(images.astronaut()), dtype=np.uint8), "JPEG", quality=95)
    body = assert_error(enroll(gw, group, "u", photo, quality_control="NORMAL"), 400, "LOW_QUALITY")
    assert reason in body["error"]["message"]
    # Without quality control the same photo is accepted.
    assert enroll(gw, group, "u", photo, quality_control="NONE").status_code == 200
    assert (
        enroll(gw, group, "v", images.astronaut_jpeg(), quality_control="high").status_code == 200
    )


def test_several_faces_take_the_largest_unless_face_index(gw: GatewayUnderTest) -> None:
    import cv2 as cv

    # One large and one small astronaut in the same photo.
    canvas = np.full((600, 900, 3), 120, dtype=np.uint8)
    canvas[40:552, 20:532] = images.astronaut()
    small = cv.resize(images.astronaut(), (256, 256), interpolation=cv.INTER_AREA)
    canvas[150:406, 600:856] = small
    photo = images.encode(canvas, "JPEG", quality=95)
    group = unique("multi")
    create_group(gw, group)
    largest = enroll(gw, group, "big", photo)
    assert largest.status_code == 200, largest.text
    assert largest.json()["face"]["box"]["x"] < 500
    other = enroll(gw, group, "small", photo, face_index=1)
    assert other.status_code == 200, other.text
    assert other.json()["face"]["box"]["x"] > 600


def test_face_selection_center_enrolls_the_face_nearest_the_centre(gw: GatewayUnderTest) -> None:
    photo, (cx, cy) = images.big_corner_small_centre()
    data = images.encode(photo, "JPEG", quality=95)
    group = unique("centre")
    create_group(gw, group)
    centred = enroll(gw, group, "c", data, face_selection="center")
    assert centred.status_code == 200, centred.text
    box = centred.json()["face"]["box"]
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert abs(x - cx) < 30 and abs(y - cy) < 40
    # face_index counts in the same order: index 1 is the large corner face
    corner = enroll(gw, group, "k", data, face_selection="center", face_index=1)
    assert corner.status_code == 200, corner.text
    corner_box = corner.json()["face"]["box"]
    assert corner_box["x"] < 200 and corner_box["width"] > 1.5 * box["width"]
    wrong = enroll(gw, group, "w", data, face_selection="random")
    assert_error(wrong, 400, "INVALID_ARGUMENT")
    users = gw.client.get(f"{API}/groups/{group}/users", headers=gw.headers).json()
    assert sorted(u["user_id"] for u in users["users"]) == ["c", "k"]  # nothing half-stored


@pytest.fixture(scope="module")
def pgvector_embedding_address(model_store: ModelStore) -> Iterator[str]:
    """A real embedding gRPC server whose gallery is PostgreSQL + pgvector (skipped without
    FACEFLOW_TEST_POSTGRES_URL)."""
    from services.embedding.server import create_app
    from services.embedding.settings import EmbeddingSettings

    settings = EmbeddingSettings(port=0, max_workers=4, store_url=postgres_url())
    with serving(*create_app(settings, model_store)) as address:
        yield address


@pytest.mark.parametrize("backend", ["sqlite", "pgvector"])
def test_a_nul_or_malformed_token_or_user_info_is_a_client_error(
    request: pytest.FixtureRequest,
    make_gateway: GatewayFactory,
    detection_address: str,
    backend: str,
) -> None:
    """PostgreSQL refuses a NUL in text: such input is answered with its 4xx code before it
    reaches the gallery (never 500), on both gallery backends, and stores nothing."""
    embedding = request.getfixturevalue(
        "embedding_address" if backend == "sqlite" else "pgvector_embedding_address"
    )
    gw = make_gateway(detection=detection_address, embedding=embedding)
    group = unique("nul")
    create_group(gw, group)
    token = enroll(gw, group, "alice", images.astronaut_jpeg()).json()["face_token"]
    face = f"{API}/groups/{group}/users/alice/faces"
    for bad in ("%00", f"{token[:31]}%00", "not-a-token", token.upper(), "0" * 33):
        message = error_message(
            gw.client.delete(f"{face}/{bad}", headers=gw.headers), 404, "FACE_NOT_FOUND"
        )
        assert message.startswith("face '") and message.endswith("' not found")
        assert_error(
            gw.client.get(f"{face}/{bad}/thumbnail", headers=gw.headers), 404, "FACE_NOT_FOUND"
        )
    for user in ("alice", "bob"):
        refused = enroll(gw, group, user, astronaut_variant(), user_info="Eileen\x00Collins")
        assert error_message(refused, 400, "INVALID_ARGUMENT") == (
            "user_info must not contain a NUL character"
        )
    users = gw.client.get(f"{API}/groups/{group}/users", headers=gw.headers).json()["users"]
    assert [(u["user_id"], u["user_info"], len(u["faces"])) for u in users] == [("alice", "", 1)]
    gone = gw.client.delete(f"{face}/{token}", headers=gw.headers)
    assert gone.status_code == 200, gone.text
