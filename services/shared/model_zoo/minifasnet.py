"""MiniFASNet passive anti-spoofing models: V2 (2.7x crop) and V1SE (4.0x crop), one class.

Pre-processing follows upstream Silent-Face-Anti-Spoofing ``src/generate_patches.py``
(``CropImage``): a box ``scale`` times the face box, centred on it, shrunk if the image is too
small, shifted back inside the image, cut out (inclusive bounds) and resized to 80x80 with
``cv2.resize`` defaults; pixels are BGR 0-255, unnormalised. Class 1 is "real"; the liveness
service fuses the models (``services/liveness/passive.py``).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.runtime import LiteModel

PATCH_SIZE = 80
REAL_CLASS = 1


def upstream_crop_box(
    image_width: int, image_height: int, box: NDArray[np.float64], scale: float
) -> tuple[int, int, int, int]:
    """Upstream ``CropImage._get_new_box``: (left, top, right, bottom), inclusive, in pixels."""
    x, y, box_w, box_h = (float(v) for v in box)
    scale = min((image_height - 1) / box_h, min((image_width - 1) / box_w, scale))
    new_w, new_h = box_w * scale, box_h * scale
    centre_x, centre_y = box_w / 2 + x, box_h / 2 + y
    left, top = centre_x - new_w / 2, centre_y - new_h / 2
    right, bottom = centre_x + new_w / 2, centre_y + new_h / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > image_width - 1:
        left -= right - image_width + 1
        right = image_width - 1
    if bottom > image_height - 1:
        top -= bottom - image_height + 1
        bottom = image_height - 1
    return int(left), int(top), int(right), int(bottom)


def crop_patch(
    image_bgr: NDArray[np.uint8], box: NDArray[np.float64], scale: float, size: int = PATCH_SIZE
) -> NDArray[np.uint8]:
    """The upstream patch: ``scale`` x the face box, resized to size x size (BGR)."""
    height, width = image_bgr.shape[:2]
    left, top, right, bottom = upstream_crop_box(width, height, box, scale)
    patch = image_bgr[top : bottom + 1, left : right + 1]
    return np.asarray(cv2.resize(patch, (size, size)), dtype=np.uint8)


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float64]:
    """Numerically stable softmax over the last axis."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True))


class MiniFASNet(ZooModel):
    """One MiniFASNet TFLite model and the crop scale it was trained with (``params``)."""

    task = "liveness"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, PATCH_SIZE, PATCH_SIZE, 3))
        self.crop_scale = self.float_param("crop_scale", 1.0, 10.0)
        self.output_name = self.output_with_last_dim(3)

    def warm_up(self) -> None:
        """One patch of a blank frame."""
        self.probabilities(
            np.zeros((480, 640, 3), dtype=np.uint8), np.array([270, 190, 100, 100.0])
        )

    def logits(self, patch_bgr: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The 3 logits of one 80x80 BGR patch."""
        tensor = patch_bgr.astype(np.float32)[np.newaxis]
        output = self.runtime.run(**{self.runtime.input_name: tensor})[self.output_name]
        return np.asarray(output.reshape(-1), dtype=np.float32)

    def probabilities(
        self, image_bgr: NDArray[np.uint8], box: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Softmax over the 3 classes for the face in box."""
        return softmax(self.logits(crop_patch(image_bgr, box, self.crop_scale)))
