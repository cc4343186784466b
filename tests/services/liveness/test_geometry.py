"""The per-frame signals on real photos: what the action thresholds are compared against.

Real head poses and real expressions from ../shared/data (LFW dev-test, FER-2013 sample); the
values are measured by the mesh, not set by the test. The closed-eye case is a face with eyes
squeezed shut (a crying face in FER-2013, upscaled from 48x48): the only real closed-eye photo
in the sample data, so it checks the absolute EAR bound, not a blink.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from services.liveness.actions import ActionThresholds
from services.liveness.geometry import FaceSignals
from tests.services.liveness.helpers import LFW, LivenessUnderTest, photo

LIMITS = ActionThresholds()


def signals(liveness: LivenessUnderTest, image: np.ndarray) -> FaceSignals:
    tracked = liveness.servicer.tracker.track([image], [0.0])[0]
    assert tracked.signals is not None, "a face is found"
    return tracked.signals


def lfw(shared_data: Path, name: str) -> np.ndarray:
    return photo(shared_data / LFW / name.rsplit("_", 1)[0] / f"{name}.jpg")


def test_real_head_turns(liveness: LivenessUnderTest, shared_data: Path) -> None:
    frontal = signals(liveness, lfw(shared_data, "Bill_Frist_0001"))
    left = signals(liveness, lfw(shared_data, "Bill_Frist_0008"))  # nose towards image right
    right = signals(liveness, lfw(shared_data, "Bill_Frist_0002"))
    assert abs(frontal.yaw) <= LIMITS.yaw_neutral_max
    assert left.yaw >= LIMITS.yaw_turned_min
    assert right.yaw <= -LIMITS.yaw_turned_min
    mirrored = signals(liveness, np.ascontiguousarray(lfw(shared_data, "Bill_Frist_0008")[:, ::-1]))
    assert mirrored.yaw == pytest.approx(-left.yaw, abs=6.0)


def test_real_head_tilt_and_open_mouth(liveness: LivenessUnderTest, shared_data: Path) -> None:
    level = signals(liveness, lfw(shared_data, "Leonid_Kuchma_0001"))
    down = signals(liveness, lfw(shared_data, "Leonid_Kuchma_0006"))
    assert down.pitch - level.pitch >= LIMITS.pitch_nod_min
    closed = signals(liveness, lfw(shared_data, "Begum_Khaleda_Zia_0001"))
    opened = signals(liveness, lfw(shared_data, "Begum_Khaleda_Zia_0002"))
    assert closed.mar <= LIMITS.mouth_closed_max < LIMITS.mouth_open_min <= opened.mar


def test_eyes_shut_versus_open(liveness: LivenessUnderTest, shared_data: Path) -> None:
    shut = photo(shared_data / "attributes-sample/fer/PrivateTest_66567368.jpg")
    canvas = np.full((400, 400, 3), 128, np.uint8)
    canvas[80:320, 80:320] = cv2.resize(shut, (240, 240), interpolation=cv2.INTER_CUBIC)
    assert signals(liveness, canvas).ear <= LIMITS.eye_closed_max
    for name in ("Bill_Frist_0001", "Leonid_Kuchma_0001", "Begum_Khaleda_Zia_0001"):
        assert signals(liveness, lfw(shared_data, name)).ear > LIMITS.eye_closed_max + 0.03
