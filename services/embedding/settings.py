"""Embedding service settings (environment prefix ``FACEFLOW_EMBEDDING_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.shared.open_set import DEFAULT_FPIR, MAX_FPIR, MIN_FPIR
from services.shared.settings import ServiceSettings
from services.shared.topology import SERVICE_PORTS


class EmbeddingSettings(ServiceSettings):
    """Options of the embedding service."""

    model_config = SettingsConfigDict(env_prefix="FACEFLOW_EMBEDDING_", extra="ignore")

    port: int = SERVICE_PORTS["embedding"]
    embedding_model: str = "sface"
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

    def resolved_store_url(self) -> str:
        """The store URL, defaulting to a folder under data_dir."""
        return self.store_url or f"sqlite:///{(self.data_dir / 'gallery').resolve()}"
