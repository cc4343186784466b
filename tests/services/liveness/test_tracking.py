"""Which faces a verification follows and counts, on made-up detections (no models).

The detector, mesh and embedder are stand-ins: each frame's detections are given, and a face's
"identity" is the grey level its box is painted with, which the stand-in embedder reads from
the aligned crop. test_verify.py runs the same chain with the real models on real photos.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pytest
from numpy.typing import NDArray

from services.liveness import tracking
from services.liveness.geometry import FaceSignals
from services.liveness.passive import PassiveLiveness, PassiveResult
from services.liveness.tracking import FaceTracker, TrackedFrame
from services.liveness.verdict import VerdictRules, decide
from services.shared.model_zoo import DetectedFace, Embedder, FaceMesh, YuNetDetector

NEUTRAL = FaceSignals(ear=0.28, mar=0.05, yaw=0.0, pitch=5.0)
RULES = VerdictRules(
    passive_threshold=0.5, same_person_similarity=0.363, min_face_fraction=0.5, best_frames=3
)
USER, OTHER = 60, 200  # grey levels: who a painted box is


def detected(x: float, y: float, w: float, h: float) -> DetectedFace:
    """A face box with its five landmarks where a frontal face has them."""
    points = [(0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8)]
    landmarks = np.array([(x + u * w, y + v * h) for u, v in points], dtype=np.float64)
    return DetectedFace(
        box=np.array([x, y, w, h], dtype=np.float64), score=0.9, landmarks=landmarks
    )


class Detections:
    """Hands out the given detections, one frame per call."""

    def __init__(self, frames: list[list[DetectedFace]]) -> None:
        self.frames = iter(frames)

    def detect(self, image: NDArray[np.uint8]) -> list[DetectedFace]:
        return next(self.frames)


class FlatMesh:
    def landmarks(self, image: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.float64]:
        return np.zeros((468, 3))


class GreyLevelEmbedder:
    """One unit vector per person: the painted grey level of the aligned crop."""

    def embed(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        vector = np.zeros((1, 8), dtype=np.float32)
        vector[0, 0 if float(np.median(crops)) < 128 else 1] = 1.0
        return vector


class FixedPassive(PassiveLiveness):
    def __init__(self) -> None:
        self.models = []

    def check(self, image_rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> PassiveResult:
        return PassiveResult(score=0.9, probabilities=np.array([0.05, 0.9, 0.05]))


def frame(*faces: tuple[DetectedFace, int]) -> NDArray[np.uint8]:
    image = np.full((480, 640, 3), 128, dtype=np.uint8)
    for face, grey in faces:
        x, y, w, h = (int(v) for v in face.box)
        image[y : y + h, x : x + w] = grey
    return image


@pytest.fixture(autouse=True)
def _steady_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flat stand-in mesh has no pose; every tracked face reads as a neutral face."""
    monkeypatch.setattr(tracking, "face_signals", lambda *_: NEUTRAL)


def track(frames: list[list[tuple[DetectedFace, int]]]) -> list[TrackedFrame]:
    tracker = FaceTracker(
        cast(YuNetDetector, Detections([[f for f, _ in faces] for faces in frames])),
        cast(FaceMesh, FlatMesh()),
        cast(Embedder, GreyLevelEmbedder()),
        second_face_area_ratio=0.2,
    )
    images = [frame(*faces) for faces in frames]
    return tracker.track(images, [200.0 * i for i in range(len(images))])


def test_a_much_bigger_newcomer_is_a_second_face_not_a_new_user() -> None:
    """The newcomer's face is 9x the user's: under 20% of *its* area the user would be dropped
    as background and the track would jump to the newcomer (FACE_CHANGED)."""
    user = detected(60, 150, 80, 100)  # 8,000 px
    newcomer = detected(300, 50, 240, 300)  # 72,000 px
    tracked = track([[(user, USER)], [(user, USER)], [(user, USER), (newcomer, OTHER)]])
    assert [f.faces for f in tracked] == [1, 1, 2]
    assert all(f.face is not None and np.array_equal(f.face.box, user.box) for f in tracked)
    images = [np.zeros((480, 640, 3), dtype=np.uint8)] * len(tracked)
    verdict = decide([], tracked, images, FixedPassive(), RULES)
    assert verdict.reasons == ["MULTIPLE_FACES: frames 2"]
    assert verdict.frames_with_face == 3


def test_small_background_faces_are_ignored() -> None:
    user = detected(200, 100, 200, 250)  # 50,000 px
    passer_by = detected(20, 20, 40, 50)  # 2,000 px: 4% of the user's face
    tracked = track([[(user, USER)], [(user, USER), (passer_by, OTHER)]])
    assert [f.faces for f in tracked] == [1, 1]


def test_the_first_frame_measures_against_the_largest_face() -> None:
    big = detected(200, 100, 200, 250)
    small = detected(20, 20, 40, 50)
    tracked = track([[(small, OTHER), (big, USER)]])
    assert tracked[0].faces == 1
    assert tracked[0].face is not None and np.array_equal(tracked[0].face.box, big.box)


def test_frames_with_two_faces_count_as_frames_with_a_face() -> None:
    """frames_with_face: frames showing at least one face, bystanders or not."""
    user, bystander = detected(60, 150, 150, 180), detected(380, 150, 150, 180)
    tracked = track([[(user, USER), (bystander, OTHER)]] * 4)
    assert [f.faces for f in tracked] == [2, 2, 2, 2]
    images = [np.zeros((480, 640, 3), dtype=np.uint8)] * len(tracked)
    verdict = decide([], tracked, images, FixedPassive(), RULES)
    assert verdict.reasons == ["MULTIPLE_FACES: frames 0, 1, 2, 3"]
    assert verdict.frames_with_face == 4
