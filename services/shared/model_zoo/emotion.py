"""FER mini-Xception: seven emotion probabilities from a 64x64 grey face crop."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.model_zoo.face_chips import EMOTION_SIZE, emotion_crop
from services.shared.runtime import LiteModel

EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def emotion_tensor(grey: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(64, 64) grey crop -> (1, 64, 64, 1) float32 in [-1, 1] (FER's preprocess_input v2)."""
    values = grey.astype(np.float32) / np.float32(255.0)
    return ((values - np.float32(0.5)) * np.float32(2.0))[np.newaxis, :, :, np.newaxis]


class EmotionModel(ZooModel):
    """FER mini-Xception: 64x64 grey crop -> 7 class probabilities."""

    task = "emotion"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, EMOTION_SIZE, EMOTION_SIZE, 1))
        self.output = self.output_with_last_dim(len(EMOTION_LABELS))

    def warm_up(self) -> None:
        """One blank crop."""
        self.probabilities(np.zeros((EMOTION_SIZE, EMOTION_SIZE), dtype=np.uint8))

    def probabilities(self, grey: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Raw model output for one 64x64 grey crop."""
        outputs = self.runtime.run(**{self.runtime.input_name: emotion_tensor(grey)})
        return np.asarray(outputs[self.output][0], dtype=np.float32)

    def predict(self, image_rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> dict[str, float]:
        """Class probabilities of the face in this box, by label."""
        p = self.probabilities(emotion_crop(image_rgb, box))
        return {label: float(value) for label, value in zip(EMOTION_LABELS, p, strict=True)}
