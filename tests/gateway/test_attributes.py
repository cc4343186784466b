"""POST /api/v1/detect?fields=age,gender,emotion,pose,quality through the real gateway, with
real detection and attributes gRPC servers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.test_detect import post_image
from tests.helpers import images
from tests.helpers.http import assert_error

EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, attributes_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, attributes=attributes_address)


def test_every_attribute_for_the_astronaut(gw: GatewayUnderTest) -> None:
    response = post_image(gw, images.astronaut_jpeg(), "?fields=age,gender,emotion,pose,quality")
    assert response.status_code == 200, response.text
    body = response.json()
    face = body["faces"][0]
    assert 25 <= face["age"]["value"] <= 55
    low, high = face["age"]["range"]
    assert low <= face["age"]["value"] <= high
    assert face["gender"] == {"label": "female", "probability": pytest.approx(0.9, abs=0.1)}
    assert list(face["emotion"]["probabilities"]) == EMOTIONS
    assert face["emotion"]["dominant"] == "happy"
    assert face["pose"]["source"] == "mesh" and abs(face["pose"]["yaw"]) < 30
    quality = face["quality"]
    assert 0 < quality["score"] <= 1 and quality["eyes_open"] is not None
    assert face.get("mesh") is None  # asked for pose, not for the mesh itself
    assert "unavailable" not in face
    names = [m["name"] for m in body["models"]]
    assert names == ["yunet", "facemesh", "age", "gender", "emotion_fer2013"]


def test_only_requested_fields_appear(gw: GatewayUnderTest) -> None:
    body = post_image(gw, images.astronaut_jpeg(), "?fields=gender").json()
    face = body["faces"][0]
    assert face["gender"]["label"] == "female"
    for name in ("age", "emotion", "pose", "quality"):
        assert name not in face
    assert face.get("mesh") is None
    assert [m["name"] for m in body["models"]] == ["yunet", "gender"]


def test_json_body_with_fields(gw: GatewayUnderTest) -> None:
    import base64

    response = gw.client.post(
        "/api/v1/detect",
        json={"image": base64.b64encode(images.astronaut_jpeg()).decode(), "fields": "age,pose"},
        headers=gw.headers,
    )
    assert response.status_code == 200, response.text
    face = response.json()["faces"][0]
    assert face["age"]["value"] > 0 and face["pose"]["source"] == "mesh"


def test_face_too_small_is_null_with_reason(gw: GatewayUnderTest) -> None:
    small = np.ascontiguousarray(images.astronaut()[::9, ::9])  # face about 16 px
    response = post_image(gw, images.encode(small, "PNG"), "?fields=age,gender,emotion,pose")
    assert response.status_code == 200, response.text
    face = response.json()["faces"][0]
    assert face["age"] is None and face["gender"] is None and face["emotion"] is None
    assert "needs at least 32 px" in face["unavailable"]["age"]
    assert set(face["unavailable"]) == {"age", "gender", "emotion"}
    assert face["pose"] is not None


def test_no_face_needs_no_attributes_service(
    make_gateway: GatewayFactory, detection_address: str
) -> None:
    gw = make_gateway(detection=detection_address)  # attributes not deployed
    response = post_image(gw, images.no_face_jpeg(), "?fields=age")
    assert response.status_code == 200 and response.json()["faces"] == []


def test_unknown_field_is_named(gw: GatewayUnderTest) -> None:
    body = assert_error(
        post_image(gw, images.astronaut_jpeg(), "?fields=age,beauty"), 400, "INVALID_ARGUMENT"
    )
    assert "beauty" in body["error"]["message"]


def test_attributes_not_deployed_is_503(
    make_gateway: GatewayFactory, detection_address: str
) -> None:
    gw = make_gateway(detection=detection_address)
    assert_error(post_image(gw, images.astronaut_jpeg(), "?fields=age"), 503, "SERVICE_UNAVAILABLE")


def test_attributes_down_is_503(make_gateway: GatewayFactory, detection_address: str) -> None:
    gw = make_gateway(
        detection=detection_address,
        attributes="127.0.0.1:1",
        unavailable_retries=1,
        deadline_seconds=2.0,
    )
    assert_error(
        post_image(gw, images.astronaut_jpeg(), "?fields=pose"), 503, "SERVICE_UNAVAILABLE"
    )
