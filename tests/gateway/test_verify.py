"""POST /api/v1/verify through the real gateway, detection and embedding gRPC servers."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import (
    API,
    astronaut_variant,
    create_group,
    enroll,
    person_photo,
    unique,
    verify_user,
)
from tests.helpers import images
from tests.helpers.http import assert_error


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


def verify_two(gw: GatewayUnderTest, a: bytes, b: bytes):  # type: ignore[no-untyped-def]
    return gw.client.post(
        f"{API}/verify",
        files={"image_a": ("a.jpg", a, "image/jpeg"), "image_b": ("b.jpg", b, "image/jpeg")},
        headers=gw.headers,
    )


def test_same_person_two_photos(gw: GatewayUnderTest) -> None:
    response = verify_two(gw, images.astronaut_jpeg(), astronaut_variant())
    assert response.status_code == 200, response.text
    body = response.json()
    thresholds = body["thresholds"]
    assert set(thresholds) == {"1e-3", "1e-4", "1e-5"}
    assert 0 < thresholds["1e-3"] < thresholds["1e-4"] < thresholds["1e-5"] < 100
    assert body["same_person"] is True
    assert body["score"] >= thresholds["1e-4"]
    assert body["score"] == pytest.approx(100 * max(0.0, body["similarity"]), abs=0.02)
    assert [f["image"] for f in body["faces"]] == ["image_a", "image_b"]
    assert "user" not in body  # only a comparison with a stored user names one
    assert {"name": "sface", "version": "2021dec"} in body["models"]
    assert {"name": "yunet", "version": "2023mar"} in body["models"]
    assert body["request_id"] and body["took_ms"] >= 0


def test_real_pairs(gw: GatewayUnderTest, shared_data: Path) -> None:
    obama = person_photo(shared_data, "obama/obama.jpg")
    same = verify_two(gw, obama, person_photo(shared_data, "obama/obama2.jpg")).json()
    different = verify_two(gw, obama, person_photo(shared_data, "biden/biden.jpg")).json()
    assert same["same_person"] is True
    assert different["same_person"] is False
    assert different["score"] < same["thresholds"]["1e-3"] < same["score"]


def test_json_base64_gives_the_same_answer(gw: GatewayUnderTest) -> None:
    a, b = images.astronaut_jpeg(), astronaut_variant()
    multipart = verify_two(gw, a, b).json()
    payload = {"image_a": base64.b64encode(a).decode(), "image_b": base64.b64encode(b).decode()}
    response = gw.client.post(f"{API}/verify", json=payload, headers=gw.headers)
    assert response.status_code == 200, response.text
    assert response.json()["similarity"] == multipart["similarity"]


def test_json_nulls_are_not_given_for_images_too(gw: GatewayUnderTest) -> None:
    a, b = images.astronaut_jpeg(), astronaut_variant()
    expected = verify_two(gw, a, b).json()["similarity"]
    payload = {
        "image_a": base64.b64encode(a).decode(),
        "image_b": base64.b64encode(b).decode(),
        "image": None,
        "group_id": None,
        "user_id": None,
    }
    response = gw.client.post(f"{API}/verify", json=payload, headers=gw.headers)
    assert response.status_code == 200, response.text
    assert response.json()["similarity"] == expected
    assert [f["image"] for f in response.json()["faces"]] == ["image_a", "image_b"]


def test_photo_against_stored_user(gw: GatewayUnderTest) -> None:
    group = unique("v")
    create_group(gw, group)
    token = enroll(gw, group, "astro", images.astronaut_jpeg()).json()["face_token"]
    response = verify_user(gw, astronaut_variant(), group, "astro")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["same_person"] is True
    assert body["user"] == {"group_id": group, "user_id": "astro", "face_token": token}


def test_photo_against_other_stored_user(gw: GatewayUnderTest, shared_data: Path) -> None:
    group = unique("v")
    create_group(gw, group)
    enroll(gw, group, "biden", person_photo(shared_data, "biden/biden.jpg"))
    body = verify_user(gw, person_photo(shared_data, "obama/obama.jpg"), group, "biden").json()
    assert body["same_person"] is False


def centre_of(face: dict) -> tuple[float, float]:  # type: ignore[type-arg]
    box = face["box"]
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_face_selection_center_uses_the_face_nearest_the_centre(gw: GatewayUnderTest) -> None:
    photo, (cx, cy) = images.big_corner_small_centre()
    data = images.encode(photo)
    files = {"image_a": ("a.jpg", data), "image_b": ("b.jpg", images.astronaut_jpeg())}
    default = gw.client.post(f"{API}/verify", files=files, headers=gw.headers)
    centred = gw.client.post(
        f"{API}/verify", files=files, data={"face_selection": "center"}, headers=gw.headers
    )
    assert default.status_code == 200 and centred.status_code == 200, centred.text
    largest_face, centre_face = default.json()["faces"][0], centred.json()["faces"][0]
    assert largest_face["box"]["width"] > 1.5 * centre_face["box"]["width"]
    x, y = centre_of(centre_face)
    assert abs(x - cx) < 30 and abs(y - cy) < 40
    # the same person either way (the astronaut twice), so both still match
    assert default.json()["same_person"] and centred.json()["same_person"]


def test_unknown_face_selection_is_invalid_argument(gw: GatewayUnderTest) -> None:
    photo = images.astronaut_jpeg()
    response = gw.client.post(
        f"{API}/verify",
        files={"image_a": ("a.jpg", photo), "image_b": ("b.jpg", photo)},
        data={"face_selection": "leftmost"},
        headers=gw.headers,
    )
    body = assert_error(response, 400, "INVALID_ARGUMENT")
    assert body["error"]["message"] == (
        "face_selection must be one of largest, center, got 'leftmost'"
    )


def test_errors(gw: GatewayUnderTest) -> None:
    photo = images.astronaut_jpeg()

    def message(response: httpx.Response) -> str:
        return str(assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"])

    assert message(gw.client.post(f"{API}/verify", headers=gw.headers)) == (
        "send image_a and image_b, or image with group_id and user_id"
    )
    only_a = gw.client.post(
        f"{API}/verify", files={"image_a": ("a.jpg", photo)}, headers=gw.headers
    )
    assert message(only_a) == "the field 'image_b' (an image) is required"
    assert_error(verify_two(gw, photo, images.no_face_jpeg()), 400, "NO_FACE")
    garbage = assert_error(verify_two(gw, photo, b"garbage" * 20), 400, "INVALID_IMAGE")
    assert garbage["error"]["message"] == "'image_b' is not a readable JPEG, PNG, WebP or BMP image"
    no_user = gw.client.post(
        f"{API}/verify",
        files={"image": ("a.jpg", photo)},
        data={"group_id": "g"},
        headers=gw.headers,
    )
    assert message(no_user) == "send image_a and image_b, or image with group_id and user_id"
    bad_group = verify_user(gw, photo, "bad group!", "u")
    assert message(bad_group) == (
        "group_id must be 1-128 characters of letters, digits, '_', '.', '@' or '-', not only dots"
    )
    group = unique("v")
    assert_error(verify_user(gw, photo, group, "nobody"), 404, "GROUP_NOT_FOUND")
    create_group(gw, group)
    assert_error(verify_user(gw, photo, group, "nobody"), 404, "USER_NOT_FOUND")
    mixed = gw.client.post(
        f"{API}/verify",
        files={"image_a": ("a.jpg", photo), "image_b": ("b.jpg", photo), "image": ("c.jpg", photo)},
        headers=gw.headers,
    )
    assert message(mixed) == "send image_a + image_b, or image + user_id"


def test_embedding_service_down_is_503(
    make_gateway: GatewayFactory, detection_address: str
) -> None:
    gw = make_gateway(
        detection=detection_address,
        embedding="127.0.0.1:1",
        unavailable_retries=1,
        deadline_seconds=2.0,
    )
    assert_error(
        verify_two(gw, images.astronaut_jpeg(), astronaut_variant()), 503, "SERVICE_UNAVAILABLE"
    )


def test_openapi_documents_the_recognition_endpoints(gw: GatewayUnderTest) -> None:
    document = gw.client.get("/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/api/v1/verify",
        "/api/v1/search",
        "/api/v1/groups/{group_id}/users/{user_id}/faces",
    ):
        assert "200" in paths[path]["post"]["responses"], path
    schemas = document["components"]["schemas"]
    assert {"same_person", "thresholds", "score"} <= set(schemas["VerifyFacesOut"]["properties"])
    assert "matches" in schemas["SearchFaceOut"]["properties"]
