"""The video face tracker: association, track start and end, best frames, state carry-over.

Faces are synthetic here (each person a random unit vector, each frame a noisy copy with the
cosine a face model gives one person across video frames, ~0.8); the tracker on real video
frames is tested end to end in tests/gateway/test_videos.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.typing import NDArray

from services.shared.face_tracker import (
    Box,
    Detection,
    FaceTracker,
    Track,
    TrackerSettings,
    iou,
)

RNG = np.random.default_rng(7)
DIM = 128


def person() -> NDArray[np.float32]:
    vector = RNG.normal(size=DIM).astype(np.float32)
    unit: NDArray[np.float32] = vector / np.float32(np.linalg.norm(vector))
    return unit


def seen(identity: NDArray[np.float32], noise: float = 0.5) -> NDArray[np.float32]:
    """One frame's embedding of ``identity`` (cosine ~0.8 to it at noise 0.5)."""
    vector = identity + noise * RNG.normal(size=DIM).astype(np.float32) / np.sqrt(DIM)
    unit: NDArray[np.float32] = (vector / np.linalg.norm(vector)).astype(np.float32)
    return unit


def face(
    identity: NDArray[np.float32], box: Box, score: float = 0.9, quality: float = 0.8
) -> Detection:
    return Detection(box=box, score=score, quality=quality, embedding=seen(identity))


def run(tracker: FaceTracker, frames: list[tuple[float, list[Detection]]]) -> list[Track]:
    ended: list[Track] = []
    for time_ms, detections in frames:
        ended.extend(tracker.update(time_ms, detections))
    return ended + tracker.finish()


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_one_person_moving_is_one_track_with_its_times() -> None:
    alice = person()
    frames = [(i * 200.0, [face(alice, (100 + 8 * i, 80, 60, 70))]) for i in range(10)]
    tracks = run(FaceTracker(), frames)
    assert len(tracks) == 1
    track = tracks[0]
    assert (track.track_id, track.first_ms, track.last_ms, track.hits) == (1, 0.0, 1800.0, 10)
    assert track.box == (172, 80, 60, 70)
    assert float(np.dot(track.template(), alice)) > 0.9


def test_fast_motion_without_overlap_is_kept_by_the_face() -> None:
    """At a low sampling rate a walking face jumps: no overlap, but clearly the same face."""
    alice = person()
    frames = [(i * 500.0, [face(alice, (50 + 150 * i, 100, 60, 60))]) for i in range(4)]
    assert [t.hits for t in run(FaceTracker(), frames)] == [4]


def test_two_people_crossing_keep_their_identities() -> None:
    alice, bob = person(), person()
    frames = []
    for i in range(11):  # they walk towards each other and past, boxes overlapping mid-way
        frames.append(
            (
                i * 200.0,
                [face(alice, (100 + 30 * i, 100, 80, 80)), face(bob, (400 - 30 * i, 110, 80, 80))],
            )
        )
    tracks = run(FaceTracker(), frames)
    assert len(tracks) == 2
    for track, identity in zip(tracks, (alice, bob), strict=True):
        assert track.hits == 11
        for best in track.best:
            assert float(np.dot(best.detection.embedding, identity)) > 0.6


def test_someone_else_at_the_same_spot_is_a_new_track() -> None:
    """IoU alone would merge them: the embedding says they are different people."""
    alice, bob = person(), person()
    box = (200.0, 100.0, 80.0, 80.0)
    frames = [(i * 200.0, [face(alice if i < 4 else bob, box)]) for i in range(8)]
    tracks = run(FaceTracker(), frames)
    assert [(t.first_ms, t.last_ms) for t in tracks] == [(0.0, 600.0), (800.0, 1400.0)]
    assert len({t.track_id for t in tracks}) == 2


def test_leaving_and_coming_back() -> None:
    """Back within max_gap_ms (even elsewhere): the same appearance; later: a new one."""
    alice = person()
    settings = TrackerSettings(max_gap_ms=1000.0)
    short_gap = [(0.0, [face(alice, (10, 10, 60, 60))]), (200.0, [face(alice, (12, 10, 60, 60))])]
    short_gap += [(t, []) for t in (400.0, 600.0, 800.0)]
    short_gap += [
        (1000.0, [face(alice, (400, 200, 60, 60))]),
        (1200.0, [face(alice, (405, 200, 60, 60))]),
    ]
    assert [t.hits for t in run(FaceTracker(settings), short_gap)] == [4]

    tracker = FaceTracker(settings)
    first = [(0.0, [face(alice, (10, 10, 60, 60))]), (200.0, [face(alice, (12, 10, 60, 60))])]
    assert run_without_finish(tracker, first) == []
    assert tracker.update(1100.0, []) == []  # 900 ms unseen: not over yet
    ended = tracker.update(1300.0, [face(alice, (12, 10, 60, 60))])  # 1100 ms: over
    assert [(t.track_id, t.hits, t.last_ms) for t in ended] == [(1, 2, 200.0)]
    tracker.update(1500.0, [face(alice, (12, 10, 60, 60))])
    assert [(t.track_id, t.first_ms) for t in tracker.finish()] == [(2, 1300.0)]


