"""POST /api/v1/search through the real gateway, detection and embedding gRPC servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import (
    API,
    astronaut_variant,
    create_group,
    enroll,
    person_photo,
    search,
    unique,
)
from tests.helpers import images
from tests.helpers.http import assert_error


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


@pytest.fixture
def people_group(gw: GatewayUnderTest, shared_data: Path) -> str:
    group = unique("people")
    create_group(gw, group)
    for user, photo in [
        ("obama", "obama/obama.jpg"),
        ("biden", "biden/biden.jpg"),
        ("kit", "kit_harington/john1.jpeg"),
        ("rose", "rose_leslie/img1.jpg"),
    ]:
        response = enroll(gw, group, user, person_photo(shared_data, photo), user_info=user.title())
        assert response.status_code == 200, response.text
    return group


def test_finds_the_right_person_only(
    gw: GatewayUnderTest, people_group: str, shared_data: Path
) -> None:
    response = search(gw, person_photo(shared_data, "obama/obama2.jpg"), people_group)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["faces"]) == 1
    matches = body["faces"][0]["matches"]
    assert [m["user_id"] for m in matches] == ["obama"]
    assert matches[0]["user_info"] == "Obama"
    assert matches[0]["score"] >= body["threshold"]
    assert len(body["faces"][0]["face_token"]) == 32 and "box" in body["faces"][0]


def test_threshold_zero_ranks_everyone(
    gw: GatewayUnderTest, people_group: str, shared_data: Path
) -> None:
    body = search(
        gw, person_photo(shared_data, "obama/obama3.jpg"), people_group, threshold=0, top_k=10
    ).json()
    matches = body["faces"][0]["matches"]
    assert matches[0]["user_id"] == "obama"
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert len(matches) >= 2
    top1 = search(
        gw, person_photo(shared_data, "obama/obama3.jpg"), people_group, threshold=0, top_k=1
    ).json()
    assert [m["user_id"] for m in top1["faces"][0]["matches"]] == ["obama"]


def test_every_face_in_the_photo(
    gw: GatewayUnderTest, people_group: str, shared_data: Path
) -> None:
    import cv2

    def load(relative: str) -> np.ndarray:  # type: ignore[type-arg]
        data = np.frombuffer(person_photo(shared_data, relative), np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
        assert bgr is not None
        return np.asarray(cv2.resize(bgr, (400, 400))[:, :, ::-1])

    canvas = np.hstack([load("obama/obama1.jpg"), load("biden/biden2.jpg")])
    body = search(
        gw, images.encode(np.ascontiguousarray(canvas), "JPEG", quality=95), people_group
    ).json()
    found = {face["matches"][0]["user_id"] for face in body["faces"] if face["matches"]}
    assert found == {"obama", "biden"}
    assert len(body["faces"]) == 2


def test_search_several_groups(gw: GatewayUnderTest) -> None:
    first, second = unique("a"), unique("b")
    create_group(gw, first)
    create_group(gw, second)
    enroll(gw, second, "astro", images.astronaut_jpeg())
    body = search(gw, astronaut_variant(), f"{first},{second}").json()
    assert [(m["group_id"], m["user_id"]) for m in body["faces"][0]["matches"]] == [
        (second, "astro")
    ]


def test_empty_group_is_200_without_matches(gw: GatewayUnderTest) -> None:
    group = unique("empty")
    create_group(gw, group)
    response = search(gw, images.astronaut_jpeg(), group)
    assert response.status_code == 200, response.text
    assert response.json()["faces"][0]["matches"] == []


ID_RULE = "must be 1-128 characters of letters, digits, '_', '.', '@' or '-', not only dots"


def test_errors(gw: GatewayUnderTest) -> None:
    group = unique("s")
    assert_error(search(gw, images.astronaut_jpeg(), group), 404, "GROUP_NOT_FOUND")
    create_group(gw, group)
    assert_error(search(gw, images.no_face_jpeg(), group), 400, "NO_FACE")
    bad_requests: list[tuple[str, dict[str, Any], str]] = [
        ("", {}, "group_ids must name at least one group"),
        (" , ", {}, "group_ids must name at least one group"),
        ("bad group!", {}, f"group_ids[0] {ID_RULE}"),
        (f"{group},x y", {}, f"group_ids[1] {ID_RULE}"),
        (f"{group},..", {}, f"group_ids[1] {ID_RULE}"),
        (",".join(f"g{i}" for i in range(101)), {}, "group_ids may name at most 100 groups"),
        (group, {"top_k": 0}, "'top_k' must be between 1 and 100"),
        (group, {"top_k": 1000}, "'top_k' must be between 1 and 100"),
        (group, {"threshold": 150}, "'threshold' must be between 0.0 and 100.0"),
        (group, {"threshold": "x"}, "'threshold' must be a number"),
        (group, {"max_faces": 21}, "'max_faces' must be between 1 and 20"),
    ]
    for group_ids, params, message in bad_requests:
        response = search(gw, images.astronaut_jpeg(), group_ids, **params)
        assert assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"] == message
    no_groups = gw.client.post(
        f"{API}/search",
        files={"image": ("probe.jpg", images.astronaut_jpeg(), "image/jpeg")},
        headers=gw.headers,
    )
    assert assert_error(no_groups, 400, "INVALID_ARGUMENT")["error"]["message"] == (
        "group_ids is required"
    )


# ------------------------------------------------- open-set decision (FPIR)


def published(gw: GatewayUnderTest, shared_data: Path) -> dict[str, float]:
    """The per-pair thresholds /verify publishes (scores at FAR 1e-3, 1e-4, 1e-5)."""
    photo = person_photo(shared_data, "obama/obama.jpg")
    response = gw.client.post(
        "/api/v1/verify",
        files={
            "image_a": ("a.jpg", photo, "image/jpeg"),
            "image_b": ("b.jpg", photo, "image/jpeg"),
        },
        headers={"x-api-key": gw.key},
    )
    assert response.status_code == 200, response.text
    thresholds: dict[str, float] = response.json()["thresholds"]
    return thresholds


def test_search_reports_its_fpir_decision(
    gw: GatewayUnderTest, people_group: str, shared_data: Path
) -> None:
    body = search(gw, person_photo(shared_data, "obama/obama2.jpg"), people_group).json()
    assert body["fpir"] == 0.001 and body["gallery_size"] == 4
    # 4 candidates at FPIR 1e-3: each comparison gets FAR 2.5e-4, between the 1:1 thresholds.
    per_pair = published(gw, shared_data)
    assert per_pair["1e-3"] < body["threshold"] < per_pair["1e-4"]
    looser = search(gw, person_photo(shared_data, "obama/obama2.jpg"), people_group, fpir=0.01)
    assert looser.json()["fpir"] == 0.01 and looser.json()["threshold"] < body["threshold"]
    stricter = search(gw, person_photo(shared_data, "obama/obama2.jpg"), people_group, fpir=1e-5)
    assert stricter.json()["threshold"] > per_pair["1e-5"]


def test_threshold_grows_with_the_users_searched(
    gw: GatewayUnderTest, people_group: str, shared_data: Path
) -> None:
    single = unique("one")
    create_group(gw, single)
    enroll(gw, single, "obama", person_photo(shared_data, "obama/obama.jpg"))
    probe = person_photo(shared_data, "obama/obama2.jpg")
    alone = search(gw, probe, single).json()
    both = search(gw, probe, f"{single},{people_group}").json()
    assert (alone["gallery_size"], both["gallery_size"]) == (1, 5)
    assert alone["threshold"] < both["threshold"]
    assert [m["group_id"] for m in both["faces"][0]["matches"]] == sorted([single, people_group])


def test_explicit_threshold_wins_and_reports_its_fpir(
    gw: GatewayUnderTest, people_group: str, shared_data: Path
) -> None:
    body = search(
        gw, person_photo(shared_data, "obama/obama2.jpg"), people_group, threshold=30, fpir=1e-5
    ).json()
    assert body["threshold"] == 30.0 and body["gallery_size"] == 4
    assert 1e-5 < body["fpir"] < 0.1  # what a score of 30 lets through over 4 users


def test_a_user_with_five_faces_is_one_candidate(gw: GatewayUnderTest, shared_data: Path) -> None:
    import cv2

    group = unique("five")
    create_group(gw, group)
    photos = [person_photo(shared_data, f"obama/{n}") for n in ("obama.jpg", "obama1.jpg")]
    decoded = [np.asarray(cv2.imdecode(np.frombuffer(p, np.uint8), 1)) for p in photos]
    variants = [
        *photos,
        images.encode(np.ascontiguousarray(decoded[0][:, ::-1, ::-1]), "JPEG", quality=90),
        images.encode(np.ascontiguousarray(decoded[1][:, ::-1, ::-1]), "JPEG", quality=90),
        images.encode(np.ascontiguousarray(decoded[0][..., ::-1]), "JPEG", quality=70),
    ]
    for photo in variants:
        assert enroll(gw, group, "obama", photo).status_code == 200
    enroll(gw, group, "biden", person_photo(shared_data, "biden/biden.jpg"))
    listed = gw.client.get(f"/api/v1/groups/{group}/users/obama", headers={"x-api-key": gw.key})
    assert len(listed.json()["faces"]) == 5
    body = search(
        gw, person_photo(shared_data, "obama/obama2.jpg"), group, threshold=0, top_k=5
    ).json()
    assert body["gallery_size"] == 2
    assert [m["user_id"] for m in body["faces"][0]["matches"]] == ["obama", "biden"]


@pytest.mark.parametrize("fpir", ["0", "1e-7", "0.5", "x", "-0.001"])
def test_fpir_out_of_range_is_invalid_argument(
    gw: GatewayUnderTest, people_group: str, fpir: str
) -> None:
    body = assert_error(
        search(gw, images.astronaut_jpeg(), people_group, fpir=fpir), 400, "INVALID_ARGUMENT"
    )
    message = "'fpir' must be a number" if fpir == "x" else "'fpir' must be between 1e-06 and 0.1"
    assert body["error"]["message"] == message
