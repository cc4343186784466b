"""POST /api/v1/detect through the real gateway and a real detection gRPC server."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.gateway.conftest import GatewayUnderTest
from tests.helpers import images
from tests.helpers.http import assert_error


def post_image(gw: GatewayUnderTest, data: bytes, params: str = "", **kwargs: object):  # type: ignore[no-untyped-def]
    return gw.client.post(
        f"/api/v1/detect{params}",
        files={"image": ("photo.jpg", data, "image/jpeg")},
        headers=gw.headers,
        **kwargs,
    )


def test_detect_astronaut_multipart(gateway: GatewayUnderTest) -> None:
    response = post_image(gateway, images.astronaut_jpeg())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image"] == {"width": 512, "height": 512}
    assert len(body["faces"]) == 1
    face = body["faces"][0]
    # The astronaut's face is around x 180-270, y 60-175 in the 512x512 photo.
    assert 150 < face["box"]["x"] < 210 and 40 < face["box"]["y"] < 90
    assert 70 < face["box"]["width"] < 120
    left, right = face["landmarks"]["left_eye"], face["landmarks"]["right_eye"]
    assert left[0] < right[0]
    assert face["score"] > 0.8
    assert len(face["face_token"]) == 32
    assert body["models"] == [{"name": "yunet", "version": "2023mar"}]
    assert body["request_id"] and body["took_ms"] >= 0


def test_detect_base64_json_gives_same_faces(gateway: GatewayUnderTest) -> None:
    data = images.astronaut_jpeg()
    multipart = post_image(gateway, data).json()
    payload = {"image": base64.b64encode(data).decode(), "max_faces": 5}
    response = gateway.client.post("/api/v1/detect", json=payload, headers=gateway.headers)
    assert response.status_code == 200, response.text
    assert response.json()["faces"] == multipart["faces"]


def test_detect_mesh_field(gateway: GatewayUnderTest) -> None:
    response = post_image(gateway, images.astronaut_jpeg(), "?fields=mesh")
    assert response.status_code == 200, response.text
    body = response.json()
    mesh = np.array(body["faces"][0]["mesh"])
    assert mesh.shape == (468, 3)
    box = body["faces"][0]["box"]
    inside = (
        (mesh[:, 0] > box["x"] - 10)
        & (mesh[:, 0] < box["x"] + box["width"] + 10)
        & (mesh[:, 1] > box["y"] - 25)
        & (mesh[:, 1] < box["y"] + box["height"] + 10)
    )
    assert inside.mean() > 0.95
    assert {"name": "facemesh", "version": "mediapipe-2022"} in body["models"]


def test_no_face_is_200_with_empty_list(gateway: GatewayUnderTest) -> None:
    response = post_image(gateway, images.no_face_jpeg())
    assert response.status_code == 200
    assert response.json()["faces"] == []


def test_group_photo_is_capped_by_max_faces_largest_first(gateway: GatewayUnderTest) -> None:
    group = images.encode(images.group_photo(12), "JPEG", quality=95)
    everything = post_image(gateway, group, "?max_faces=100").json()["faces"]
    assert len(everything) == 12
    capped = post_image(gateway, group, "?max_faces=3").json()["faces"]
    assert len(capped) == 3
    areas = [f["box"]["width"] * f["box"]["height"] for f in everything]
    assert areas == sorted(areas, reverse=True)


def test_exif_rotation_is_honoured(gateway: GatewayUnderTest) -> None:
    upright = images.astronaut()
    plain = post_image(gateway, images.encode(upright, "JPEG", quality=95)).json()
    rotated = post_image(gateway, images.exif_rotated_jpeg(upright)).json()
    assert rotated["image"] == {"width": 512, "height": 512}
    assert len(rotated["faces"]) == 1
    for name, point in plain["faces"][0]["landmarks"].items():
        assert np.allclose(point, rotated["faces"][0]["landmarks"][name], atol=4.0), name


@pytest.mark.parametrize(
    "make",
    [
        lambda: images.png_with_alpha(images.astronaut()),
        lambda: images.encode(np.asarray(images.astronaut().mean(axis=2), dtype=np.uint8), "JPEG"),
        lambda: images.cmyk_jpeg(images.astronaut()),
        lambda: images.encode(images.astronaut(), "WEBP"),
        lambda: images.encode(images.astronaut(), "BMP"),
    ],
    ids=["png-alpha", "grey-jpeg", "cmyk-jpeg", "webp", "bmp"],
)
def test_other_formats_and_modes_find_the_face(gateway: GatewayUnderTest, make) -> None:  # type: ignore[no-untyped-def]
    response = post_image(gateway, make())
    assert response.status_code == 200, response.text
    assert len(response.json()["faces"]) == 1


def test_missing_api_key(gateway: GatewayUnderTest) -> None:
    response = gateway.client.post(
        "/api/v1/detect", files={"image": ("a.jpg", images.astronaut_jpeg())}
    )
    assert_error(response, 401, "UNAUTHENTICATED")


def test_wrong_api_key(gateway: GatewayUnderTest) -> None:
    response = gateway.client.post(
        "/api/v1/detect",
        files={"image": ("a.jpg", images.astronaut_jpeg())},
        headers={"x-api-key": "ff_not-a-real-key"},
    )
    assert_error(response, 401, "UNAUTHENTICATED")


def test_empty_body(gateway: GatewayUnderTest) -> None:
    response = gateway.client.post("/api/v1/detect", headers=gateway.headers)
    assert_error(response, 400, "INVALID_ARGUMENT")


def test_empty_image_field(gateway: GatewayUnderTest) -> None:
    assert_error(post_image(gateway, b""), 400, "INVALID_IMAGE")


def test_garbage_bytes(gateway: GatewayUnderTest) -> None:
    assert_error(post_image(gateway, b"this is not an image at all" * 10), 400, "INVALID_IMAGE")


def test_truncated_jpeg(gateway: GatewayUnderTest) -> None:
    data = images.astronaut_jpeg()
    assert_error(post_image(gateway, data[: len(data) // 3]), 400, "INVALID_IMAGE")


@pytest.mark.parametrize("side", [1, 0])
def test_tiny_images(gateway: GatewayUnderTest, side: int) -> None:
    if side == 0:
        data = images.png_bomb(0)
    else:
        data = images.encode(np.zeros((side, side, 3), dtype=np.uint8), "PNG")
    assert_error(post_image(gateway, data), 400, "INVALID_IMAGE")


def test_png_bomb(gateway: GatewayUnderTest) -> None:
    bomb = images.png_bomb(20000)
    assert len(bomb) < 2_000_000
    assert_error(post_image(gateway, bomb), 413, "IMAGE_TOO_LARGE")


def test_over_byte_limit(make_gateway, detection_address: str) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway(detection=detection_address, max_image_bytes=50_000)
    assert_error(post_image(gw, images.astronaut_jpeg()), 413, "IMAGE_TOO_LARGE")


def test_invalid_base64(gateway: GatewayUnderTest) -> None:
    response = gateway.client.post(
        "/api/v1/detect", json={"image": "###not base64###"}, headers=gateway.headers
    )
    assert_error(response, 400, "INVALID_IMAGE")


def test_invalid_json(gateway: GatewayUnderTest) -> None:
    response = gateway.client.post(
        "/api/v1/detect",
        content=b"{not json",
        headers={**gateway.headers, "content-type": "application/json"},
    )
    assert_error(response, 400, "INVALID_ARGUMENT")


PNG = base64.b64encode(images.no_face_jpeg())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # too deep for Python's parser (RecursionError): was a 500
        (b'{"image":"' + PNG + b'","max_faces":' + b"[" * 5000 + b"]" * 5000 + b"}", "not valid"),
        # an integer over Python's 4,300-digit limit (a plain ValueError): was a 500
        (b'{"image":"' + PNG + b'","max_faces":' + b"9" * 5000 + b"}", "not valid JSON"),
        # millions of tiny values: refused on a count of the bytes, before parsing
        (b'{"image":"' + PNG + b'","x":[' + b"0," * 200_000 + b"0]}", "more than 100000 values"),
        # a list of base64 images: counted before any is decoded
        (b'{"image":[' + b'"AAAA",' * 1000 + b'"AAAA"]}', "'image' holds more than 1000 images"),
        # a lone surrogate is valid JSON; the error quoting it was itself a 500
        (b'{"image":"' + PNG + b'","fields":"\\ud800"}', "not valid JSON"),
        (b'{"image":"' + PNG + b'","fields":"' + b"age," * 100 + b'"}', "at most 32 names"),
        # the same surrogate as raw CESU-8 bytes, or in a UTF-16 body: JSON is UTF-8
        (b'{"image":"' + PNG + b'","fields":"\xed\xa0\x80"}', "not valid JSON"),
        ('{"fields":"\\ud800"}'.encode("utf-16-le"), "not valid JSON"),
    ],
    ids=[
        "deep",
        "huge-integer",
        "many-values",
        "many-images",
        "lone-surrogate",
        "many-fields",
        "cesu-8",
        "utf-16",
    ],
)
def test_hostile_json_is_a_400(gateway: GatewayUnderTest, body: bytes, message: str) -> None:
    response = gateway.client.post(
        "/api/v1/detect",
        content=body,
        headers={**gateway.headers, "content-type": "application/json"},
    )
    assert message in assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"]


def test_a_byte_order_mark_is_allowed(gateway: GatewayUnderTest) -> None:
    body = b"\xef\xbb\xbf" + b'{"image":"' + PNG + b'"}'
    response = gateway.client.post(
        "/api/v1/detect",
        content=body,
        headers={**gateway.headers, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_a_paired_surrogate_escape_is_one_character(gateway: GatewayUnderTest) -> None:
    body = b'{"image":"' + PNG + b'","fields":"age,\\ud83d\\ude00"}'  # an escaped emoji
    response = gateway.client.post(
        "/api/v1/detect",
        content=body,
        headers={**gateway.headers, "content-type": "application/json"},
    )
    message = assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"]
    assert message.startswith("unknown field(s): \U0001f600;")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?max_faces=0", "'max_faces' must be between 1 and 100"),
        ("?max_faces=abc", "'max_faces' must be an integer"),
        ("?max_faces=1.5", "'max_faces' must be an integer"),
        ("?max_faces=1000", "'max_faces' must be between 1 and 100"),
        ("?min_face_size=-1", "'min_face_size' must be between 0 and 100000"),
        ("?min_face_size=100001", "'min_face_size' must be between 0 and 100000"),
    ],
)
def test_bad_parameters(gateway: GatewayUnderTest, query: str, message: str) -> None:
    response = post_image(gateway, images.astronaut_jpeg(), query)
    assert assert_error(response, 400, "INVALID_ARGUMENT")["error"]["message"] == message


@pytest.mark.parametrize(
    "payload",
    [{"max_faces": None}, {"max_faces": "5"}, {"fields": []}, {"fields": " , "}],
    ids=["null-is-default", "number-as-text", "empty-list", "blank-list"],
)
def test_lenient_json_parameters(gateway: GatewayUnderTest, payload: dict[str, object]) -> None:
    image = base64.b64encode(images.astronaut_jpeg()).decode()
    response = gateway.client.post(
        "/api/v1/detect", json={"image": image, **payload}, headers=gateway.headers
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["faces"]) == 1


def test_unknown_field_is_named(gateway: GatewayUnderTest) -> None:
    body = assert_error(
        post_image(gateway, images.astronaut_jpeg(), "?fields=mesh,haircolor"),
        400,
        "INVALID_ARGUMENT",
    )
    assert body["error"]["message"] == (
        "unknown field(s): haircolor; known: age, emotion, gender, mesh, pose, quality"
    )


def test_min_face_size_filters(gateway: GatewayUnderTest) -> None:
    response = post_image(gateway, images.astronaut_jpeg(), "?min_face_size=300")
    assert response.status_code == 200
    assert response.json()["faces"] == []


def test_detection_service_down_is_503(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway(detection="127.0.0.1:1", unavailable_retries=1, deadline_seconds=2.0)
    assert_error(post_image(gw, images.astronaut_jpeg()), 503, "SERVICE_UNAVAILABLE")


def test_service_not_deployed_is_503(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway()
    assert_error(post_image(gw, images.astronaut_jpeg()), 503, "SERVICE_UNAVAILABLE")


def test_rate_limit(make_gateway, detection_address: str) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway(detection=detection_address, rate_limit_per_minute=2)
    first, second, third = (post_image(gw, images.no_face_jpeg()) for _ in range(3))
    assert (first.status_code, second.status_code) == (200, 200)
    assert_error(third, 429, "RATE_LIMITED")
    assert int(third.headers["retry-after"]) >= 1


def test_unknown_route_uses_envelope(gateway: GatewayUnderTest) -> None:
    assert_error(gateway.client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")


def test_undeclared_method_is_405_with_allow(gateway: GatewayUnderTest) -> None:
    response = gateway.client.get("/api/v1/detect")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/groups", "GET, POST"),
        ("OPTIONS", "/api/v1/groups/g/users/u", "DELETE, GET"),
        ("PATCH", "/healthz", "GET"),
    ],
)
def test_allow_names_every_method_of_the_path(
    gateway: GatewayUnderTest, method: str, path: str, allow: str
) -> None:
    """A path served by one route per method: Allow lists them all, not the first route's."""
    response = gateway.client.request(method, path, headers=gateway.headers)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allow
