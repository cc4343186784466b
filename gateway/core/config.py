"""The gateway's one typed settings class (environment prefix ``FACEFLOW_GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.imaging import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, ImageLimits
from services.shared.topology import GATEWAY_PORT, SERVICE_PORTS

REPO_ROOT = Path(__file__).resolve().parents[2]


class GatewaySettings(BaseSettings):
    """Where the services are, limits, deadlines and the data folder.

    A service address may be ``host:port`` or ``dns:///name:port`` (client-side round_robin
    across every address the name resolves to, e.g. a Kubernetes headless Service). An empty
    address means the service is not deployed: its endpoints answer SERVICE_UNAVAILABLE.
    """

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = GATEWAY_PORT
    detection_addr: str = f"127.0.0.1:{SERVICE_PORTS['detection']}"
    embedding_addr: str = f"127.0.0.1:{SERVICE_PORTS['embedding']}"
    liveness_addr: str = f"127.0.0.1:{SERVICE_PORTS['liveness']}"
    attributes_addr: str = f"127.0.0.1:{SERVICE_PORTS['attributes']}"
    deadline_seconds: float = Field(default=10.0, gt=0)
    health_deadline_seconds: float = Field(default=1.0, gt=0)
    health_watch_interval_seconds: float = Field(
        default=0.25,
        ge=0,
        description="how often each service's gRPC health is checked in the background "
        "(0 = off); a service that fails a check is answered 503 at once until it passes one",
    )
    health_watch_deadline_seconds: float = Field(default=0.5, gt=0)
    unavailable_retries: int = Field(default=2, ge=0, le=5)
    max_image_bytes: int = Field(default=DEFAULT_MAX_IMAGE_BYTES, ge=1)
    max_image_pixels: int = Field(default=DEFAULT_MAX_IMAGE_PIXELS, ge=1)
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    data_dir: Path = REPO_ROOT / "var" / "gateway"
    demo_tenant: str = "demo"
    rate_limit_per_minute: int = Field(default=600, ge=0, description="per API key, 0 = off")
    database_url: str = Field(
        default="",
        description="postgresql://... to keep tenants, API keys and rate limits in PostgreSQL "
        "(shared by every gateway replica); empty: SQLite in data_dir, one gateway",
    )
    database_pool_size: int = Field(default=4, ge=1, le=64)
    malloc_tuning: bool = Field(
        default=True,
        description="keep request bodies' buffers in the heap (services/shared/memory.py)",
    )
    access_log: bool = Field(
        default=False,
        description="uvicorn's line per request (off by default: it costs CPU on every "
        "request; /metrics and the x-request-id header cover the same ground)",
    )

    @property
    def tenants_db(self) -> Path:
        """SQLite file with tenants and hashed API keys."""
        return self.data_dir / "tenants.sqlite3"

    @property
    def image_limits(self) -> ImageLimits:
        """The byte and pixel limits of one uploaded image."""
        return ImageLimits(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels)
