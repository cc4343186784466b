"""Enrollment quality on real photos altered honestly (blur, darken, brighten, downscale).

Each test alters a real photo in one way and checks that exactly the matching reason appears,
so a measure that reacts to the wrong thing (say, blur flagged on a dark photo) fails here.
Landmarks and boxes come from the real YuNet detector, as in the service.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from services.shared.alignment import TEMPLATE_112, align_face
from services.shared.head_pose import estimate_pose
from services.shared.model_store import ModelStore
from services.shared.model_zoo.yunet import YuNetDetector
from services.shared.quality import (
    QualityLevel,
    QualityReport,
    assess_quality,
    quality_failures,
)
from tests.helpers import images

TURNED_FACE = "lfw-devtest/images/Michael_Linscott/Michael_Linscott_0001.jpg"  # ~50 deg yaw


@pytest.fixture(scope="module")
def detector(model_store: ModelStore) -> YuNetDetector:
    return YuNetDetector.from_store(model_store, "yunet")


def measure(detector: YuNetDetector, photo: NDArray[np.generic]) -> QualityReport:
    image: NDArray[np.uint8] = np.asarray(photo, dtype=np.uint8)
    faces = detector.detect(image)
    assert faces, "the detector should still find the face"
    face = max(faces, key=lambda f: f.area)
    crop = align_face(image, face.landmarks)
    return assess_quality(crop, (float(face.box[2]), float(face.box[3])), face.landmarks)


def test_clean_photo_passes_every_level(detector: YuNetDetector) -> None:
    report = measure(detector, images.astronaut())
    for level in QualityLevel:
        assert quality_failures(report, level) == [], (level, report)
    assert 0.8 < report.score <= 1.0
    assert abs(report.yaw) < 15 and abs(report.pitch) < 15 and abs(report.roll) < 10


def test_gaussian_blur_is_blurred_and_nothing_else(detector: YuNetDetector) -> None:
    sharp = measure(detector, images.astronaut())
    blurred_photo = np.asarray(cv2.GaussianBlur(images.astronaut(), (0, 0), 3), dtype=np.uint8)
    blurred = measure(detector, blurred_photo)
    assert blurred.blur < sharp.blur / 10
    assert quality_failures(blurred, "NORMAL") == ["BLURRED"]
    assert blurred.score < sharp.score


def test_darkened_is_too_dark_not_blurred(detector: YuNetDetector) -> None:
    # Contrast normalisation: a dark but sharp photo must not read as blurred.
    dark = np.asarray(images.astronaut() * 0.2, dtype=np.uint8)
    report = measure(detector, dark)
    assert quality_failures(report, "NORMAL") == ["TOO_DARK"]
    assert quality_failures(report, "HIGH") == ["TOO_DARK"]


def test_brightened_is_too_bright(detector: YuNetDetector) -> None:
    bright = np.asarray(np.clip(images.astronaut() * 1.3 + 60, 0, 255), dtype=np.uint8)
    report = measure(detector, bright)
    assert quality_failures(report, "NORMAL") == ["TOO_BRIGHT"]


def test_downscaled_is_too_small_by_level(detector: YuNetDetector) -> None:
    small = cv2.resize(images.astronaut(), (160, 160), interpolation=cv2.INTER_AREA)
    report = measure(detector, small)
    assert 24 <= report.face_size < 40
    assert quality_failures(report, "LOW") == []
    assert "FACE_TOO_SMALL" in quality_failures(report, "NORMAL")
    tiny_photo = cv2.resize(images.astronaut(), (120, 120), interpolation=cv2.INTER_AREA)
    tiny = measure(detector, tiny_photo)
    assert "FACE_TOO_SMALL" in quality_failures(tiny, "LOW")


def test_real_turned_face_is_pose_too_turned(detector: YuNetDetector, shared_data: Path) -> None:
    photo = cv2.imread(str(shared_data / TURNED_FACE))
    assert photo is not None
    rgb = np.ascontiguousarray(photo[:, :, ::-1])
    report = measure(detector, rgb)
    assert abs(report.yaw) > 40
    assert quality_failures(report, "NORMAL") == ["POSE_TOO_TURNED"]
    # The mirrored photo turns the other way: the sign of yaw flips, the magnitude stays.
    mirrored = measure(detector, np.ascontiguousarray(rgb[:, ::-1]))
    assert np.sign(mirrored.yaw) == -np.sign(report.yaw)
    assert abs(abs(mirrored.yaw) - abs(report.yaw)) < 10


@pytest.mark.parametrize("degrees", [-30.0, 0.0, 20.0])
def test_roll_of_rotated_template_landmarks(degrees: float) -> None:
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (TEMPLATE_112 - 56.0) @ rotation.T + 200.0
    pose, template = estimate_pose(points), estimate_pose(TEMPLATE_112)
    yaw, pitch, roll = pose.yaw, pose.pitch, pose.roll
    template_yaw, template_pitch, template_roll = template.yaw, template.pitch, template.roll
    assert abs(template_roll) < 0.5  # its eyes are 0.2 px off level
    assert roll == pytest.approx(degrees + template_roll, abs=0.01)
    # Rolling the face in the image plane changes neither yaw nor pitch.
    assert yaw == pytest.approx(template_yaw, abs=0.01)
    assert pitch == pytest.approx(template_pitch, abs=0.01)


def test_none_level_accepts_anything() -> None:
    awful = QualityReport(
        blur=0.0, brightness=0.0, face_size=1.0, yaw=90, pitch=90, roll=90, score=0.0
    )
    assert quality_failures(awful, QualityLevel.NONE) == []
    assert quality_failures(awful, "LOW") == [
        "FACE_TOO_SMALL",
        "BLURRED",
        "TOO_DARK",
        "POSE_TOO_TURNED",
    ]


def test_bad_crop_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match="square RGB crop"):
        assess_quality(np.zeros((112, 100, 3), dtype=np.uint8), (50.0, 50.0), TEMPLATE_112)
