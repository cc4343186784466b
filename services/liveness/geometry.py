"""Per-frame face signals from the 468-point MediaPipe mesh: eye and mouth openness, head pose.

- Eye and mouth aspect ratios: ``services/shared/face_geometry.py`` (the attributes service's
  quality uses the same).
- Yaw and pitch in degrees: the one head-pose estimator (``services/shared/head_pose.py``)
  on the mesh (yaw > 0 = the face turns to the image right, pitch > 0 = head tilted down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.shared.face_geometry import eye_aspect_ratio, mouth_aspect_ratio
from services.shared.head_pose import estimate_pose


@dataclass(frozen=True)
class FaceSignals:
    """What the action checks look at in one frame."""

    ear: float
    mar: float
    yaw: float
    pitch: float


def face_signals(
    mesh: NDArray[np.float64], landmarks5: NDArray[np.float64], size: tuple[int, int]
) -> FaceSignals:
    """All signals of one face: its (468, 3) mesh and five landmarks in an image of ``size``."""
    points = np.asarray(mesh, dtype=np.float64)
    pose = estimate_pose(landmarks5, points, size)
    return FaceSignals(
        ear=eye_aspect_ratio(points), mar=mouth_aspect_ratio(points), yaw=pose.yaw, pitch=pose.pitch
    )
