"""Helpers for the recognition tests (/verify, /search, the gallery): photos and calls."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.gateway.conftest import GatewayUnderTest
from tests.helpers import images

API = "/api/v1"


def unique(prefix: str) -> str:
    """A fresh id: the embedding service (and its gallery) is shared by the whole session."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def person_photo(shared: Path, relative: str) -> bytes:
    """A real photo from ../shared/data/photos/people."""
    path = shared / "photos" / "people" / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path.read_bytes()


def astronaut_variant() -> bytes:
    """Another photo of the same person: the astronaut cropped and rescaled (not the same bytes)."""
    import cv2

    photo = images.astronaut()[10:400, 60:420]
    resized = np.asarray(cv2.resize(photo, (300, 325), interpolation=cv2.INTER_AREA), np.uint8)
    return images.encode(resized, "JPEG", quality=90)


def create_group(gw: GatewayUnderTest, group_id: str, key: str | None = None) -> httpx.Response:
    """POST /groups."""
    headers = {"x-api-key": key or gw.key}
    response: httpx.Response = gw.client.post(
        f"{API}/groups", json={"group_id": group_id}, headers=headers
    )
    return response


def enroll(
    gw: GatewayUnderTest,
    group_id: str,
    user_id: str,
    photo: bytes,
    key: str | None = None,
    **params: Any,
) -> httpx.Response:
    """POST /groups/{group}/users/{user}/faces with a multipart image."""
    headers = {"x-api-key": key or gw.key}
    response: httpx.Response = gw.client.post(
        f"{API}/groups/{group_id}/users/{user_id}/faces",
        files={"image": ("face.jpg", photo, "image/jpeg")},
        data={k: str(v) for k, v in params.items()},
        headers=headers,
    )
    return response


def search(
    gw: GatewayUnderTest, photo: bytes, group_ids: str, key: str | None = None, **params: Any
) -> httpx.Response:
    """POST /search."""
    headers = {"x-api-key": key or gw.key}
    response: httpx.Response = gw.client.post(
        f"{API}/search",
        files={"image": ("probe.jpg", photo, "image/jpeg")},
        data={"group_ids": group_ids, **{k: str(v) for k, v in params.items()}},
        headers=headers,
    )
    return response


def verify_user(
    gw: GatewayUnderTest, photo: bytes, group_id: str, user_id: str, key: str | None = None
) -> httpx.Response:
    """POST /verify with image + group_id + user_id."""
    headers = {"x-api-key": key or gw.key}
    response: httpx.Response = gw.client.post(
        f"{API}/verify",
        files={"image": ("probe.jpg", photo, "image/jpeg")},
        data={"group_id": group_id, "user_id": user_id},
        headers=headers,
    )
    return response
