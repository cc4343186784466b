"""Action-challenge logic: was each asked action performed, in order, with believable timing?

Each action is a transition in one per-frame signal (see ``geometry``): from a *neutral* frame
to an *active* frame at least ``min_transition_ms`` later, and for blink and nod a *return*
frame after that (eyes open again, head back up). Actions are searched in the asked order; the
search for the next action starts where the previous one completed, so the order is enforced
and one movement cannot count twice. Frames without a tracked face are skipped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from services.liveness.geometry import FaceSignals


class ActionName(StrEnum):
    """The actions a session can ask for (the public names)."""

    BLINK = "blink"
    OPEN_MOUTH = "open_mouth"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    NOD = "nod"


ALL_ACTIONS = tuple(ActionName)
MAX_ACTIONS = len(ALL_ACTIONS)
"""The most actions one session can ask for: each verifiable action at most once."""


def random_actions(count: int, rng: random.Random | None = None) -> list[ActionName]:
    """``count`` distinct actions in random order (cryptographic randomness by default)."""
    chooser = rng or random.SystemRandom()
    if not 1 <= count <= MAX_ACTIONS:
        raise ValueError(f"count must be 1-{MAX_ACTIONS}")
    return chooser.sample(list(ALL_ACTIONS), count)


@dataclass(frozen=True)
class ActionThresholds:
    """Where each signal counts as neutral or active (values measured in docs/liveness.md)."""

    eye_open_fraction: float = 0.8  # EAR at least this fraction of the person's open-eye EAR
    eye_closed_fraction: float = 0.6  # EAR at most this fraction of the neutral frame's EAR
    eye_closed_max: float = 0.16  # ...and at most this absolute EAR
    mouth_closed_max: float = 0.2
    mouth_open_min: float = 0.4
    # Yaw from the shared head-pose fit, which reads about 1.15x the earlier mesh-vector yaw on
    # LFW (docs/liveness.md): 12 / 22 / 15 degrees then are 14 / 25 / 17 now.
    yaw_neutral_max: float = 14.0  # degrees
    yaw_turned_min: float = 25.0
    pitch_nod_min: float = 12.0  # degrees of downward tilt relative to the neutral frame
    pose_steady_max: float = 17.0  # |yaw| allowed while blinking or nodding
    min_transition_ms: float = 100.0  # neutral -> active faster than this is not human


@dataclass(frozen=True)
class Observation:
    """One frame with a tracked face."""

    frame: int  # index in the submitted frames (or sampled video frames)
    time_ms: float
    signals: FaceSignals


@dataclass(frozen=True)
class ActionOutcome:
    """Whether an action was seen and in which frame (-1 if not)."""

    action: ActionName
    passed: bool
    frame: int


Pair = Callable[[FaceSignals, FaceSignals], bool]
Single = Callable[[FaceSignals], bool]


@dataclass(frozen=True)
class _Rule:
    neutral: Single
    active: Pair  # (neutral frame, candidate) -> active?
    returned: Pair | None  # (active frame, candidate) -> back to neutral?


def _rules(t: ActionThresholds, open_eye_ear: float) -> dict[ActionName, _Rule]:
    def steady(s: FaceSignals) -> bool:
        return abs(s.yaw) <= t.pose_steady_max

    def eyes_open(s: FaceSignals) -> bool:
        return steady(s) and s.ear >= t.eye_open_fraction * open_eye_ear

    def eyes_closed(n: FaceSignals, s: FaceSignals) -> bool:
        return steady(s) and s.ear <= min(t.eye_closed_fraction * n.ear, t.eye_closed_max)

    return {
        ActionName.BLINK: _Rule(eyes_open, eyes_closed, lambda _a, s: eyes_open(s)),
        ActionName.OPEN_MOUTH: _Rule(
            lambda s: s.mar <= t.mouth_closed_max,
            lambda _n, s: s.mar >= t.mouth_open_min,
            None,
        ),
        ActionName.TURN_LEFT: _Rule(
            lambda s: abs(s.yaw) <= t.yaw_neutral_max,
            lambda _n, s: s.yaw >= t.yaw_turned_min,
            None,
        ),
        ActionName.TURN_RIGHT: _Rule(
            lambda s: abs(s.yaw) <= t.yaw_neutral_max,
            lambda _n, s: s.yaw <= -t.yaw_turned_min,
            None,
        ),
        ActionName.NOD: _Rule(
            steady,
            lambda n, s: steady(s) and s.pitch - n.pitch >= t.pitch_nod_min,
            lambda a, s: steady(s) and a.pitch - s.pitch >= t.pitch_nod_min / 2,
        ),
    }


def open_eye_level(observations: Sequence[Observation]) -> float:
    """The person's open-eye EAR: the 80th percentile over the frames (0 if none)."""
    if not observations:
        return 0.0
    return float(np.percentile([o.signals.ear for o in observations], 80))


def _find(
    rule: _Rule, observations: Sequence[Observation], start: int, min_ms: float
) -> tuple[int, int] | None:
    """(position of the active frame, position where the action completed) or None."""
    for j in range(start + 1, len(observations)):
        candidate = observations[j]
        if not any(
            candidate.time_ms - observations[i].time_ms >= min_ms
            and rule.neutral(observations[i].signals)
            and rule.active(observations[i].signals, candidate.signals)
            for i in range(start, j)
        ):
            continue
        if rule.returned is None:
            return j, j
        for k in range(j + 1, len(observations)):
            if rule.returned(candidate.signals, observations[k].signals):
                return j, k
    return None


def evaluate_actions(
    asked: Sequence[ActionName],
    observations: Sequence[Observation],
    thresholds: ActionThresholds | None = None,
) -> list[ActionOutcome]:
    """Check the asked actions in order; a failed action does not stop the later ones."""
    t = thresholds or ActionThresholds()
    rules = _rules(t, open_eye_level(observations))
    outcomes: list[ActionOutcome] = []
    cursor = 0
    for action in asked:
        found = _find(rules[action], observations, cursor, t.min_transition_ms)
        if found is None:
            outcomes.append(ActionOutcome(action, False, -1))
            continue
        active, completed = found
        outcomes.append(ActionOutcome(action, True, observations[active].frame))
        cursor = completed
    return outcomes
