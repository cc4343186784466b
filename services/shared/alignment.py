"""Five-point face alignment onto the standard 112x112 template (the ArcFace/SFace one).

The similarity transform is estimated with the Umeyama method, as OpenCV's
``FaceRecognizerSF.alignCrop`` does, so crops match what SFace was trained on.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

ALIGNED_SIZE = 112

# Landmark order: left eye, right eye, nose tip, left mouth corner, right mouth corner
# (image left/right), in pixels of a 112x112 crop.
TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(
    source: NDArray[np.float64], target: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Least-squares similarity (rotation, uniform scale, translation) mapping source to target.

    Returns the 2x3 matrix for ``cv2.warpAffine``. Umeyama (1991), without reflection.
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean = src.mean(axis=0)
    dst_mean = dst.mean(axis=0)
    src_centered = src - src_mean
    dst_centered = dst - dst_mean
    covariance = dst_centered.T @ src_centered / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(covariance) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    src_variance = (src_centered**2).sum() / len(src)
    scale = float((singular * np.diag(sign)).sum() / src_variance) if src_variance > 0 else 1.0
    matrix = np.zeros((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_face(
    image_rgb: NDArray[np.uint8], landmarks: NDArray[np.float64], size: int = ALIGNED_SIZE
) -> NDArray[np.uint8]:
    """Warp the face with these five landmarks onto the template; returns (size, size, 3) RGB."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    template = TEMPLATE_112 * (size / ALIGNED_SIZE)
    matrix = similarity_transform(points, template)
    crop = cv2.warpAffine(image_rgb, matrix, (size, size), flags=cv2.INTER_LINEAR)
    return np.asarray(crop, dtype=np.uint8)
