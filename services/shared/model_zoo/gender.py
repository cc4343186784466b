"""dlib gender-v1: female/male from a 32x32 dlib face chip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.model_zoo.face_chips import dlib_tensor, extract_face_chip
from services.shared.runtime import LiteModel

GENDER_CHIP_SIZE = 32
GENDER_LABELS = ("female", "male")


@dataclass(frozen=True)
class GenderEstimate:
    """The more probable label and its probability."""

    label: str
    probability: float


class GenderModel(ZooModel):
    """dlib gender-v1: 32x32 dlib chip -> (female, male) probabilities."""

    task = "gender"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, GENDER_CHIP_SIZE, GENDER_CHIP_SIZE, 3))
        self.output = self.output_with_last_dim(len(GENDER_LABELS))

    def warm_up(self) -> None:
        """One blank chip."""
        self.probabilities(np.zeros((GENDER_CHIP_SIZE, GENDER_CHIP_SIZE, 3), dtype=np.uint8))

    def probabilities(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Raw model output for one 32x32 RGB chip."""
        outputs = self.runtime.run(**{self.runtime.input_name: dlib_tensor(chip)})
        return np.asarray(outputs[self.output][0], dtype=np.float32)

    def predict(
        self, image_rgb: NDArray[np.uint8], landmarks: NDArray[np.float64]
    ) -> GenderEstimate:
        """Gender of the face with these five landmarks (ties go to the first label, as dlib)."""
        chip = extract_face_chip(image_rgb, landmarks, GENDER_CHIP_SIZE)
        p = self.probabilities(chip)
        index = 1 if p[1] > p[0] else 0
        return GenderEstimate(GENDER_LABELS[index], float(p[index]))
