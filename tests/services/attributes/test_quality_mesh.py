"""Eyes-open / mouth-open from the FaceMesh (services/shared/face_geometry.py's ratios, scored by
services/shared/quality.py for attributes): a real open-eyed face, the same mesh with the lids
closed and the mouth opened."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from services.shared import face_geometry, quality
from services.shared.model_store import ModelStore
from services.shared.model_zoo.facemesh import FaceMesh
from services.shared.model_zoo.yunet import YuNetDetector
from tests.helpers import images


@pytest.fixture(scope="module")
def mesh(model_store: ModelStore) -> NDArray[np.float64]:
    detector = YuNetDetector.from_store(model_store, "yunet")
    photo = images.astronaut()
    face = detector.detect(photo)[0]
    return FaceMesh.from_store(model_store, "facemesh").landmarks(photo, face)


def close_eyes(mesh: NDArray[np.float64]) -> NDArray[np.float64]:
    shut = mesh.copy()
    for _p1, p2, p3, _p4, p5, p6 in (face_geometry.RIGHT_EYE, face_geometry.LEFT_EYE):
        for upper, lower in ((p2, p6), (p3, p5)):
            middle = (shut[upper] + shut[lower]) / 2
            shut[upper], shut[lower] = middle, middle
    return shut


def test_real_open_eyes(mesh: NDArray[np.float64]) -> None:
    assert 0.2 < face_geometry.eye_aspect_ratio(mesh) < 0.45
    assert quality.eyes_open_score(mesh) == 1.0


def test_closed_lids_read_closed(mesh: NDArray[np.float64]) -> None:
    shut = close_eyes(mesh)
    assert face_geometry.eye_aspect_ratio(shut) == pytest.approx(0.0, abs=1e-9)
    assert quality.eyes_open_score(shut) == 0.0
    assert quality.score_with_eyes(0.8, quality.eyes_open_score(shut)) == 0.0


def test_mouth_opening(mesh: NDArray[np.float64]) -> None:
    upper, lower = face_geometry.MOUTH_UPPER_INNER, face_geometry.MOUTH_LOWER_INNER
    left, right = face_geometry.MOUTH_LEFT_CORNER, face_geometry.MOUTH_RIGHT_CORNER
    width = float(np.linalg.norm(mesh[left, :2] - mesh[right, :2]))
    closed = mesh.copy()
    closed[lower] = closed[upper]
    assert quality.mouth_open_score(closed) == 0.0
    wide = mesh.copy()
    wide[lower, 1] = wide[upper, 1] + 0.6 * width
    assert face_geometry.mouth_aspect_ratio(wide) == pytest.approx(0.6, abs=0.05)
    assert quality.mouth_open_score(wide) == 1.0


def test_eyes_fold_into_the_score() -> None:
    assert quality.score_with_eyes(0.8, 1.0) == pytest.approx(0.8**0.8)
    assert quality.score_with_eyes(0.8, 0.5) < quality.score_with_eyes(0.8, 1.0)
