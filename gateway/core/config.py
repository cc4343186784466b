"""The gateway's one typed settings class (environment prefix ``FACEFLOW_GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.core.webhook_destinations import Network, parse_networks
from services.shared.imaging import (
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_IMAGE_PIXELS,
    HIGHEST_MAX_IMAGE_PIXELS,
    ImageLimits,
)
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
    max_image_pixels: int = Field(
        default=DEFAULT_MAX_IMAGE_PIXELS, ge=1, le=HIGHEST_MAX_IMAGE_PIXELS
    )
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    cluster_max_request_faces: int = Field(
        default=256,
        ge=1,
        description="most faces the photos of one clustering request may hold (the embedding "
        "service's cluster_max_request_faces): more is TOO_MANY_FACES",
    )
    cluster_deadline_seconds: float = Field(
        default=60.0,
        gt=0,
        description="deadline of the calls that create or grow a clustering job (the embedding "
        "service embeds every face before it answers)",
    )
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

    video_max_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="the largest video upload (bytes)"
    )
    video_max_seconds: float = Field(
        default=600.0, gt=0, description="the longest video accepted (its declared length)"
    )
    video_sync_max_seconds: float = Field(
        default=30.0,
        ge=0,
        description="videos up to this long are answered at once; longer ones become jobs",
    )
    video_default_fps: float = Field(default=5.0, gt=0, le=30, description="frames analysed/s")
    video_max_side: int = Field(
        default=1280, ge=320, description="video frames are scaled down to this longest side"
    )
    video_pipeline_window: int = Field(
        default=3, ge=1, le=16, description="frames of one video analysed at once"
    )
    video_max_running_jobs: int = Field(
        default=2, ge=1, description="video jobs run at once by this gateway; others wait"
    )
    video_track_gap_seconds: float = Field(
        default=1.0, gt=0, description="a face unseen this long ends its track"
    )
    video_track_min_frames: int = Field(
        default=2, ge=1, description="a face must be seen in this many frames to be a track"
    )
    video_max_jobs_per_tenant: int = Field(
        default=8,
        ge=1,
        description="unfinished (queued or running) video jobs one tenant may have; more is "
        "429 RATE_LIMITED",
    )
    video_job_ttl_hours: float = Field(
        default=168.0,
        gt=0,
        description="a finished video job (its events and webhook deliveries) is deleted "
        "this long after it ended",
    )
    video_heartbeat_seconds: float = Field(default=5.0, gt=0)
    video_job_stale_seconds: float = Field(
        default=60.0,
        gt=0,
        description="with PostgreSQL: a running job without a heartbeat this long is failed "
        "(its gateway stopped)",
    )
    video_stream_idle_seconds: float = Field(
        default=120.0, gt=0, description="a stream without frames this long is dropped"
    )
    webhook_attempts: int = Field(default=5, ge=1, le=20, description="tries per webhook message")
    webhook_retry_seconds: float = Field(
        default=1.0, gt=0, description="first wait before a retry (doubles each time)"
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_allowed_networks: str = Field(
        default="",
        description="comma-separated IP networks webhooks may reach besides public addresses "
        "(e.g. 10.0.0.0/8 for receivers on the operator's network; 127.0.0.0/8 for one on "
        "this machine); empty = public addresses only",
    )

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        parse_networks(value)  # a typo is an error at start-up, not a refused webhook later
        return value

    @property
    def webhook_networks(self) -> tuple[Network, ...]:
        """The networks of ``webhook_allowed_networks``."""
        return parse_networks(self.webhook_allowed_networks)

    @property
    def tenants_db(self) -> Path:
        """SQLite file with tenants and hashed API keys."""
        return self.data_dir / "tenants.sqlite3"

    @property
    def video_db(self) -> Path:
        """SQLite file with video jobs, their events and webhook deliveries, and streams."""
        return self.data_dir / "video.sqlite3"

    @property
    def image_limits(self) -> ImageLimits:
        """The byte and pixel limits of one uploaded image."""
        return ImageLimits(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels)
