"""The SDK against the real running stack: detection and the error classes it raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceflow_sdk import (
    FaceflowClient,
    InvalidArgumentError,
    InvalidImageError,
    UnauthenticatedError,
)
from tests.clients import photos
from tests.clients.stack import Stack

pytestmark = pytest.mark.e2e


def test_health_and_readiness(client: FaceflowClient, stack: Stack) -> None:
    assert client.healthz()
    ready = client.readyz()
    assert set(ready["services"]) == stack.service_names


def test_detect_a_photo_from_a_path(client: FaceflowClient, tmp_path: Path) -> None:
    result = client.detect(photos.astronaut(tmp_path / "a.jpg"))
    assert result["image"] == {"width": 512, "height": 512}
    assert len(result["faces"]) == 1
    face = result["faces"][0]
    assert 150 < face["box"]["x"] + face["box"]["width"] / 2 < 300
    assert set(face["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
    assert result["models"] and result["request_id"]


def test_detect_bytes_with_mesh(client: FaceflowClient, tmp_path: Path) -> None:
    data = photos.astronaut(tmp_path / "a.jpg").read_bytes()
    result = client.detect(data, fields=["mesh"], max_faces=1)
    assert len(result["faces"][0].get("mesh") or []) == 468


def test_detect_no_face_is_an_empty_list(client: FaceflowClient, tmp_path: Path) -> None:
    assert client.detect(photos.no_face(tmp_path / "n.jpg"))["faces"] == []


def test_not_an_image_raises_invalid_image(client: FaceflowClient, tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError) as raised:
        client.detect(photos.not_an_image(tmp_path / "x.jpg"))
    assert raised.value.status == 400 and raised.value.code == "INVALID_IMAGE"
    assert raised.value.request_id


def test_unknown_field_raises_invalid_argument(client: FaceflowClient, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        client.detect(photos.astronaut(tmp_path / "a.jpg"), fields=["shoe_size"])
    assert raised.value.status == 400 and "shoe_size" in raised.value.message


def test_wrong_key_raises_unauthenticated(stack: Stack, tmp_path: Path) -> None:
    with (
        FaceflowClient(stack.url, "not-a-key") as client,
        pytest.raises(UnauthenticatedError) as raised,
    ):
        client.detect(photos.astronaut(tmp_path / "a.jpg"))
    assert raised.value.status == 401
