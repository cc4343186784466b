"""Per-frame face signals from the 468-point MediaPipe mesh: eye and mouth openness, head pose.

- Eye and mouth aspect ratios: ``services/shared/face_geometry.py`` (the attributes service's
  quality uses the same).
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

from services.shared.face_geometry import (
    CHEEK_LEFT,
    CHEEK_RIGHT,
    CHIN,
    EYE_OUTER_LEFT,
    EYE_OUTER_RIGHT,
    FOREHEAD,
    eye_aspect_ratio,
    mouth_aspect_ratio,
)


@dataclass(frozen=True)
class FaceSignals:
    """What the action checks look at in one frame."""

    ear: float
    mar: float
    yaw: float
    pitch: float


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
    yaw, pitch = head_pose(points)
    return FaceSignals(
        ear=eye_aspect_ratio(points), mar=mouth_aspect_ratio(points), yaw=yaw, pitch=pitch
    )
