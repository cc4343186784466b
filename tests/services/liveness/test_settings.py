"""Liveness settings that contradict each other are refused when the service starts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.liveness.actions import MAX_ACTIONS, random_actions
from services.liveness.settings import LivenessSettings
from services.shared.limits import MIN_SESSION_TTL_SECONDS


def refused(**fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        LivenessSettings(**fields)
    return str(caught.value)


def test_defaults_are_consistent() -> None:
    settings = LivenessSettings()
    assert settings.min_actions <= settings.max_actions <= MAX_ACTIONS
    assert settings.min_frames <= settings.max_frames
    assert settings.session_ttl_seconds <= settings.max_session_ttl_seconds


def test_every_action_once_is_the_most_a_session_can_ask() -> None:
    settings = LivenessSettings(min_actions=MAX_ACTIONS, max_actions=MAX_ACTIONS)
    assert len(random_actions(settings.max_actions)) == MAX_ACTIONS
    message = refused(max_actions=MAX_ACTIONS + 1)
    assert "max_actions" in message and f"less than or equal to {MAX_ACTIONS}" in message
    assert "min_actions" in refused(min_actions=MAX_ACTIONS + 1, max_actions=MAX_ACTIONS + 1)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"min_actions": 4, "max_actions": 3}, "min_actions (4) is above max_actions (3)"),
        ({"min_frames": 50, "max_frames": 10}, "min_frames (50) is above max_frames (10)"),
        (
            {"session_ttl_seconds": 900, "max_session_ttl_seconds": 600},
            "session_ttl_seconds (900) is above max_session_ttl_seconds (600)",
        ),
    ],
)
def test_inconsistent_settings_are_refused(fields: dict[str, Any], expected: str) -> None:
    message = refused(**fields)
    assert expected in message
    assert "FACEFLOW_LIVENESS_" in message


def test_every_problem_is_named_at_once() -> None:
    message = refused(min_actions=3, max_actions=2, min_frames=9, max_frames=3)
    assert "min_actions (3)" in message and "min_frames (9)" in message


def test_default_ttl_below_the_shortest_session() -> None:
    assert "session_ttl_seconds" in refused(session_ttl_seconds=MIN_SESSION_TTL_SECONDS - 1)


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEFLOW_LIVENESS_SESSION_TTL_SECONDS", "700")
    assert "session_ttl_seconds (700) is above max_session_ttl_seconds (600)" in refused()
    monkeypatch.setenv("FACEFLOW_LIVENESS_MAX_SESSION_TTL_SECONDS", "900")
    assert LivenessSettings().session_ttl_seconds == 700
