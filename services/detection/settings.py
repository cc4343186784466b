"""Detection service settings (environment prefix ``FACEFLOW_DETECTION_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.shared.settings import ServiceSettings
from services.shared.topology import SERVICE_PORTS


class DetectionSettings(ServiceSettings):
    """Options of the detection service."""

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_DETECTION_", extra="ignore")

    port: int = SERVICE_PORTS["detection"]
    default_max_faces: int = Field(default=10, ge=1)
    max_faces_limit: int = Field(default=100, ge=1)
    detector_model: str = "yunet"
    mesh_model: str = "facemesh"
