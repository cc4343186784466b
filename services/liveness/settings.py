"""Liveness service settings (environment prefix ``FACEFLOW_LIVENESS_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.liveness.actions import MAX_ACTIONS
from services.shared.limits import (
    LIVENESS_DEFAULT_ACTIONS,
    LIVENESS_DEFAULT_FRAMES,
    LIVENESS_DEFAULT_MAX_SESSION_TTL_SECONDS,
    MIN_SESSION_TTL_SECONDS,
)
from services.shared.settings import ServiceSettings
from services.shared.topology import SERVICE_PORTS

REPO_ROOT = Path(__file__).resolve().parents[2]


class LivenessSettings(ServiceSettings):
    """Options of the liveness service."""

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_LIVENESS_", extra="ignore")

    port: int = SERVICE_PORTS["liveness"]
    data_dir: Path = Field(
        default=REPO_ROOT / "var" / "liveness", description="holds sessions.sqlite3"
    )
    database_url: str = Field(
        default="",
        description="postgresql://... to keep sessions in PostgreSQL (shared by every liveness "
        "replica); empty: SQLite in data_dir",
    )
    detector_model: str = "yunet"
    mesh_model: str = "facemesh"
    embedding_model: str = "sface"
    passive_models: tuple[str, ...] = ("minifasnet_v2", "minifasnet_v1se")
    passive_threshold: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="fused real-face probability needed for live"
    )
    session_ttl_seconds: int = Field(default=60, ge=MIN_SESSION_TTL_SECONDS, le=3600)
    max_session_ttl_seconds: int = Field(
        default=LIVENESS_DEFAULT_MAX_SESSION_TTL_SECONDS, ge=MIN_SESSION_TTL_SECONDS, le=3600
    )
    min_actions: int = Field(default=LIVENESS_DEFAULT_ACTIONS[0], ge=1, le=MAX_ACTIONS)
    max_actions: int = Field(
        default=LIVENESS_DEFAULT_ACTIONS[1],
        ge=1,
        le=MAX_ACTIONS,
        description="a session asks each action at most once, so at most the number of actions",
    )
    max_frames: int = Field(
        default=LIVENESS_DEFAULT_FRAMES[1], ge=2, description="frames per verification"
    )
    min_frames: int = Field(default=LIVENESS_DEFAULT_FRAMES[0], ge=2)
    max_frame_side: int = Field(
        default=1280, ge=320, description="frames are scaled down to this longest side"
    )
    max_frame_pixels: int = Field(default=12_000_000, ge=1, description="per frame, before scaling")
    max_video_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    video_sample_fps: float = Field(default=10.0, gt=0, description="video frames kept per second")
    default_frame_interval_ms: int = Field(default=200, ge=1, le=10_000)
    min_face_fraction: float = Field(
        default=0.5, gt=0.0, le=1.0, description="frames that must show exactly one face"
    )
    second_face_area_ratio: float = Field(
        default=0.2,
        gt=0.0,
        le=1.0,
        description="a second face this large (relative area) counts as another person",
    )
    same_person_similarity: float = Field(
        default=0.363,
        gt=-1.0,
        lt=1.0,
        description="SFace cosine below which two frames are different people (OpenCV Zoo's "
        "published SFace threshold)",
    )
    best_frames: int = Field(default=3, ge=1, description="frames the passive model checks")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Refuse settings that contradict each other (at start-up, not on every request)."""
        problems = []
        if self.min_actions > self.max_actions:
            problems.append(
                f"min_actions ({self.min_actions}) is above max_actions ({self.max_actions})"
            )
        if self.min_frames > self.max_frames:
            problems.append(
                f"min_frames ({self.min_frames}) is above max_frames ({self.max_frames})"
            )
        if self.session_ttl_seconds > self.max_session_ttl_seconds:
            problems.append(
                f"session_ttl_seconds ({self.session_ttl_seconds}) is above "
                f"max_session_ttl_seconds ({self.max_session_ttl_seconds}): every CreateSession "
                "without ttl_seconds would be refused"
            )
        if problems:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(f"inconsistent liveness settings ({prefix}*): " + "; ".join(problems))
        return self

    @property
    def sessions_db(self) -> Path:
        """SQLite file with the sessions."""
        return self.data_dir / "sessions.sqlite3"
