"""Both face-order rules, and training's face choice following the service's centre rule."""

from __future__ import annotations

import numpy as np

from services.shared.model_zoo.face_order import largest_first, nearest_centre_first
from services.shared.model_zoo.yunet import DetectedFace
from training.data.align import central_face


def face(x: float, y: float, side: float) -> DetectedFace:
    return DetectedFace(np.array([x, y, side, side]), 0.9, np.zeros((5, 2)))


def test_largest_first_sorts_by_area() -> None:
    small, big, middle = face(0, 0, 10), face(50, 50, 40), face(100, 0, 20)
    assert largest_first([small, big, middle]) == [big, middle, small]


def test_nearest_centre_first_uses_box_centres() -> None:
    # 200x100 image, centre (100, 50): a small face on it beats a big one off it
    off_centre = face(0, 0, 60)  # centre (30, 30)
    on_centre = face(95, 45, 10)  # centre (100, 50)
    near = face(110, 40, 20)  # centre (120, 50)
    assert nearest_centre_first([off_centre, near, on_centre], 200, 100) == [
        on_centre,
        near,
        off_centre,
    ]


def test_training_align_keeps_the_face_the_service_puts_first() -> None:
    faces = [face(0, 0, 60), face(110, 40, 20), face(95, 45, 10)]
    assert central_face(faces, 200, 100) is nearest_centre_first(faces, 200, 100)[0]
    assert central_face([], 200, 100) is None
