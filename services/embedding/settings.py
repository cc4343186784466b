"""Embedding service settings (environment prefix ``FACEFLOW_EMBEDDING_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.shared.open_set import DEFAULT_FPIR, MAX_FPIR, MIN_FPIR
from services.shared.settings import ServiceSettings
from services.shared.topology import SERVICE_PORTS


class EmbeddingSettings(ServiceSettings):
    """Options of the embedding service."""

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_EMBEDDING_", extra="ignore")

    port: int = SERVICE_PORTS["embedding"]
    embedding_model: str = Field(
        default="sface",
        description="the embedder: a network (sface) or a fusion of networks (sface_dlib: "
        "SFace + dlib's ResNet; sface_facenet: SFace + FaceNet, research use only; "
        "docs/embedding.md); a gallery keeps the embeddings of one embedder, so changing it "
        "means a new store and enrolling again, and scores and thresholds differ per embedder",
    )
    store_url: str = Field(
        default="",
        description="gallery store: sqlite:///dir (SQLite + FAISS) or postgresql://...; "
        "empty means sqlite:///<data_dir>/gallery",
    )
    store_images: bool = Field(default=False, description="also keep the enrolled raw images")
    store_read_url: str = Field(
        default="",
        description="postgresql://... of a read replica for Search (enrolls and deletes go to "
        "store_url); a face just enrolled is searchable there after the replication lag",
    )
    max_batch: int = Field(default=64, ge=1, description="most crops in one Embed/Search call")
    default_top_k: int = Field(default=5, ge=1)
    search_fpir: float = Field(
        default=DEFAULT_FPIR,
        ge=MIN_FPIR,
        le=MAX_FPIR,
        description="target false-positive identification rate of /search when a request "
        "names none: the share of strangers that may match someone",
    )
    default_page_size: int = Field(default=100, ge=1)
    cluster_db: Path | None = Field(
        default=None,
        description="SQLite file of the clustering jobs; empty means <data_dir>/clusters.sqlite3 "
        "(with a postgresql:// store_url the jobs live in that database instead)",
    )
    cluster_far: float = Field(
        default=1e-5,
        ge=1e-6,
        le=1e-2,
        description="per-pair false-accept rate of the clustering link threshold when a job "
        "names none",
    )
    cluster_max_request_faces: int = Field(
        default=256, ge=1, description="most faces one CreateClusterJob / AddClusterFaces adds"
    )
    cluster_max_job_faces: int = Field(default=10_000, ge=1, description="most faces in one job")
    cluster_max_jobs_per_tenant: int = Field(
        default=100,
        ge=1,
        description="most clustering jobs one tenant holds (stored, finished or not); one more "
        "is RATE_LIMITED until the tenant deletes one or one expires",
    )
    cluster_worker: bool = Field(
        default=True,
        description="run queued clustering jobs in this process (off: a replica that only "
        "serves requests; another replica sharing the PostgreSQL store runs them)",
    )
    cluster_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a running job whose worker has not reported for this long is taken over "
        "(its process died); workers report every min(lease / 3, 1) seconds",
    )
    cluster_poll_seconds: float = Field(
        default=1.0, gt=0, description="how often an idle worker looks for queued jobs"
    )
    cluster_max_attempts: int = Field(
        default=3, ge=1, description="runs of a job that may die before it is failed"
    )
    cluster_job_ttl_hours: float = Field(
        default=7 * 24.0,
        ge=0,
        description="jobs untouched for this long are deleted (0: kept until deleted)",
    )

    def resolved_store_url(self) -> str:
        """The store URL, defaulting to a folder under data_dir."""
        return self.store_url or f"sqlite:///{(self.data_dir / 'gallery').resolve()}"

    def resolved_cluster_db(self) -> Path:
        """The SQLite file of the clustering jobs (when the store is not PostgreSQL)."""
        return self.cluster_db or self.data_dir / "clusters.sqlite3"
