"""Face image quality for enrollment: sharpness, brightness, size and head pose.

``assess_quality`` measures one detected face from its 112x112 aligned crop (the same crop the
embedding model sees), its box and its five landmarks; ``quality_failures`` compares a report
with the limits of a quality level (LOW, NORMAL, HIGH; NONE checks nothing) and names every
reason it fails: FACE_TOO_SMALL, BLURRED, TOO_DARK, TOO_BRIGHT, POSE_TOO_TURNED.

Measures
- blur: variance of the Laplacian of the grey crop's central face region, contrast-normalised
  (higher = sharper).
  The crop is scale-normalised, so a small face upsampled to 112 px reads as blurred too.
- brightness: mean grey level (0-255) of the same central region.
- face_size: the shorter side of the detector's box, in original pixels.
- yaw, pitch, roll (degrees) from the five landmarks by the one head-pose estimator
  (``head_pose.py``; its signs: yaw > 0 when the face turns to the image right, pitch > 0 when
  the chin is down, roll > 0 when the image-right eye is lower). Five points give yaw and roll
  well and pitch coarsely (docs/attributes.md), enough to reject turned faces.
- score: one number in [0, 1], the geometric mean of a sharpness, a lighting, a size and a pose
  sub-score, each in [0, 1]; for ranking and display, not for the pass/fail decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import ALIGNED_SIZE
from services.shared.face_geometry import eye_aspect_ratio, mouth_aspect_ratio
from services.shared.head_pose import estimate_pose

# The face region of the aligned 112x112 crop (eyebrows to chin, cheek to cheek).
FACE_REGION = (slice(24, 104), slice(20, 92))

# The blur measure is taken on the crop normalised to this grey standard deviation, so a dark
# or low-contrast face is reported as dark, not as blurred; flatter crops are not amplified.
BLUR_CONTRAST_STD = 50.0
MIN_CONTRAST_STD = 8.0


class QualityLevel(StrEnum):
    """How strict enrollment is (the API's ``quality_control``)."""

    NONE = "NONE"
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"


@dataclass(frozen=True)
class QualityReport:
    """What was measured on one face."""

    blur: float
    brightness: float
    face_size: float
    yaw: float
    pitch: float
    roll: float
    score: float


@dataclass(frozen=True)
class QualityLimits:
    """The bounds one quality level accepts."""

    min_face_size: float
    min_blur: float
    min_brightness: float
    max_brightness: float
    max_yaw: float
    max_pitch: float
    max_roll: float


# Calibrated on 165 real photos (150 LFW 250x250 + 15 people photos, docs/embedding.md):
# originals read blur p1 65 / median 245, brightness p1 85 / p99 171, box side p1 77, |yaw| p99
# ~38, |pitch| p99 ~13; a Gaussian blur of sigma 2 brings the median blur to 40, sigma 3 to 23.
LIMITS: dict[QualityLevel, QualityLimits] = {
    QualityLevel.LOW: QualityLimits(24, 20.0, 30.0, 240.0, 60.0, 45.0, 45.0),
    QualityLevel.NORMAL: QualityLimits(40, 45.0, 50.0, 225.0, 40.0, 30.0, 30.0),
    QualityLevel.HIGH: QualityLimits(64, 65.0, 70.0, 200.0, 25.0, 20.0, 20.0),
}


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _score(blur: float, brightness: float, face_size: float, yaw: float, pitch: float) -> float:
    sharp = _clip01(math.log1p(blur) / math.log1p(300.0))
    light = _clip01(1.0 - abs(brightness - 128.0) / 128.0)
    size = _clip01(face_size / 112.0)
    pose = _clip01(
        math.cos(math.radians(min(abs(yaw), 90.0))) * math.cos(math.radians(min(abs(pitch), 90.0)))
    )
    parts = (sharp, light, size, pose)
    if min(parts) <= 0.0:
        return 0.0
    return float(math.prod(parts) ** (1.0 / len(parts)))


def assess_quality(
    crop_rgb: NDArray[np.uint8], box_wh: tuple[float, float], landmarks5: NDArray[np.float64]
) -> QualityReport:
    """Measure one face: its aligned RGB crop (112x112), box (width, height), 5 landmarks."""
    crop = np.asarray(crop_rgb, dtype=np.uint8)
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1]:
        raise ValueError(f"expected a square RGB crop, got shape {crop.shape}")
    if crop.shape[0] != ALIGNED_SIZE:
        crop = np.asarray(
            cv2.resize(crop, (ALIGNED_SIZE, ALIGNED_SIZE), interpolation=cv2.INTER_LINEAR),
            dtype=np.uint8,
        )
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[FACE_REGION].astype(np.float64)
    brightness = float(grey.mean())
    contrast = max(float(grey.std()), MIN_CONTRAST_STD)
    normalised = (grey - brightness) * (BLUR_CONTRAST_STD / contrast)
    blur = float(cv2.Laplacian(normalised, cv2.CV_64F).var())
    face_size = float(min(box_wh))
    pose = estimate_pose(landmarks5)
    yaw, pitch, roll = pose.yaw, pose.pitch, pose.roll
    return QualityReport(
        blur=blur,
        brightness=brightness,
        face_size=face_size,
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        score=_score(blur, brightness, face_size, yaw, pitch),
    )


