"""Face geometry on the 468-point MediaPipe FaceMesh: the landmark indices, and eye and mouth
openness, for the attributes service's quality (``quality.py``) and liveness's actions alike.

- Eye aspect ratio (EAR, Soukupova & Cech 2016) per eye, from its six contour points (corners
  p1, p4; upper lid p2, p3; lower lid p6, p5): ``(|p2-p6| + |p3-p5|) / (2 |p1-p4|)``, averaged
  over both eyes: about 0.25-0.35 open, below about 0.15 closed.
- Mouth aspect ratio (MAR): the inner-lip gap over the mouth width (about 0 closed, 0.5+ wide
  open).

Both are measured in the image plane (x, y of the mesh points).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# MediaPipe FaceMesh indices. "Right"/"left" are the subject's.
RIGHT_EYE = (33, 160, 158, 133, 153, 144)  # outer corner, upper lid x2, inner corner, lower x2
LEFT_EYE = (263, 387, 385, 362, 380, 373)
MOUTH_UPPER_INNER, MOUTH_LOWER_INNER = 13, 14
MOUTH_RIGHT_CORNER, MOUTH_LEFT_CORNER = 61, 291
CHEEK_RIGHT, CHEEK_LEFT = 234, 454  # face outline at eye level (image left / image right)
FOREHEAD, CHIN = 10, 152
EYE_OUTER_RIGHT, EYE_OUTER_LEFT = RIGHT_EYE[0], LEFT_EYE[0]


def _distance(points: NDArray[np.float64], a: int, b: int) -> float:
    return float(np.linalg.norm(points[a, :2] - points[b, :2]))


def one_eye_aspect_ratio(mesh: NDArray[np.float64], eye: tuple[int, ...]) -> float:
    """The EAR of one eye's six contour points (0 for a degenerate eye)."""
    points = np.asarray(mesh, dtype=np.float64)
    p1, p2, p3, p4, p5, p6 = eye
    width = _distance(points, p1, p4)
    if width <= 1e-6:
        return 0.0
    return (_distance(points, p2, p6) + _distance(points, p3, p5)) / (2.0 * width)


def eye_aspect_ratio(mesh: NDArray[np.float64]) -> float:
    """The mean EAR of both eyes."""
    return (one_eye_aspect_ratio(mesh, RIGHT_EYE) + one_eye_aspect_ratio(mesh, LEFT_EYE)) / 2.0


def mouth_aspect_ratio(mesh: NDArray[np.float64]) -> float:
    """Inner-lip gap over the mouth width (0 for a degenerate mouth)."""
    points = np.asarray(mesh, dtype=np.float64)
    width = _distance(points, MOUTH_RIGHT_CORNER, MOUTH_LEFT_CORNER)
    if width <= 1e-6:
        return 0.0
    return _distance(points, MOUTH_UPPER_INNER, MOUTH_LOWER_INNER) / width
