"""Head pose: the solver on exact projections, and real photos turned by known amounts.

A real photo rotated in the image plane by a known angle must change roll by that angle and
leave yaw and pitch alone; its mirror image must negate yaw and roll. Both with the 468-point
mesh and with the five landmarks.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from services.attributes.pose import (
    MODEL_FIVE,
    MODEL_MESH,
    HeadPose,
    camera_matrix,
    estimate_pose,
    rotation_from_angles,
    solve_pose,
)
from services.detection.model import FaceMesh, YuNetDetector
from services.shared.model_store import ModelStore
from services.shared.runtime import LiteModel
from tests.helpers import images


@pytest.mark.parametrize("model", [MODEL_MESH, MODEL_FIVE], ids=["mesh", "five"])
@pytest.mark.parametrize("angles", [(0, 0, 0), (25, 0, 0), (0, -15, 0), (0, 0, 30), (-35, 12, -10)])
def test_solver_recovers_projected_angles(model: NDArray[np.float64], angles: tuple[float, float, float]) -> None:
    rotation = rotation_from_angles(*angles)
    rvec, _ = cv2.Rodrigues(rotation)
    projected, _ = cv2.projectPoints(
        model.reshape(-1, 1, 3), rvec, np.array([[30.0], [-20.0], [2400.0]]), camera_matrix(640, 480), None
    )
    assert np.allclose(solve_pose(model, projected.reshape(-1, 2), 640, 480), angles, atol=0.5)


def test_signs_match_the_image() -> None:
    # Yaw right: the nose moves right of the eyes' midpoint; pitch down: the nose moves down.
    for yaw, pitch, axis, sign in ((20, 0, 0, 1), (0, 20, 1, 1)):
        rvec, _ = cv2.Rodrigues(rotation_from_angles(yaw, pitch, 0))
        points, _ = cv2.projectPoints(
            MODEL_FIVE.reshape(-1, 1, 3), rvec, np.array([[0.0], [0.0], [2400.0]]), camera_matrix(640, 480), None
        )
        points = points.reshape(-1, 2)
        frontal = np.array([0.0, 0.0])
        offset = points[2] - (points[0] + points[1]) / 2 - frontal
        assert np.sign(offset[axis]) == sign


@pytest.fixture(scope="module")
def models(model_store: ModelStore) -> tuple[YuNetDetector, FaceMesh]:
    detector = YuNetDetector(LiteModel(model_store.open("yunet").path), 0.6, 0.3)
    return detector, FaceMesh(LiteModel(model_store.open("facemesh").path))


def pose_of(image: NDArray[np.uint8], models: tuple[YuNetDetector, FaceMesh], mesh: bool) -> HeadPose:
    detector, facemesh = models
    faces = detector.detect(image)
    assert len(faces) == 1
    points = facemesh.landmarks(image, faces[0]) if mesh else None
    return estimate_pose(faces[0].landmarks, points, image.shape[1], image.shape[0])


def rotated(image: NDArray[np.uint8], clockwise_degrees: float) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 3), -clockwise_degrees, 1.0)
    return np.asarray(cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8)


@pytest.mark.parametrize("mesh", [True, False], ids=["mesh", "five"])
@pytest.mark.parametrize("turn", [-25.0, 15.0, 30.0])
def test_known_in_plane_turns_change_roll_only(models, mesh: bool, turn: float) -> None:  # type: ignore[no-untyped-def]
    photo = images.astronaut()
    before = pose_of(photo, models, mesh)
    after = pose_of(rotated(photo, turn), models, mesh)
    assert after.roll - before.roll == pytest.approx(turn, abs=3.0)
    assert after.yaw == pytest.approx(before.yaw, abs=5.0)
    assert after.pitch == pytest.approx(before.pitch, abs=5.0)


@pytest.mark.parametrize("mesh", [True, False], ids=["mesh", "five"])
def test_mirror_negates_yaw_and_roll(models, mesh: bool) -> None:  # type: ignore[no-untyped-def]
    photo = images.astronaut()
    pose = pose_of(photo, models, mesh)
    mirrored = pose_of(np.ascontiguousarray(photo[:, ::-1]), models, mesh)
    assert abs(pose.yaw) > 3.0  # she is turned a little: the test has something to negate
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=3.0)
    assert mirrored.roll == pytest.approx(-pose.roll, abs=2.0)
    assert mirrored.pitch == pytest.approx(pose.pitch, abs=3.0)
