"""Head pose (yaw, pitch, roll in degrees): the one estimator every service uses.

A generic 3-D face model is fitted to 2-D landmarks: the attributes service's pose, enrollment
quality (``quality.py``) and liveness's head-turn and nod actions all read it.

``cv2.solvePnP`` fits the rotation of a 3-D face model (below) to the image points, with a
pinhole camera whose focal length is the image's longer side (when the image size is not
known, as for enrollment quality, a frame ``FRAME_PER_LANDMARK_SPREAD`` times the landmarks'
spread). With the 468-point FaceMesh, 14
mesh points are used (midline, eye and mouth corners, face edges); with only YuNet's five
points, the same model's eye centres, nose tip and mouth corners (less certain: five points,
nearly coplanar apart from the nose).

Angles (camera frame, degrees): yaw > 0 when the face turns towards the image right, pitch > 0
when it looks down (chin down, as enrollment's quality check), roll > 0 when the head tilts
clockwise in the image (image-right eye lower). The rotation is split as
roll * pitch * yaw, so roll is exactly the in-plane rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

# The 3-D face model: the mean FaceMesh geometry of 399 LFW faces (evaluation/attributes.py
# ``pose-model`` recomputes it): each face's mesh points (x, y, z in pixels) centred and scaled,
# averaged, made left/right symmetric, nose tip at the origin, outer eye corners 90 units
# apart. Frame: x towards the image right, y up, z towards the camera. "Frontal" (all angles 0)
# is therefore the average LFW head pose, as in enrollment's quality check.
MESH_INDICES = (1, 168, 10, 152, 0, 17, 33, 263, 133, 362, 61, 291, 234, 454)
MODEL_MESH = np.array(
    [
        [0.0, 0.0, 0.0],  # 1 nose tip
        [0.0, 42.6, -19.9],  # 168 nose bridge between the eyes
        [0.0, 91.5, -24.2],  # 10 forehead
        [0.0, -74.5, -38.3],  # 152 chin
        [0.0, -19.3, -16.0],  # 0 upper lip
        [0.0, -40.7, -22.3],  # 17 lower lip
        [-45.0, 38.3, -41.6],  # 33 image-left eye, outer corner
        [45.0, 38.3, -41.6],  # 263 image-right eye, outer corner
        [-17.3, 37.0, -36.5],  # 133 image-left eye, inner corner
        [17.3, 37.0, -36.5],  # 362 image-right eye, inner corner
        [-27.4, -26.0, -36.5],  # 61 image-left mouth corner
        [27.4, -26.0, -36.5],  # 291 image-right mouth corner
        [-68.9, 20.4, -94.0],  # 234 image-left face edge
        [68.9, 20.4, -94.0],  # 454 image-right face edge
    ]
)

# YuNet order: image-left eye centre, image-right eye centre, nose tip, mouth left, mouth right;
# eye centres = midpoints of the model's eye corners.
MODEL_FIVE = np.array(
    [
        [-31.15, 37.65, -39.05],
        [31.15, 37.65, -39.05],
        [0.0, 0.0, 0.0],
        [-27.4, -26.0, -36.5],
        [27.4, -26.0, -36.5],
    ]
)

# Without the image size: a frame this many times the landmarks' spread (the diameter of the
# smallest circle about their centre holding them; LFW's 250 px photos hold faces whose five
# landmarks span about 50 px).
FRAME_PER_LANDMARK_SPREAD = 5.0

# Model frame (y up, z to camera) -> camera frame (y down, z away): a half turn about x.
FLIP = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class HeadPose:
    """Head pose in degrees, and which landmarks it came from."""

    yaw: float
    pitch: float
    roll: float
    source: str


def rotation_from_angles(yaw: float, pitch: float, roll: float) -> NDArray[np.float64]:
    """The camera-frame rotation of a face with these angles (degrees): inverse of angles_from."""
    y, p, r = np.radians([-yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return np.asarray(rz @ rx @ ry @ FLIP, dtype=np.float64)


def angles_from_rotation(rotation: NDArray[np.float64]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a model-to-camera rotation."""
    m = rotation @ FLIP
    pitch = np.arcsin(np.clip(m[2, 1], -1.0, 1.0))
    yaw = np.arctan2(-m[2, 0], m[2, 2])
    roll = np.arctan2(-m[0, 1], m[1, 1])
    return float(-np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def camera_matrix(width: int, height: int) -> NDArray[np.float64]:
    """Pinhole intrinsics: focal length = the longer side, principal point at the centre."""
    focal = float(max(width, height))
    return np.array([[focal, 0, width / 2.0], [0, focal, height / 2.0], [0, 0, 1]])


def solve_pose(
    model: NDArray[np.float64], points: NDArray[np.float64], width: int, height: int
) -> tuple[float, float, float]:
    """Fit the model's rotation to the image points; (yaw, pitch, roll) degrees."""
    image_points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 1, 2)
    intrinsics = camera_matrix(width, height)
    # Start from a frontal face at the distance the landmarks' spread implies: robust with
    # five or six points, where a cold start can land in the mirrored solution.
    spread = float(np.ptp(points[:, 0])) or 1.0
    distance = intrinsics[0, 0] * float(np.ptp(model[:, 0])) / spread
    centre = points.mean(axis=0)
    translation = np.array(
        [
            (centre[0] - width / 2.0) * distance / intrinsics[0, 0],
            (centre[1] - height / 2.0) * distance / intrinsics[0, 0],
            distance,
        ]
    ).reshape(3, 1)
    rvec, _ = cv2.Rodrigues(FLIP)
    _ok, rvec, tvec = cv2.solvePnP(
        np.ascontiguousarray(model, dtype=np.float64).reshape(-1, 1, 3),
        image_points,
        intrinsics,
        None,
        rvec,
        translation,
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    rotation, _ = cv2.Rodrigues(rvec)
    position = np.asarray(tvec, dtype=np.float64).reshape(3)
    return angles_from_rotation(line_of_sight(position) @ rotation)


def line_of_sight(position: NDArray[np.float64]) -> NDArray[np.float64]:
    """The rotation taking the ray to the face onto the optical axis.

    Angles are reported relative to the line of sight, so a face looking straight at the
    camera reads 0 anywhere in the frame, and turning the photo about any point changes roll
    only (relative to the optical axis, an off-centre face would read several degrees of
    yaw or pitch from perspective alone).
    """
    ray = position / (np.linalg.norm(position) or 1.0)
    axis = np.cross(ray, np.array([0.0, 0.0, 1.0]))
    sine = float(np.linalg.norm(axis))
    if sine < 1e-9:
        return np.eye(3)
    angle = float(np.arctan2(sine, ray[2]))
    matrix, _ = cv2.Rodrigues(axis / sine * angle)
    return np.asarray(matrix, dtype=np.float64)


def estimate_pose(
    landmarks: NDArray[np.float64],
    mesh: NDArray[np.float64] | None = None,
    size: tuple[int, int] | None = None,
) -> HeadPose:
    """Pose from the mesh when there is one, else from the five landmarks.

    ``size`` is the image's (width, height); without it the camera is placed as for a photo
    ``FRAME_PER_LANDMARK_SPREAD`` times the landmarks' spread.
    """
    if mesh is not None and len(mesh) > max(MESH_INDICES):
        model, source = MODEL_MESH, "mesh"
        points = np.asarray(mesh, dtype=np.float64)[list(MESH_INDICES), :2]
    else:
        model, source = MODEL_FIVE, "landmarks5"
        points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    if size is None:
        centre = points.mean(axis=0)
        spread = 2.0 * float(np.linalg.norm(points - centre, axis=1).max())  # rotation-free
        side = max(1, round(spread * FRAME_PER_LANDMARK_SPREAD))
        points = points - centre + side / 2.0
        size = (side, side)
    return HeadPose(*solve_pose(model, points, size[0], size[1]), source=source)
