"""Per-frame face signals from the 468-point MediaPipe mesh: eye and mouth openness, head pose.

- Eye aspect ratio (EAR, Soukupová & Čech 2016) on the mesh's eye contour points, averaged over
  both eyes: about 0.25-0.35 open, below about 0.15 closed.
- Mouth aspect ratio (MAR): inner-lip gap over mouth width.
- Yaw and pitch in degrees from the mesh's 3-D points after removing roll: yaw from the
  cheek-to-cheek vector in the x-z plane (positive = the subject turned to their own left,
  i.e. the nose moves to the image right in a non-mirrored image), pitch from the
  forehead-to-chin vector in the y-z plane (positive = head tilted down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# MediaPipe FaceMesh indices. "Right"/"left" are the subject's.
RIGHT_EYE = (33, 160, 158, 133, 153, 144)  # outer, upper x2, inner, lower x2
LEFT_EYE = (263, 387, 385, 362, 380, 373)
MOUTH_UPPER_INNER, MOUTH_LOWER_INNER = 13, 14
MOUTH_RIGHT_CORNER, MOUTH_LEFT_CORNER = 61, 291
CHEEK_RIGHT, CHEEK_LEFT = 234, 454  # face outline at eye level (image left / image right)
FOREHEAD, CHIN = 10, 152
EYE_OUTER_RIGHT, EYE_OUTER_LEFT = 33, 263


@dataclass(frozen=True)
class FaceSignals:
    """What the action checks look at in one frame."""

    ear: float
    mar: float
    yaw: float
    pitch: float


def _distance(points: NDArray[np.float64], a: int, b: int) -> float:
    return float(np.linalg.norm(points[a, :2] - points[b, :2]))


def eye_aspect_ratio(points: NDArray[np.float64], eye: tuple[int, ...]) -> float:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) for one eye's six contour points."""
    p1, p2, p3, p4, p5, p6 = eye
    width = _distance(points, p1, p4)
    if width <= 0:
        return 0.0
    return (_distance(points, p2, p6) + _distance(points, p3, p5)) / (2.0 * width)


def mouth_aspect_ratio(points: NDArray[np.float64]) -> float:
    """Inner-lip gap over the mouth width."""
    width = _distance(points, MOUTH_RIGHT_CORNER, MOUTH_LEFT_CORNER)
    if width <= 0:
        return 0.0
    return _distance(points, MOUTH_UPPER_INNER, MOUTH_LOWER_INNER) / width


def _unroll(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotate x, y about the face centre so the outer eye corners are level."""
    right, left = points[EYE_OUTER_RIGHT], points[EYE_OUTER_LEFT]
    roll = math.atan2(left[1] - right[1], left[0] - right[0])
    cos, sin = math.cos(-roll), math.sin(-roll)
    centre = points[:, :2].mean(axis=0)
    xy = points[:, :2] - centre
    rotated = np.empty_like(points)
    rotated[:, 0] = xy[:, 0] * cos - xy[:, 1] * sin
    rotated[:, 1] = xy[:, 0] * sin + xy[:, 1] * cos
    rotated[:, 2] = points[:, 2]
    return rotated


def head_pose(points: NDArray[np.float64]) -> tuple[float, float]:
    """(yaw, pitch) in degrees; see the module docstring for the signs."""
    p = _unroll(points)
    across = p[CHEEK_LEFT] - p[CHEEK_RIGHT]
    yaw = math.degrees(math.atan2(float(across[2]), float(across[0])))
    down = p[CHIN] - p[FOREHEAD]
    pitch = math.degrees(math.atan2(float(down[2]), float(down[1])))
    return yaw, pitch


def face_signals(mesh: NDArray[np.float64]) -> FaceSignals:
    """All signals of one (468, 3) mesh in image pixels."""
    points = np.asarray(mesh, dtype=np.float64)
    ear = (eye_aspect_ratio(points, RIGHT_EYE) + eye_aspect_ratio(points, LEFT_EYE)) / 2.0
    yaw, pitch = head_pose(points)
    return FaceSignals(ear=ear, mar=mouth_aspect_ratio(points), yaw=yaw, pitch=pitch)
