"""face-api's age/gender network (``@vladmandic/face-api``, MIT): age and gender from the
detector box.

The network (rebuilt from face-api's TFJS weights, training/importers/faceapi_age_gender.py)
reads a 112x112 RGB 0-255 crop of the box padded to a square
(:func:`services.shared.model_zoo.face_chips.faceapi_crop`) and gives one age in years (a
regression, no spread) and softmax probabilities in the order ``params.gender_labels``
(face-api's: male, female). The reported age range is value +/- (``params.age_margin_years`` +
``params.age_margin_fraction`` x value). Its authors trained it partly on UTKFace, so its UTKFace
figures are optimistic (docs/attributes.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelSpec
from services.shared.model_zoo.age import AgeEstimate
from services.shared.model_zoo.age_gender_head import AgeGender
from services.shared.model_zoo.base import ZooModel
from services.shared.model_zoo.face_chips import FACEAPI_SIZE, faceapi_crop
from services.shared.model_zoo.gender import GENDER_LABELS, GenderEstimate
from services.shared.runtime import LiteModel

AGE_OUTPUT = "age"
GENDER_OUTPUT = "gender"
AGE_MAX = 120.0


class FaceApiAgeGender(ZooModel):
    """face-api AgeGenderNet: (1, 112, 112, 3) crop -> age (years) + gender probabilities."""

    task = "age-gender"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, FACEAPI_SIZE, FACEAPI_SIZE, 3))
        missing = {AGE_OUTPUT, GENDER_OUTPUT} - set(runtime.output_names)
        if missing:
            raise ModelUnavailableError(
                f"{spec.key}: outputs {runtime.output_names}, missing {sorted(missing)}"
            )
        for output, size in ((AGE_OUTPUT, 1), (GENDER_OUTPUT, len(GENDER_LABELS))):
            if runtime.output_shapes[output][-1] != size:
                raise ModelUnavailableError(
                    f"{spec.key}: {output} output {runtime.output_shapes[output]}, "
                    f"expected {size} value(s)"
                )
        labels: Any = spec.params.get("gender_labels")
        if not isinstance(labels, list) or sorted(labels) != sorted(GENDER_LABELS):
            raise ModelUnavailableError(
                f"models/{spec.name}.toml params.gender_labels must list {list(GENDER_LABELS)} "
                f"in the order of the gender output, got {labels!r}"
            )
        self.gender_labels: tuple[str, ...] = tuple(labels)
        self.margin_years = self.float_param("age_margin_years", 0.0, 20.0)
        self.margin_fraction = self.float_param("age_margin_fraction", 0.0, 1.0)

    def warm_up(self) -> None:
        """One black crop."""
        self.outputs(np.zeros((FACEAPI_SIZE, FACEAPI_SIZE, 3), dtype=np.float32))

    def outputs(self, crop: NDArray[np.float32]) -> tuple[float, NDArray[np.float32]]:
        """(age in years, gender probabilities in ``gender_labels`` order) for one crop."""
        tensor = np.asarray(crop, dtype=np.float32).reshape(1, FACEAPI_SIZE, FACEAPI_SIZE, 3)
        result = self.runtime.run(**{self.runtime.input_name: tensor})
        return float(result[AGE_OUTPUT].reshape(-1)[0]), result[GENDER_OUTPUT][0]

    def predict(self, image_rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> AgeGender:
        """Age (value and margin range) and gender of the face in this detector box."""
        age, probabilities = self.outputs(faceapi_crop(image_rgb, box))
        value = float(np.clip(age, 0.0, AGE_MAX))
        margin = self.margin_years + self.margin_fraction * value
        index = 0 if probabilities[0] > probabilities[1] else 1  # face-api: male if p > 0.5
        return AgeGender(
            AgeEstimate(value, max(0.0, value - margin), min(AGE_MAX, value + margin)),
            GenderEstimate(self.gender_labels[index], float(probabilities[index])),
        )
