"""The order in which several detected faces are returned: one home for both rules.

The detection service sorts by either rule (``FaceOrder`` in the Detect request) and
``python -m training align`` keeps the first face by the centre rule, so training crops are
the face the service would have put first.
"""

from __future__ import annotations

import numpy as np

from services.shared.model_zoo.yunet import DetectedFace


def largest_first(faces: list[DetectedFace]) -> list[DetectedFace]:
    """Faces by box area, largest first (ties keep the detector's order)."""
    return sorted(faces, key=lambda face: face.area, reverse=True)


def nearest_centre_first(faces: list[DetectedFace], width: int, height: int) -> list[DetectedFace]:
    """Faces by the distance of the box centre to the image centre, nearest first."""
    centre = np.array([width / 2.0, height / 2.0])

    def distance(face: DetectedFace) -> float:
        x, y, w, h = face.box
        return float(np.hypot(*(np.array([x + w / 2.0, y + h / 2.0]) - centre)))

    return sorted(faces, key=distance)
