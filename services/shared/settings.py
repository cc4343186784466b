"""The settings base every service extends (environment variables, prefix per service)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.imaging import (
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_IMAGE_PIXELS,
    HIGHEST_MAX_IMAGE_PIXELS,
)


def default_cache_dir() -> Path:
    """The XDG cache folder for converted models (``$XDG_CACHE_HOME/faceflow``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "faceflow"


class ServiceSettings(BaseSettings):
    """Options common to all model services. Subclasses set ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, description="gRPC port; each service sets its own")
    max_workers: int = Field(default=4, ge=1, description="gRPC handler threads")
    max_queued_rpcs: int = Field(
        default=16,
        ge=0,
        description="RPCs that may wait for a handler thread; past that the service sheds "
        "load with RESOURCE_EXHAUSTED (the gateway answers 429 with Retry-After) instead of "
        "queueing callers to their deadline",
    )
    model_threads: int = Field(default=2, ge=1, description="threads per TFLite interpreter")
    metrics_port: int = Field(default=0, ge=0, description="Prometheus exporter port, 0 = off")
    model_cache_dir: Path = Field(default_factory=lambda: default_cache_dir() / "models")
    max_image_bytes: int = Field(default=DEFAULT_MAX_IMAGE_BYTES, ge=1)
    max_image_pixels: int = Field(
        default=DEFAULT_MAX_IMAGE_PIXELS, ge=1, le=HIGHEST_MAX_IMAGE_PIXELS
    )
    max_message_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_connection_age_seconds: int = Field(
        default=300, ge=1, description="clients reconnect (and re-resolve) after this long"
    )
    data_dir: Path = Field(
        default=Path("var/data"), description="where a service keeps its files (databases)"
    )
    log_level: str = "INFO"
    malloc_tuning: bool = Field(
        default=True,
        description="keep large per-request buffers in the heap (services/shared/memory.py)",
    )
