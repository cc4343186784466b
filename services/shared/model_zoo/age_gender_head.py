"""Age and gender from a face embedding: a small head trained on the served embedder's vectors.

The head (``python -m training train attribute-head``, docs/training.md) reads the unit-length
embedding of the 112x112 aligned crop (SFace today) and gives a probability distribution over
whole years ``params.age_min``, ``age_min + 1``, ... (one output, ``age``) and the probabilities of
``params.gender_labels`` (output ``gender``). The age is the distribution's expectation and its
range the central ``params.age_interval`` of it. The head is only valid on the vectors of the
embedder it was trained on: ``params.embedding_model`` / ``embedding_version`` name it, and
:meth:`AgeGenderHead.require_embedder` is a start-up error for any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelSpec
from services.shared.model_zoo.age import AgeEstimate
from services.shared.model_zoo.base import ServedModel, ZooModel
from services.shared.model_zoo.gender import GENDER_LABELS, GenderEstimate
from services.shared.runtime import LiteModel

AGE_OUTPUT = "age"
GENDER_OUTPUT = "gender"


def age_from_distribution(
    probabilities: NDArray[np.floating], age_min: float, interval: float
) -> AgeEstimate:
    """Expectation over ages age_min, age_min + 1, ...; range: the central ``interval`` of the
    distribution (its (1 - interval)/2 and (1 + interval)/2 quantiles, whole years)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64).reshape(-1), 0.0, None)
    p = p / p.sum()
    ages = age_min + np.arange(len(p), dtype=np.float64)
    cumulative = np.cumsum(p)
    tail = (1.0 - interval) / 2.0
    low = float(ages[min(len(p) - 1, int(np.searchsorted(cumulative, tail)))])
    high = float(ages[min(len(p) - 1, int(np.searchsorted(cumulative, 1.0 - tail)))])
    value = float(p @ ages)
    return AgeEstimate(value, min(low, value), max(high, value))


@dataclass(frozen=True)
class AgeGender:
    """Both estimates of one face."""

    age: AgeEstimate
    gender: GenderEstimate


class AgeGenderHead(ZooModel):
    """(1, dimension) unit embedding -> age distribution + (female, male) probabilities."""

    task = "age-gender-head"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        shape = self.input_shape()
        if len(shape) != 2 or shape[0] != 1 or shape[1] < 1:
            raise ModelUnavailableError(f"{spec.key}: input shape {shape}, expected (1, dimension)")
        self.dimension = shape[1]
        missing = {AGE_OUTPUT, GENDER_OUTPUT} - set(runtime.output_names)
        if missing:
            raise ModelUnavailableError(
                f"{spec.key}: outputs {runtime.output_names}, missing {sorted(missing)}"
            )
        if runtime.output_shapes[GENDER_OUTPUT][-1] != len(GENDER_LABELS):
            raise ModelUnavailableError(
                f"{spec.key}: gender output {runtime.output_shapes[GENDER_OUTPUT]}, "
                f"expected {len(GENDER_LABELS)} probabilities"
            )
        self.age_bins = runtime.output_shapes[AGE_OUTPUT][-1]
        if self.age_bins < 2:
            raise ModelUnavailableError(f"{spec.key}: the age output has {self.age_bins} bins")
        self.age_min = self.float_param("age_min", 0.0, 100.0)
        self.age_interval = self.float_param("age_interval", 0.05, 0.99)
        labels = self._param("gender_labels")
        if not isinstance(labels, list) or tuple(labels) != GENDER_LABELS:
            raise ModelUnavailableError(
                f"models/{spec.name}.toml params.gender_labels must be {list(GENDER_LABELS)} "
                f"(the order the service reports), got {labels!r}"
            )
        self.embedding_model = self._text_param("embedding_model")
        self.embedding_version = self._text_param("embedding_version")

    def _param(self, key: str) -> Any:
        return self.spec.params.get(key)

    def _text_param(self, key: str) -> str:
        value = self._param(key)
        if not isinstance(value, str) or not value:
            raise ModelUnavailableError(
                f"models/{self.spec.name}.toml params.{key} must be a model name, got {value!r}"
            )
        return value

    def require_embedder(self, embedder: ServedModel, dimension: int) -> None:
        """A start-up error unless embedder is the model (and size) this head was trained on."""
        info = embedder.info
        if (info.name, info.version) != (self.embedding_model, self.embedding_version):
            raise ModelUnavailableError(
                f"{self.spec.key} was trained on {self.embedding_model}-{self.embedding_version} "
                f"embeddings, not on {info.name}-{info.version}'s"
            )
        if dimension != self.dimension:
            raise ModelUnavailableError(
                f"{self.spec.key} reads {self.dimension}-d embeddings; "
                f"the embedder gives {dimension}"
            )

    def warm_up(self) -> None:
        """One zero vector."""
        self.outputs(np.zeros(self.dimension, dtype=np.float32))

    def outputs(
        self, embedding: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(age distribution, gender probabilities) for one embedding."""
        tensor = np.asarray(embedding, dtype=np.float32).reshape(1, self.dimension)
        result = self.runtime.run(**{self.runtime.input_name: tensor})
        return result[AGE_OUTPUT][0], result[GENDER_OUTPUT][0]

    def predict(self, embedding: NDArray[np.float32]) -> AgeGender:
        """Age (expectation + central range) and gender of one face's embedding."""
        age, gender = self.outputs(embedding)
        index = 1 if gender[1] > gender[0] else 0
        return AgeGender(
            age_from_distribution(age, self.age_min, self.age_interval),
            GenderEstimate(GENDER_LABELS[index], float(gender[index])),
        )
