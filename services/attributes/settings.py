"""Attributes service settings (environment prefix ``FACEFLOW_ATTRIBUTES_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.shared.settings import ServiceSettings
from services.shared.topology import SERVICE_PORTS


class AttributesSettings(ServiceSettings):
    """Options of the attributes service."""

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_ATTRIBUTES_", extra="ignore")

    port: int = SERVICE_PORTS["attributes"]
    max_faces: int = Field(default=100, ge=1, description="faces per request")
    age_model: str = "age"
    gender_model: str = "gender"
    emotion_model: str = "emotion"
    # Below these face sizes (shorter box side, pixels) a model's input would be mostly
    # up-sampled blur: the attribute is reported unavailable instead of guessed.
    min_face_age: int = Field(default=32, ge=1)
    min_face_gender: int = Field(default=20, ge=1)
    min_face_emotion: int = Field(default=24, ge=1)
