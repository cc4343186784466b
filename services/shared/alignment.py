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
    return warp_to_template(image_rgb, landmarks, TEMPLATE_112 * (size / ALIGNED_SIZE), size)


def warp_to_template(
    image_rgb: NDArray[np.uint8],
    landmarks: NDArray[np.float64],
    template: NDArray[np.float64],
    size: int,
) -> NDArray[np.uint8]:
    """The (size, size, 3) crop that puts the five landmarks on a template's points."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    matrix = similarity_transform(points, template)
    crop = cv2.warpAffine(image_rgb, matrix, (size, size), flags=cv2.INTER_LINEAR)
    return np.asarray(crop, dtype=np.uint8)


# dlib's 150x150 face chip (get_face_chip(image, shape, 150, 0.25), what dlib's ResNet face
# descriptor takes) for YuNet's five points, in the order above. dlib places its chip from its
# own 5-point shape predictor (eye corners, nose base), so this is measured: the mean of
# YuNet's points mapped into dlib's chip frame over 257 lfw-devtest photos
# (bench/dlib_resnet.py template), averaged with its mirror image so it is left-right
# symmetric about x = 74.5.
DLIB_CHIP_SIZE = 150
DLIB_CHIP_TEMPLATE_150 = np.array(
    [
        [46.668, 45.4576],
        [102.332, 45.4576],
        [74.5, 78.529],
        [50.6757, 103.3209],
        [98.3243, 103.3209],
    ],
    dtype=np.float64,
)


def align_dlib_chip(
    image_rgb: NDArray[np.uint8], landmarks: NDArray[np.float64]
) -> NDArray[np.uint8]:
    """Warp the face with these five (YuNet) landmarks onto dlib's 150x150 chip; RGB uint8."""
    return warp_to_template(image_rgb, landmarks, DLIB_CHIP_TEMPLATE_150, DLIB_CHIP_SIZE)


# The similarity that carries the 112x112 template onto dlib's chip template: how an embedder
# that takes dlib's chip is fed from the aligned crop the detection service sends. The crop is
# upsampled 1.49x, and the chip's bottom 14 rows (about 10 px of the crop) fall below the
# crop's bottom edge: black there, as dlib pads outside a photo. On lfw-devtest this costs
# dlib's descriptor nothing measurable in fusion (evaluation/fusion.py, docs/embedding.md).
ALIGNED_TO_DLIB_CHIP = similarity_transform(TEMPLATE_112, DLIB_CHIP_TEMPLATE_150)


def dlib_chip_from_aligned(crop_rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """dlib's 150x150 chip cut from a 112x112 aligned crop (no landmarks needed)."""
    if crop_rgb.shape != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
        raise ValueError(f"expected a {ALIGNED_SIZE}x{ALIGNED_SIZE} RGB crop, got {crop_rgb.shape}")
    chip = cv2.warpAffine(
        crop_rgb, ALIGNED_TO_DLIB_CHIP, (DLIB_CHIP_SIZE, DLIB_CHIP_SIZE), flags=cv2.INTER_LINEAR
    )
    return np.asarray(chip, dtype=np.uint8)
