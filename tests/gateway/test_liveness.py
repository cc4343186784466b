"""The liveness endpoints through the real gateway and a real liveness gRPC server.

Covers the HTTP contract of ../shared/API.md (field names, error envelope, status codes),
tenancy of sessions, replay protection, and each bad-input path with its status and code.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from faceflow.liveness.v1 import liveness_pb2

from gateway.api.liveness_schemas import SessionOut
from gateway.api.routes.liveness import MAX_VIDEO_BYTES
from services.shared.model_store import ModelStore
from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.helpers import images
from tests.helpers.http import assert_error, error_message
from tests.helpers.video_clips import astronaut_clip
from tests.services.liveness.helpers import LivenessUnderTest, lfw_frames, running_liveness

API = "/api/v1"
ACTIONS = {"blink", "open_mouth", "turn_left", "turn_right", "nod"}


@pytest.fixture(scope="module")
def liveness_server(
    model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LivenessUnderTest]:
    with running_liveness(model_store, tmp_path_factory.mktemp("liveness")) as server:
        yield server


@pytest.fixture
def gw(make_gateway: GatewayFactory, liveness_server: LivenessUnderTest) -> GatewayUnderTest:
    return make_gateway(liveness=liveness_server.address)


def frame_files(frames: list[bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]


def verify(gw: GatewayUnderTest, session_id: str, frames: list[bytes], **data: str):  # type: ignore[no-untyped-def]
    return gw.client.post(
        f"{API}/liveness/sessions/{session_id}/verify",
        files=frame_files(frames),
        data=data,
        headers=gw.headers,
    )


# --- passive check ------------------------------------------------------------------------------


def test_check_multipart(gw: GatewayUnderTest) -> None:
    response = gw.client.post(
        f"{API}/liveness/check",
        files={"image": ("a.jpg", images.astronaut_jpeg(), "image/jpeg")},
        headers=gw.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["live"], bool) and 0 <= body["score"] <= 1
    assert body["live"] == (body["score"] >= body["threshold"])
    assert set(body["face"]) >= {"face_token", "box", "score", "landmarks"}
    assert body["face_count"] == 1
    assert {"name": "minifasnet_v2", "version": "2020-b6d5f04"} in body["models"]
    assert body["request_id"] and body["took_ms"] >= 0


def test_check_json_base64(gw: GatewayUnderTest, shared_data: Path) -> None:
    folder = shared_data / "liveness-samples"
    verdicts = {}
    for name in ("old_image_T1.jpg", "old_image_F1.jpg"):
        encoded = base64.b64encode((folder / name).read_bytes()).decode()
        response = gw.client.post(
            f"{API}/liveness/check", json={"image": encoded}, headers=gw.headers
        )
        assert response.status_code == 200, response.text
        verdicts[name] = response.json()["live"]
    assert verdicts == {"old_image_T1.jpg": True, "old_image_F1.jpg": False}


def test_check_bad_inputs(gw: GatewayUnderTest) -> None:
    url = f"{API}/liveness/check"
    no_face = gw.client.post(
        url, files={"image": ("n.jpg", images.no_face_jpeg())}, headers=gw.headers
    )
    assert_error(no_face, 400, "NO_FACE")
    garbage = gw.client.post(url, files={"image": ("x.jpg", b"not an image")}, headers=gw.headers)
    assert_error(garbage, 400, "INVALID_IMAGE")
    missing = gw.client.post(url, json={}, headers=gw.headers)
    assert_error(missing, 400, "INVALID_ARGUMENT")
    anonymous = gw.client.post(url, files={"image": ("a.jpg", images.astronaut_jpeg())})
    assert_error(anonymous, 401, "UNAUTHENTICATED")


def test_service_not_deployed(make_gateway: GatewayFactory) -> None:
    gw = make_gateway()  # no liveness address
    response = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers)
    assert_error(response, 503, "SERVICE_UNAVAILABLE")


# --- sessions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset_s", [-3 * 3600, 3 * 3600])
def test_expires_in_ignores_the_gateway_clock(offset_s: int) -> None:
    """The liveness host's clock is hours off the gateway's: expires_in is still the TTL."""
    created_ms = round((time.time() + offset_s) * 1000)
    session = liveness_pb2.Session(
        session_id="s", created_at_ms=created_ms, expires_at_ms=created_ms + 60_000
    )
    out = SessionOut.of(session, request_id="r", took_ms=1.0)
    assert out.expires_in == 60.0


def test_create_session(gw: GatewayUnderTest) -> None:
    response = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert 2 <= len(body["actions"]) <= 4 and set(body["actions"]) <= ACTIONS
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs(expires.timestamp() - time.time() - 60) < 5
    assert 55 <= body["expires_in"] <= 60
    fixed = gw.client.post(
        f"{API}/liveness/sessions", json={"action_count": 3, "ttl_seconds": 30}, headers=gw.headers
    ).json()
    assert len(fixed["actions"]) == 3 and fixed["expires_in"] <= 30
    bad = gw.client.post(f"{API}/liveness/sessions?action_count=5", headers=gw.headers)
    assert error_message(bad, 400, "INVALID_ARGUMENT") == "action_count must be between 2 and 4"
    for ttl in ("4", "601"):
        out_of_range = gw.client.post(
            f"{API}/liveness/sessions", data={"ttl_seconds": ttl}, headers=gw.headers
        )
        assert error_message(out_of_range, 400, "INVALID_ARGUMENT") == (
            "ttl_seconds must be between 5 and 600"
        )
    # Never a valid count or duration, whatever the service's settings: the gateway says so.
    never = {
        ("action_count", "0"): "'action_count' must be between 1 and 2147483647",
        ("ttl_seconds", "-1"): "'ttl_seconds' must be between 1 and 2147483647",
        ("ttl_seconds", "99999999999"): "'ttl_seconds' must be between 1 and 2147483647",
        ("ttl_seconds", "2e40"): "'ttl_seconds' must be an integer",
    }
    for (field, value), message in never.items():
        refused = gw.client.post(
            f"{API}/liveness/sessions", data={field: value}, headers=gw.headers
        )
        assert error_message(refused, 400, "INVALID_ARGUMENT") == message


def test_session_bounds_are_the_liveness_services_settings(
    model_store: ModelStore,
    make_gateway: GatewayFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A liveness service configured for longer sessions gets them through the gateway."""
    monkeypatch.setenv("FACEFLOW_LIVENESS_MAX_SESSION_TTL_SECONDS", "1800")
    with running_liveness(model_store, tmp_path / "liveness") as server:
        gw = make_gateway(liveness=server.address)
        url = f"{API}/liveness/sessions"
        response = gw.client.post(url, json={"ttl_seconds": 1800}, headers=gw.headers)
        assert response.status_code == 200, response.text
        assert 1795 <= response.json()["expires_in"] <= 1800
        too_long = gw.client.post(url, json={"ttl_seconds": 1801}, headers=gw.headers)
        assert error_message(too_long, 400, "INVALID_ARGUMENT") == (
            "ttl_seconds must be between 5 and 1800"
        )


