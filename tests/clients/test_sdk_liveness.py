"""The SDK against the real running stack: passive liveness and action-challenge sessions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from faceflow_sdk import (
    FaceflowClient,
    InvalidArgumentError,
    NoFaceError,
    SessionAlreadyUsedError,
    SessionExpiredError,
    SessionNotFoundError,
    UnauthenticatedError,
)
from tests.clients import photos
from tests.clients.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _needs_liveness(stack: Stack) -> None:
    if "liveness" not in stack.service_names:
        pytest.skip("the liveness service is not deployed")


def test_passive_check_of_a_photo(client: FaceflowClient, tmp_path: Path) -> None:
    result = client.liveness_check(photos.astronaut(tmp_path / "a.jpg"))
    assert isinstance(result["live"], bool)
    assert result["live"] == (result["score"] >= result["threshold"])
    with pytest.raises(NoFaceError):
        client.liveness_check(photos.no_face(tmp_path / "n.jpg"))


def test_a_still_photo_does_not_pass_an_action_challenge(
    client: FaceflowClient, tmp_path: Path
) -> None:
    session = client.create_liveness_session(action_count=2)
    assert len(session["actions"]) == 2 and session["session_id"] and session["expires_at"]
    frames = [photos.astronaut(tmp_path / "a.jpg")] * 12
    verdict = client.verify_liveness_session(
        session["session_id"], frames=frames, frame_interval_ms=200
    )
    assert verdict["live"] is False
    assert [a["action"] for a in verdict["actions"]] == session["actions"]
    assert verdict["reasons"]
    with pytest.raises(SessionAlreadyUsedError) as raised:
        client.verify_liveness_session(session["session_id"], frames=frames)
    assert raised.value.status == 409


def test_session_errors(client: FaceflowClient, stack: Stack, tmp_path: Path) -> None:
    photo = photos.astronaut(tmp_path / "a.jpg")
    with pytest.raises(SessionNotFoundError) as missing:
        client.verify_liveness_session("no-such-session", frames=[photo] * 4)
    assert missing.value.status == 404
    with pytest.raises(InvalidArgumentError):
        client.create_liveness_session(action_count=9)
    with pytest.raises(ValueError, match="either frames or video"):
        client.verify_liveness_session("x")
    with FaceflowClient(stack.url, "wrong") as stranger, pytest.raises(UnauthenticatedError):
        stranger.create_liveness_session()


def test_an_expired_session(client: FaceflowClient, tmp_path: Path) -> None:
    session = client.create_liveness_session(ttl_seconds=5)
    time.sleep(5.5)
    with pytest.raises(SessionExpiredError) as raised:
        client.verify_liveness_session(
            session["session_id"], frames=[photos.astronaut(tmp_path / "a.jpg")] * 4
        )
    assert raised.value.status == 400


def test_a_video_of_a_still_photo_does_not_pass(client: FaceflowClient, tmp_path: Path) -> None:
    session = client.create_liveness_session(action_count=2)
    verdict = client.verify_liveness_session(
        session["session_id"], video=photos.still_video(tmp_path / "still.mp4")
    )
    assert verdict["live"] is False
    assert verdict.get("frames_analysed", 0) >= 10
    assert any(reason.startswith("ACTION_NOT_SEEN") for reason in verdict["reasons"])