def run_without_finish(
    tracker: FaceTracker, frames: list[tuple[float, list[Detection]]]
) -> list[Track]:
    ended: list[Track] = []
    for time_ms, detections in frames:
        ended.extend(tracker.update(time_ms, detections))
    return ended


def test_a_face_seen_once_is_no_track() -> None:
    """A one-frame false detection (or a face passing in one sampled frame) ends silently."""
    alice, ghost = person(), person()
    frames = [(i * 200.0, [face(alice, (100, 100, 60, 60))]) for i in range(5)]
    frames[2][1].append(face(ghost, (400, 300, 40, 40), score=0.6))
    frames.append((5000.0, []))
    tracks = run(FaceTracker(), frames)
    assert [t.hits for t in tracks] == [5]
    assert [t.hits for t in run(FaceTracker(TrackerSettings(min_hits=1)), [frames[2]])] == [1, 1]


def test_best_frames_rank_by_score_times_quality() -> None:
    alice = person()
    qualities = [0.2, 0.9, 0.5, 0.95, 0.1, 0.7]
    frames = [
        (i * 100.0, [face(alice, (100, 100, 60, 60), quality=q)]) for i, q in enumerate(qualities)
    ]
    (track,) = run(FaceTracker(TrackerSettings(best_frames=3)), frames)
    assert [b.time_ms for b in track.best] == [300.0, 100.0, 500.0]
    assert track.best_frame.detection.quality == 0.95
    mean = np.mean([b.detection.embedding for b in track.best], axis=0)
    np.testing.assert_allclose(track.template(), mean / np.linalg.norm(mean), rtol=1e-5)
    assert float(np.linalg.norm(track.template())) == pytest.approx(1.0, abs=1e-5)


def test_state_carries_tracks_across_batches() -> None:
    """Splitting the frames into batches (state through JSON) gives the same tracks."""
    alice, bob = person(), person()
    frames = []
    for i in range(20):
        detections = [face(alice, (100 + 5 * i, 100, 70, 70))]
        if 5 <= i < 15:
            detections.append(face(bob, (400, 120 + 3 * i, 60, 60)))
        frames.append((i * 250.0, detections))
    whole = run(FaceTracker(), frames)

    tracker = FaceTracker()
    ended: list[Track] = []
    for start in range(0, 20, 6):
        for time_ms, detections in frames[start : start + 6]:
            ended.extend(tracker.update(time_ms, detections))
        tracker = FaceTracker.restore(json.loads(json.dumps(tracker.state())))
    batched = ended + tracker.finish()
    assert sorted(summary(t) for t in batched) == sorted(summary(t) for t in whole)
    assert len(whole) == 2
    for a, b in zip(
        sorted(batched, key=lambda t: t.track_id),
        sorted(whole, key=lambda t: t.track_id),
        strict=True,
    ):
        np.testing.assert_allclose(a.template(), b.template(), atol=1e-6)


def summary(track: Track) -> tuple[int, float, float, int, float]:
    return (track.track_id, track.first_ms, track.last_ms, track.hits, track.best_frame.time_ms)


def test_restore_refuses_other_states() -> None:
    with pytest.raises(ValueError, match="unknown tracker state version"):
        FaceTracker.restore({"version": 99})


def test_time_must_not_go_back() -> None:
    tracker = FaceTracker()
    tracker.update(500.0, [])
    with pytest.raises(ValueError, match="before the previous"):
        tracker.update(400.0, [])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_iou": 1.5}, "min_iou"),
        ({"min_similarity": 0.6, "reid_similarity": 0.5}, "min_similarity <= reid_similarity"),
        ({"max_gap_ms": 0}, "max_gap_ms"),
        ({"min_hits": 0}, "min_hits"),
        ({"embedding_momentum": 1.0}, "embedding_momentum"),
    ],
)
def test_settings_are_checked(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrackerSettings(**options)  # type: ignore[arg-type]


def test_live_tracks_are_capped_without_losing_confirmed_ones() -> None:
    """Many different faces in frames whose times barely advance never go stale: past the cap
    the tracks unseen longest end early (a confirmed one is answered, not dropped)."""
    tracker = FaceTracker(TrackerSettings(max_live_tracks=3))
    early = person()
    confirmed = tracker.update(0.0, [face(early, (0, 0, 40, 40))])
    confirmed += tracker.update(1.0, [face(early, (0, 0, 40, 40))])  # two hits: confirmed
    assert confirmed == [] and len(tracker.live) == 1
    ended: list[Track] = []
    for step in range(2, 6):  # a new stranger each millisecond, far apart
        ended += tracker.update(float(step), [face(person(), (100 * step, 0, 40, 40))])
        assert len(tracker.live) <= 3
    assert [t.hits for t in ended] == [2]  # the confirmed track, ended early by the cap
    assert ended[0].first_ms == 0.0
    with pytest.raises(ValueError, match="max_live_tracks"):
        TrackerSettings(max_live_tracks=0)