def test_verify_real_turns(
    gw: GatewayUnderTest, liveness_server: LivenessUnderTest, shared_data: Path
) -> None:
    session = liveness_server.session(["turn_left", "turn_right"], tenant="demo")
    frames = lfw_frames(
        shared_data, ["Bill_Frist_0001", "Bill_Frist_0008", "Bill_Frist_0003", "Bill_Frist_0002"]
    )
    response = verify(gw, session, frames, frame_interval_ms="300")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["live"] is True and body["reasons"] == []
    assert body["session_id"] == session
    assert body["actions"] == [
        {"action": "turn_left", "passed": True, "frame": 1},
        {"action": "turn_right", "passed": True, "frame": 3},
    ]
    assert body["frames_analysed"] == 4 and body["score"] >= body["threshold"]
    assert {m["name"] for m in body["models"]} == {
        "yunet",
        "facemesh",
        "sface",
        "minifasnet_v2",
        "minifasnet_v1se",
    }
    # Single use: the same recording cannot be replayed.
    assert_error(verify(gw, session, frames), 409, "SESSION_ALREADY_USED")


def test_verify_created_session_with_a_still_photo(gw: GatewayUnderTest) -> None:
    created = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()
    response = verify(gw, created["session_id"], [images.astronaut_jpeg()] * 4)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["live"] is False
    assert [a["action"] for a in body["actions"]] == created["actions"]
    assert all(a["passed"] is False and a["frame"] == -1 for a in body["actions"])
    assert [f"ACTION_NOT_SEEN: {a}" for a in created["actions"]] == [
        r for r in body["reasons"] if r.startswith("ACTION_NOT_SEEN")
    ]


