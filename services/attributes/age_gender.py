"""Where the attributes service gets age and gender from, chosen per attribute by settings.

Three sources (``age_from`` / ``gender_from``):

- ``head``: the face is aligned onto the 112x112 template exactly as the embedding service
  receives it (``align_face`` on the five landmarks), embedded by the served embedder (SFace) and
  read by a head trained on those embeddings (``AgeGenderHead``, settings ``age_gender_head`` and
  ``embedding_model``); one embedding serves both attributes; both models are reported.
- ``dlib``: dlib's age-v1 (``age_model``) / gender-v1 (``gender_model``) on their own
  dlib-style chips.
- ``faceapi``: face-api's AgeGenderNet (``faceapi_model``) on face-api's crop of the detector
  box; one run serves both attributes.

Only the models a configuration needs are loaded. Models come from the zoo only; nothing is
imported from the embedding service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from faceflow.common.v1 import common_pb2
from numpy.typing import NDArray

from services.attributes.settings import AttributesSettings
from services.shared.alignment import align_face
from services.shared.errors import ModelUnavailableError
from services.shared.face_messages import FaceInput
from services.shared.model_store import ModelStore
from services.shared.model_zoo import (
    AgeEstimate,
    AgeGender,
    AgeGenderHead,
    AgeModel,
    FaceApiAgeGender,
    GenderEstimate,
    GenderModel,
    ServedModel,
    SFace,
)

Source = Literal["head", "dlib", "faceapi"]


@dataclass(frozen=True)
class AgeGenderResult:
    """The estimates asked for (None where not asked)."""

    age: AgeEstimate | None
    gender: GenderEstimate | None


@dataclass(frozen=True)
class EmbeddingHead:
    """The embedder and the head trained on its vectors (checked to belong together)."""

    embedder: SFace
    head: AgeGenderHead

    def __post_init__(self) -> None:
        self.head.require_embedder(self.embedder, self.embedder.dimension)

    def predict(self, image_rgb: NDArray[np.uint8], landmarks: NDArray[np.float64]) -> AgeGender:
        """Both estimates from the embedding of the crop the embedding service embeds."""
        vectors = self.embedder.embed(align_face(image_rgb, landmarks))
        return self.head.predict(np.asarray(vectors[0], dtype=np.float32))


class AgeGenderModels:
    """Age and gender, each from the head, its dlib network or face-api's network."""

    def __init__(
        self,
        age_from: Source,
        gender_from: Source,
        head: EmbeddingHead | None = None,
        age: AgeModel | None = None,
        gender: GenderModel | None = None,
        faceapi: FaceApiAgeGender | None = None,
    ) -> None:
        needed = {
            "the embedding head": (head, "head" in (age_from, gender_from)),
            "the dlib age model": (age, age_from == "dlib"),
            "the dlib gender model": (gender, gender_from == "dlib"),
            "the face-api model": (faceapi, "faceapi" in (age_from, gender_from)),
        }
        missing = [name for name, (model, wanted) in needed.items() if wanted and model is None]
        if missing:
            raise ModelUnavailableError(f"age/gender configuration needs {', '.join(missing)}")
        self.age_from = age_from
        self.gender_from = gender_from
        self.head = head
        self.age = age
        self.gender = gender
        self.faceapi = faceapi

    @property
    def served_models(self) -> list[ServedModel]:
        """Every loaded model (to warm up)."""
        models: list[ServedModel] = []
        if self.head is not None:
            models += [self.head.embedder, self.head.head]
        models += [m for m in (self.age, self.gender, self.faceapi) if m is not None]
        return models

    def _models_of(self, source: Source, dlib: AgeModel | GenderModel | None) -> list[ServedModel]:
        if source == "head" and self.head is not None:
            return [self.head.embedder, self.head.head]
        if source == "faceapi" and self.faceapi is not None:
            return [self.faceapi]
        return [dlib] if dlib is not None else []

    def models_for(self, age: bool, gender: bool) -> list[common_pb2.ModelInfo]:
        """The models behind these attributes, each once, age's first."""
        used: list[ServedModel] = []
        if age:
            used += self._models_of(self.age_from, self.age)
        if gender:
            used += [m for m in self._models_of(self.gender_from, self.gender) if m not in used]
        return [m.info for m in used]

    def _wanted(self, source: Source, age: bool, gender: bool) -> bool:
        return (age and self.age_from == source) or (gender and self.gender_from == source)

    def estimate(
        self, image_rgb: NDArray[np.uint8], face: FaceInput, age: bool, gender: bool
    ) -> AgeGenderResult:
        """The requested estimates; the head and face-api's network run at most once per face."""
        landmarks = face.landmarks
        from_head = from_faceapi = None
        if self.head is not None and self._wanted("head", age, gender):
            from_head = self.head.predict(image_rgb, landmarks)
        if self.faceapi is not None and self._wanted("faceapi", age, gender):
            from_faceapi = self.faceapi.predict(image_rgb, face.box)
        age_estimate = gender_estimate = None
        if age:
            if self.age_from == "head" and from_head is not None:
                age_estimate = from_head.age
            elif self.age_from == "faceapi" and from_faceapi is not None:
                age_estimate = from_faceapi.age
            elif self.age is not None:
                age_estimate = self.age.predict(image_rgb, landmarks)
        if gender:
            if self.gender_from == "head" and from_head is not None:
                gender_estimate = from_head.gender
            elif self.gender_from == "faceapi" and from_faceapi is not None:
                gender_estimate = from_faceapi.gender
            elif self.gender is not None:
                gender_estimate = self.gender.predict(image_rgb, landmarks)
        return AgeGenderResult(age_estimate, gender_estimate)


def build_age_gender(settings: AttributesSettings, store: ModelStore) -> AgeGenderModels:
    """The configured sources with their models verified and checked (ModelUnavailableError)."""
    threads = settings.model_threads
    sources = (settings.age_from, settings.gender_from)
    head = None
    if "head" in sources:
        head = EmbeddingHead(
            SFace.from_store(store, settings.embedding_model, threads),
            AgeGenderHead.from_store(store, settings.age_gender_head, threads),
        )
    return AgeGenderModels(
        settings.age_from,
        settings.gender_from,
        head,
        AgeModel.from_store(store, settings.age_model, threads)
        if settings.age_from == "dlib"
        else None,
        GenderModel.from_store(store, settings.gender_model, threads)
        if settings.gender_from == "dlib"
        else None,
        FaceApiAgeGender.from_store(store, settings.faceapi_model, threads)
        if "faceapi" in sources
        else None,
    )
