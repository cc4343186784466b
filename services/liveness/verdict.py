"""Combine the per-frame evidence of a session into a verdict with specific reasons.

Live means: enough frames show exactly one face (too few: NO_FACE_IN_FRAMES when frames
without a face are the cause, MULTIPLE_FACES for frames with several); the same person
throughout (SFace cosine to the reference frame above the threshold); every asked action seen
in order; and the passive model's mean score on the best frames (most frontal, eyes open) at
or above its threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from services.liveness.actions import (
    ActionName,
    ActionOutcome,
    ActionThresholds,
    Observation,
    evaluate_actions,
)
from services.liveness.passive import PassiveLiveness
from services.liveness.tracking import TrackedFrame


@dataclass(frozen=True)
class VerdictRules:
    """The numbers the verdict uses (from the service settings)."""

    passive_threshold: float
    same_person_similarity: float
    min_face_fraction: float
    best_frames: int
    actions: ActionThresholds = field(default_factory=ActionThresholds)


@dataclass
class Verdict:
    """The answer to one verification."""

    live: bool
    score: float
    actions: list[ActionOutcome]
    reasons: list[str]
    frames_with_face: int  # frames showing at least one face (the tracked one, maybe others)


def _frame_list(indices: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" (+{len(indices) - limit} more)" if len(indices) > limit else "")


def best_frames(frames: Sequence[TrackedFrame], count: int) -> list[TrackedFrame]:
    """The most frontal frames with open eyes: smallest |yaw| + |pitch - median pitch|."""
    scored = [(f, f.signals) for f in frames if f.signals is not None and f.face is not None]
    if not scored:
        return []
    median_pitch = float(np.median([s.pitch for _, s in scored]))
    scored.sort(key=lambda p: abs(p[1].yaw) + abs(p[1].pitch - median_pitch) - 50.0 * p[1].ear)
    return [f for f, _ in scored[:count]]


def decide(
    asked: Sequence[ActionName],
    frames: Sequence[TrackedFrame],
    images: Sequence[NDArray[np.uint8]],
    passive: PassiveLiveness,
    rules: VerdictRules,
) -> Verdict:
    """Reasons are listed in a stable order: faces, identity, actions, spoofing."""
    reasons: list[str] = []
    single = [f for f in frames if f.faces == 1]
    with_face = [f for f in frames if f.face is not None]
    no_face = [f.index for f in frames if f.faces == 0]
    if no_face and len(single) < max(2, rules.min_face_fraction * len(frames)):
        reasons.append(f"NO_FACE_IN_FRAMES: {len(no_face)} of {len(frames)} frames have no face")
    crowded = [f.index for f in frames if f.faces > 1]
    if crowded:
        reasons.append(f"MULTIPLE_FACES: frames {_frame_list(crowded)}")
    best = best_frames(with_face, rules.best_frames)
    if best and best[0].embedding is not None:
        reference = best[0].embedding
        changed = [
            f.index
            for f in with_face
            if f.embedding is not None
            and float(np.dot(f.embedding, reference)) < rules.same_person_similarity
        ]
        if changed:
            reasons.append(f"FACE_CHANGED: frames {_frame_list(changed)}")
    observations = [
        Observation(f.index, f.time_ms, f.signals) for f in with_face if f.signals is not None
    ]
    outcomes = evaluate_actions(asked, observations, rules.actions)
    reasons.extend(f"ACTION_NOT_SEEN: {o.action.value}" for o in outcomes if not o.passed)
    score = 0.0
    if best:
        scores = [
            passive.check(images[f.index], f.face.box).score for f in best if f.face is not None
        ]
        score = float(np.mean(scores))
        if score < rules.passive_threshold:
            reasons.append("SPOOF_SUSPECTED")
    return Verdict(
        live=not reasons,
        score=score,
        actions=outcomes,
        reasons=reasons,
        frames_with_face=len(with_face),
    )