def test_verify_frames_without_faces(gw: GatewayUnderTest) -> None:
    created = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()
    body = verify(gw, created["session_id"], [images.no_face_jpeg()] * 3).json()
    assert body["live"] is False and body["frames_with_face"] == 0
    assert body["reasons"][0] == "NO_FACE_IN_FRAMES: 3 of 3 frames have no face"


def test_verify_two_people(gw: GatewayUnderTest) -> None:
    created = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()
    two = images.encode(images.group_photo(2))
    body = verify(gw, created["session_id"], [two] * 3).json()
    assert body["live"] is False
    assert "MULTIPLE_FACES: frames 0, 1, 2" in body["reasons"]


def test_verify_video(gw: GatewayUnderTest, tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    frame = cv2.cvtColor(cv2.resize(images.astronaut(), (320, 240)), cv2.COLOR_RGB2BGR)
    code = cv2.VideoWriter_fourcc(*"mp4v")  # type: ignore[attr-defined]
    writer = cv2.VideoWriter(str(path), code, 10.0, (320, 240))
    for _ in range(20):
        writer.write(frame)
    writer.release()
    created = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()
    response = gw.client.post(
        f"{API}/liveness/sessions/{created['session_id']}/verify",
        files={"video": ("clip.mp4", path.read_bytes(), "video/mp4")},
        headers=gw.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["frames_analysed"] == 20


def test_verify_bad_uploads(gw: GatewayUnderTest) -> None:
    session = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()["session_id"]
    url = f"{API}/liveness/sessions/{session}/verify"
    assert error_message(gw.client.post(url, headers=gw.headers), 400, "INVALID_ARGUMENT") == (
        "send several images as 'frames' or one 'video'"
    )
    broken_video = {"video": ("v.webm", b"\x1a\x45\xdf\xa3" + b"junk" * 200, "video/webm")}
    assert_error(gw.client.post(url, files=broken_video, headers=gw.headers), 400, "INVALID_VIDEO")
    not_video = {"video": ("v.mp4", b"hello", "video/mp4")}
    assert_error(gw.client.post(url, files=not_video, headers=gw.headers), 400, "INVALID_VIDEO")
    both = [*frame_files([images.astronaut_jpeg()] * 3), ("video", ("v.mp4", b"x", "video/mp4"))]
    assert error_message(
        gw.client.post(url, files=both, headers=gw.headers), 400, "INVALID_ARGUMENT"
    ) == ("send frames or a video, not both")
    tiny = images.encode(np.full((16, 16, 3), 100, np.uint8))
    too_many = error_message(verify(gw, session, [tiny] * 500), 400, "INVALID_ARGUMENT")
    assert "500 frames; the limit is 100" in too_many
    bad_frame = verify(gw, session, [images.astronaut_jpeg(), b"junk", images.astronaut_jpeg()])
    assert "frames[1]" in error_message(bad_frame, 400, "INVALID_IMAGE")
    for times in ("0,a,3", "0,1,1e400", "0,1,inf"):
        bad_times = verify(gw, session, [images.astronaut_jpeg()] * 3, frame_times_ms=times)
        assert error_message(bad_times, 400, "INVALID_ARGUMENT") == (
            "'frame_times_ms' must be a comma list of numbers"
        )
    millions = verify(gw, session, [images.astronaut_jpeg()] * 3, frame_times_ms="5," * 2_000_000)
    assert error_message(millions, 400, "INVALID_ARGUMENT") == (
        "frame_times_ms may hold at most 1000 values"
    )
    longer_than_window = verify(
        gw, session, [images.astronaut_jpeg()] * 3, frame_times_ms="0,30000,61000"
    )
    assert error_message(longer_than_window, 400, "INVALID_ARGUMENT") == (
        "the frames span 61.0 s, longer than the session window"
    )
    long_id = verify(gw, "x" * 201, [images.astronaut_jpeg()] * 3)
    assert error_message(long_id, 400, "INVALID_ARGUMENT") == (
        "session_id must be at most 200 characters"
    )
    # None of these consumed the session.
    assert verify(gw, session, [images.astronaut_jpeg()] * 3).status_code == 200


def test_a_video_over_the_limit_is_video_too_large(gw: GatewayUnderTest) -> None:
    session = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()["session_id"]
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(MAX_VIDEO_BYTES)
    response = gw.client.post(
        f"{API}/liveness/sessions/{session}/verify",
        files={"video": ("big.mp4", video, "video/mp4")},
        headers=gw.headers,
    )
    assert error_message(response, 413, "VIDEO_TOO_LARGE") == (
        f"the video is over the limit of {MAX_VIDEO_BYTES} bytes"
    )
    # Refused before the service saw it: the session is still unused.
    assert verify(gw, session, [images.astronaut_jpeg()] * 3).status_code == 200


def test_a_video_over_the_services_limit_is_413(
    gw: GatewayUnderTest,
    liveness_server: LivenessUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The liveness service configured below the gateway's 20 MiB: its VIDEO_TOO_LARGE is 413
    over HTTP too (it used to be 400 INVALID_ARGUMENT)."""
    data = astronaut_clip(tmp_path / "clip.mp4", 1.0)
    limits = replace(liveness_server.servicer.frame_limits, max_video_bytes=len(data) - 1)
    monkeypatch.setattr(liveness_server.servicer, "frame_limits", limits)
    session = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()["session_id"]
    response = gw.client.post(
        f"{API}/liveness/sessions/{session}/verify",
        files={"video": ("clip.mp4", data, "video/mp4")},
        headers=gw.headers,
    )
    assert error_message(response, 413, "VIDEO_TOO_LARGE") == (
        f"the video is {len(data)} bytes; the limit is {len(data) - 1} bytes"
    )
    assert verify(gw, session, [images.astronaut_jpeg()] * 3).status_code == 200


def test_sessions_belong_to_their_tenant(gw: GatewayUnderTest) -> None:
    session = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()["session_id"]
    other = {"x-api-key": gw.new_tenant_key("other-app")}
    response = gw.client.post(
        f"{API}/liveness/sessions/{session}/verify",
        files=frame_files([images.astronaut_jpeg()] * 3),
        headers=other,
    )
    assert_error(response, 404, "SESSION_NOT_FOUND")
    assert_error(
        verify(gw, "no-such-session", [images.astronaut_jpeg()] * 3), 404, "SESSION_NOT_FOUND"
    )


def test_expired_session(gw: GatewayUnderTest, liveness_server: LivenessUnderTest) -> None:
    record = liveness_server.servicer.sessions.create(
        "demo", ["blink", "nod"], 60, now=time.time() - 120
    )
    message = error_message(
        verify(gw, record.session_id, [images.astronaut_jpeg()] * 3), 400, "SESSION_EXPIRED"
    )
    assert "expired" in message


def test_openapi_documents_the_endpoints(gw: GatewayUnderTest) -> None:
    paths = gw.client.get("/openapi.json").json()["paths"]
    assert "/api/v1/liveness/check" in paths
    assert "/api/v1/liveness/sessions" in paths
    assert "/api/v1/liveness/sessions/{session_id}/verify" in paths


def test_verify_json_base64_frames(gw: GatewayUnderTest) -> None:
    """The JSON form a mini-program can send: frames as a list of base64 strings."""
    session = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()["session_id"]
    encoded = base64.b64encode(images.astronaut_jpeg()).decode()
    url = f"{API}/liveness/sessions/{session}/verify"
    bad = gw.client.post(
        url, json={"frames": [encoded] * 3, "frame_interval_ms": 0}, headers=gw.headers
    )
    assert_error(bad, 400, "INVALID_ARGUMENT")
    response = gw.client.post(
        url, json={"frames": [encoded] * 3, "frame_interval_ms": 250}, headers=gw.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["frames_analysed"] == 3


def test_a_malformed_session_id_is_invalid_argument(gw: GatewayUnderTest) -> None:
    """Session ids are URL-safe tokens: one with a NUL (which PostgreSQL refuses) or other
    characters never reaches the session store."""
    session = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers).json()["session_id"]
    for bad in ("%00", f"{session}%00", "a.b", "a%20b"):
        response = verify(gw, bad, [images.astronaut_jpeg()] * 3)
        assert error_message(response, 400, "INVALID_ARGUMENT") == (
            "session_id must be letters, digits, '_' or '-' (as the server made it)"
        )
    assert verify(gw, session, [images.astronaut_jpeg()] * 3).status_code == 200
