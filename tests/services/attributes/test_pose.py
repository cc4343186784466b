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

from services.shared.head_pose import (
    MODEL_FIVE,
    MODEL_MESH,
    HeadPose,
    camera_matrix,
    estimate_pose,
    line_of_sight,
    rotation_from_angles,
    solve_pose,
)
from services.shared.model_store import ModelStore
from services.shared.model_zoo.facemesh import FaceMesh
from services.shared.model_zoo.yunet import YuNetDetector
from tests.helpers import images


@pytest.mark.parametrize("model", [MODEL_MESH, MODEL_FIVE], ids=["mesh", "five"])
@pytest.mark.parametrize("angles", [(0, 0, 0), (25, 0, 0), (0, -15, 0), (0, 0, 30), (-35, 12, -10)])
def test_solver_recovers_projected_angles(
    model: NDArray[np.float64], angles: tuple[float, float, float]
) -> None:
    rotation = rotation_from_angles(*angles)
    rvec, _ = cv2.Rodrigues(rotation)
    projected, _ = cv2.projectPoints(
        model.reshape(-1, 1, 3),
        rvec,
        np.array([[0.0], [0.0], [2400.0]]),
        camera_matrix(640, 480),
        None,
    )
    assert np.allclose(
        solve_pose(model, np.asarray(projected, dtype=np.float64).reshape(-1, 2), 640, 480),
        angles,
        atol=0.5,
    )


def test_off_centre_face_looking_at_the_camera_reads_frontal() -> None:
    position = np.array([900.0, -500.0, 2400.0])
    facing_camera = line_of_sight(position).T @ rotation_from_angles(0, 0, 0)
    rvec, _ = cv2.Rodrigues(facing_camera)
    projected, _ = cv2.projectPoints(
        MODEL_MESH.reshape(-1, 1, 3), rvec, position.reshape(3, 1), camera_matrix(640, 480), None
    )
    assert np.allclose(
        solve_pose(MODEL_MESH, np.asarray(projected, dtype=np.float64).reshape(-1, 2), 640, 480),
        0.0,
        atol=0.5,
    )


def test_signs_match_the_image() -> None:
    # Yaw right: the nose moves right of the eyes' midpoint; pitch down: the nose moves down.
    for yaw, pitch, axis, sign in ((20, 0, 0, 1), (0, 20, 1, 1)):
        rvec, _ = cv2.Rodrigues(rotation_from_angles(yaw, pitch, 0))
        points, _ = cv2.projectPoints(
            MODEL_FIVE.reshape(-1, 1, 3),
            rvec,
            np.array([[0.0], [0.0], [2400.0]]),
            camera_matrix(640, 480),
            None,
        )
        points = points.reshape(-1, 2)
        frontal = np.array([0.0, 0.0])
        offset = points[2] - (points[0] + points[1]) / 2 - frontal
        assert np.sign(offset[axis]) == sign


@pytest.fixture(scope="module")
def models(model_store: ModelStore) -> tuple[YuNetDetector, FaceMesh]:
    detector = YuNetDetector.from_store(model_store, "yunet")
    return detector, FaceMesh.from_store(model_store, "facemesh")


def pose_of(
    image: NDArray[np.uint8], models: tuple[YuNetDetector, FaceMesh], mesh: bool
) -> HeadPose:
    detector, facemesh = models
    faces = detector.detect(image)
    assert len(faces) == 1
    points = facemesh.landmarks(image, faces[0]) if mesh else None
    return estimate_pose(faces[0].landmarks, points, (image.shape[1], image.shape[0]))


def rotated(image: NDArray[np.uint8], clockwise_degrees: float) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 3), -clockwise_degrees, 1.0)
    return np.asarray(
        cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT),
        dtype=np.uint8,
    )


@pytest.mark.parametrize("turn", [-25.0, 15.0, 30.0])
def test_known_in_plane_turns_change_mesh_roll_only(models, turn: float) -> None:  # type: ignore[no-untyped-def]
    photo = images.astronaut()
    before = pose_of(photo, models, mesh=True)
    after = pose_of(rotated(photo, turn), models, mesh=True)
    assert after.roll - before.roll == pytest.approx(turn, abs=3.0)
    assert after.yaw == pytest.approx(before.yaw, abs=5.0)
    assert after.pitch == pytest.approx(before.pitch, abs=5.0)


@pytest.mark.parametrize("turn", [-25.0, 15.0, 30.0])
def test_known_turns_of_real_five_points_change_roll_only(models, turn: float) -> None:  # type: ignore[no-untyped-def]
    # The photo's own YuNet points, moved exactly as the turn moves them.
    photo = images.astronaut()
    face = models[0].detect(photo)[0]
    matrix = cv2.getRotationMatrix2D((256.0, 170.0), -turn, 1.0)
    turned = face.landmarks @ matrix[:, :2].T + matrix[:, 2]
    before = estimate_pose(face.landmarks, None, (512, 512))
    after = estimate_pose(turned, None, (512, 512))
    assert after.roll - before.roll == pytest.approx(turn, abs=1.5)
    assert after.yaw == pytest.approx(before.yaw, abs=4.0)


@pytest.mark.parametrize("turn", [-25.0, 30.0])
def test_yunet_points_understate_in_plane_turns(models, turn: float) -> None:  # type: ignore[no-untyped-def]
    # Measured limitation, kept visible: on a tilted face YuNet's five points lean back
    # towards upright, so five-point roll shows only part of the turn (the mesh, whose
    # crop is rotated by the eye line first, recovers it; the gateway asks for the mesh).
    photo = images.astronaut()
    before = pose_of(photo, models, mesh=False)
    after = pose_of(rotated(photo, turn), models, mesh=False)
    change = after.roll - before.roll
    assert np.sign(change) == np.sign(turn) and 0.2 * abs(turn) < abs(change) < 0.9 * abs(turn)


# Five points: YuNet's points on the mirrored photo are not the mirror of its points on the
# photo (the nose moves by 1-2 px), which moves five-point yaw by a few degrees.
@pytest.mark.parametrize(("mesh", "tolerance"), [(True, 3.0), (False, 6.0)], ids=["mesh", "five"])
def test_mirror_negates_yaw_and_roll(models, mesh: bool, tolerance: float) -> None:  # type: ignore[no-untyped-def]
    photo = images.astronaut()
    pose = pose_of(photo, models, mesh)
    mirrored = pose_of(np.ascontiguousarray(photo[:, ::-1]), models, mesh)
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=tolerance)
    assert mirrored.roll == pytest.approx(-pose.roll, abs=tolerance * 2 / 3)
    assert mirrored.pitch == pytest.approx(pose.pitch, abs=3.0)
    assert pose.source == ("mesh" if mesh else "landmarks5")
