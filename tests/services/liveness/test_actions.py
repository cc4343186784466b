"""The action rules on signal sequences (no models): order, return-to-neutral, timing.

These are the decision rules alone, fed with EAR / MAR / yaw / pitch values in the ranges
measured on real photos (docs/liveness.md); test_verify.py runs them on real photos.
"""

from __future__ import annotations

import random

import pytest

from services.liveness.actions import (
    ALL_ACTIONS,
    ActionName,
    Observation,
    evaluate_actions,
    random_actions,
)
from services.liveness.geometry import FaceSignals

NEUTRAL = FaceSignals(ear=0.28, mar=0.05, yaw=0.0, pitch=5.0)


def frames(*signals: FaceSignals, step_ms: float = 200.0) -> list[Observation]:
    return [Observation(i, i * step_ms, s) for i, s in enumerate(signals)]


def with_(**changes: float) -> FaceSignals:
    values = {"ear": NEUTRAL.ear, "mar": NEUTRAL.mar, "yaw": NEUTRAL.yaw, "pitch": NEUTRAL.pitch}
    values.update(changes)
    return FaceSignals(**values)


CLOSED = with_(ear=0.09)
LEFT = with_(yaw=30.0)
RIGHT = with_(yaw=-30.0)
MOUTH = with_(mar=0.6)
DOWN = with_(pitch=25.0)


def passed(asked: list[ActionName], observations: list[Observation]) -> list[tuple[bool, int]]:
    return [(o.passed, o.frame) for o in evaluate_actions(asked, observations)]


def test_blink_needs_open_closed_open() -> None:
    assert passed([ActionName.BLINK], frames(NEUTRAL, CLOSED, NEUTRAL)) == [(True, 1)]
    # Eyes that close and never reopen (or are closed throughout, like a photo of a person
    # with closed eyes) are not a blink.
    assert passed([ActionName.BLINK], frames(NEUTRAL, CLOSED, CLOSED)) == [(False, -1)]
    assert passed([ActionName.BLINK], frames(CLOSED, CLOSED, CLOSED)) == [(False, -1)]
    # Squinting (EAR down 20%) is not closing.
    assert passed([ActionName.BLINK], frames(NEUTRAL, with_(ear=0.22), NEUTRAL)) == [(False, -1)]


def test_turns_and_mouth_need_a_neutral_frame_first() -> None:
    assert passed([ActionName.TURN_LEFT], frames(NEUTRAL, LEFT)) == [(True, 1)]
    assert passed([ActionName.TURN_LEFT], frames(LEFT, LEFT)) == [(False, -1)]
    assert passed([ActionName.TURN_RIGHT], frames(NEUTRAL, LEFT)) == [(False, -1)]
    assert passed([ActionName.OPEN_MOUTH], frames(NEUTRAL, MOUTH)) == [(True, 1)]
    assert passed([ActionName.OPEN_MOUTH], frames(MOUTH, MOUTH)) == [(False, -1)]


def test_nod_is_down_and_back_up_relative_to_the_start() -> None:
    assert passed([ActionName.NOD], frames(NEUTRAL, DOWN, NEUTRAL)) == [(True, 1)]
    assert passed([ActionName.NOD], frames(NEUTRAL, DOWN, DOWN)) == [(False, -1)]
    # A camera below the face gives a high pitch throughout: only the change counts.
    high = with_(pitch=20.0)
    assert passed([ActionName.NOD], frames(high, with_(pitch=40.0), high)) == [(True, 1)]


def test_actions_must_come_in_the_asked_order() -> None:
    asked = [ActionName.TURN_LEFT, ActionName.TURN_RIGHT]
    assert passed(asked, frames(NEUTRAL, LEFT, NEUTRAL, RIGHT)) == [(True, 1), (True, 3)]
    # Performed right-then-left: the left turn is found, but no right turn follows it.
    assert passed(asked, frames(NEUTRAL, RIGHT, NEUTRAL, LEFT)) == [(True, 3), (False, -1)]


def test_one_movement_counts_once() -> None:
    asked = [ActionName.OPEN_MOUTH, ActionName.TURN_LEFT]
    # Mouth open while turning: the turn needs its own neutral frame after the mouth action.
    both = with_(mar=0.6, yaw=30.0)
    assert passed(asked, frames(NEUTRAL, both)) == [(True, 1), (False, -1)]
    assert passed(asked, frames(NEUTRAL, both, NEUTRAL, LEFT)) == [(True, 1), (True, 3)]


def test_transitions_faster_than_a_human_do_not_count() -> None:
    fast = frames(NEUTRAL, LEFT, step_ms=40.0)
    assert passed([ActionName.TURN_LEFT], fast) == [(False, -1)]
    slow = frames(NEUTRAL, NEUTRAL, LEFT, step_ms=60.0)  # 120 ms from the first neutral frame
    assert passed([ActionName.TURN_LEFT], slow) == [(True, 2)]


def test_no_observations_fail_every_action() -> None:
    outcomes = evaluate_actions(list(ALL_ACTIONS), [])
    assert [o.passed for o in outcomes] == [False] * len(ALL_ACTIONS)


def test_random_actions_are_distinct_and_bounded() -> None:
    rng = random.Random(7)
    for count in (2, 3, 4):
        drawn = random_actions(count, rng)
        assert len(drawn) == count == len(set(drawn))
    with pytest.raises(ValueError):
        random_actions(6)