def quality_failures(report: QualityReport, level: QualityLevel | str) -> list[str]:
    """Every reason the face fails the level (empty when it passes; NONE always passes)."""
    level = QualityLevel(level)
    if level is QualityLevel.NONE:
        return []
    limits = LIMITS[level]
    reasons = []
    if report.face_size < limits.min_face_size:
        reasons.append("FACE_TOO_SMALL")
    if report.blur < limits.min_blur:
        reasons.append("BLURRED")
    if report.brightness < limits.min_brightness:
        reasons.append("TOO_DARK")
    if report.brightness > limits.max_brightness:
        reasons.append("TOO_BRIGHT")
    if (
        abs(report.yaw) > limits.max_yaw
        or abs(report.pitch) > limits.max_pitch
        or abs(report.roll) > limits.max_roll
    ):
        reasons.append("POSE_TOO_TURNED")
    return reasons


# --- Eyes open / mouth open from the 468-point FaceMesh (attributes service) ----------------
# The ratios themselves: services/shared/face_geometry.py (liveness uses the same ones).
# EAR below CLOSED reads as shut (0), above OPEN as clearly open (1); linear in between. On 300
# LFW faces the mesh EAR has median 0.254 and 5th percentile 0.207 (a broad smile narrows it).
EAR_CLOSED = 0.10
EAR_OPEN = 0.20
# Inner-lip gap over mouth width: below CLOSED reads 0 (closed), above OPEN reads 1 (LFW: median
# 0.079, 99th percentile 0.376).
MOUTH_CLOSED = 0.05
MOUTH_OPEN = 0.35


def eyes_open_score(mesh: NDArray[np.float64]) -> float:
    """Eyes open in [0, 1] (1 = clearly open)."""
    return _clip01((eye_aspect_ratio(mesh) - EAR_CLOSED) / (EAR_OPEN - EAR_CLOSED))


def mouth_open_score(mesh: NDArray[np.float64]) -> float:
    """Mouth open in [0, 1] (1 = wide open)."""
    return _clip01((mouth_aspect_ratio(mesh) - MOUTH_CLOSED) / (MOUTH_OPEN - MOUTH_CLOSED))


def score_with_eyes(score: float, eyes_open: float) -> float:
    """Fold eyes_open into a four-part quality score as a fifth geometric-mean part."""
    if score <= 0.0 or eyes_open <= 0.0:
        return 0.0
    return float((score**4 * eyes_open) ** (1.0 / 5.0))
