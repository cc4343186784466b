"""Embedding service process: load and warm up the embedder, open the gallery store, serve gRPC.

Run with ``python -m services.embedding.server``. At start-up the store brings its index up to
date from the database and a consistency check proves they agree; a failure is a start-up
error, never a silent rebuild on every start. The clustering jobs live beside the gallery (a
SQLite file in data_dir, or the gallery's PostgreSQL database) and a background worker starts
with the servicer: jobs left queued or running by an earlier process are picked up again.
"""

from __future__ import annotations

import logging

from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc

from services.embedding.cluster_jobs import ClusterJobStore, open_sqlite_jobs
from services.embedding.cluster_jobs_pg import open_postgres_jobs
from services.embedding.cluster_rpcs import ClusterRpcs, model_key
from services.embedding.cluster_worker import ClusterWorker
from services.embedding.servicer import EmbeddingServicer
from services.embedding.settings import EmbeddingSettings
from services.embedding.store.base import GalleryStore, open_store
from services.embedding.store.errors import DimensionMismatchError, EmbedderMismatchError
from services.embedding.thresholds import FarTable
from services.shared.model_store import ModelStore
from services.shared.model_zoo import Embedder, open_embedder
from services.shared.server import ServiceApp, run_service, single_service_app

log = logging.getLogger("faceflow.embedding")

SERVICE_NAME = embedding_pb2.DESCRIPTOR.services_by_name["EmbeddingService"].full_name


def another_embedder(refusal: str, embedder: str) -> str:
    """The start-up error for a gallery filled by another embedder, with what to do."""
    return (
        f"{refusal}: this gallery was filled by another embedder than {embedder}. Serve that "
        "embedder again (FACEFLOW_EMBEDDING_EMBEDDING_MODEL), or give this one a new store "
        "(FACEFLOW_EMBEDDING_STORE_URL or DATA_DIR) and enrol again"
    )


def open_gallery(settings: EmbeddingSettings, dimension: int, embedder: str) -> GalleryStore:
    """Open the configured gallery store for this embedder (``name:version``: a store filled
    by another is refused) and prove its index agrees with its database."""
    url = settings.resolved_store_url()
    options: dict[str, object] = {"store_images": True} if settings.store_images else {}
    if settings.store_read_url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("store_read_url needs a postgresql:// store_url (its primary)")
        options["read_url"] = settings.store_read_url
    try:
        store = open_store(url, dimension, **options)
    except DimensionMismatchError as error:
        raise ValueError(another_embedder(str(error), embedder)) from error
    try:
        store.claim_embedder(embedder)
    except EmbedderMismatchError as error:
        store.close()
        raise ValueError(another_embedder(str(error), embedder)) from error
    try:
        store.check_consistency()
    except BaseException:
        store.close()
        raise
    log.info("gallery store open: %s", url.split("@")[-1])
    return store


def open_cluster_jobs(settings: EmbeddingSettings) -> ClusterJobStore:
    """The clustering jobs: in the gallery's PostgreSQL database, else a SQLite file."""
    url = settings.resolved_store_url()
    if url.startswith(("postgresql://", "postgres://")):
        return open_postgres_jobs(url, pool_size=settings.max_workers + 2)
    return open_sqlite_jobs(settings.resolved_cluster_db())


def build_clusters(
    settings: EmbeddingSettings, model: Embedder, gallery: GalleryStore, far_table: FarTable
) -> ClusterRpcs:
    """The clustering RPCs with their job store and (when enabled) a started worker."""
    jobs = open_cluster_jobs(settings)
    worker = None
    if settings.cluster_worker:
        worker = ClusterWorker(
            jobs,
            model.dimension,
            lease_seconds=settings.cluster_lease_seconds,
            poll_seconds=settings.cluster_poll_seconds,
            max_attempts=settings.cluster_max_attempts,
            purge_after_seconds=settings.cluster_job_ttl_hours * 3600,
        )
        worker.start()
    return ClusterRpcs(settings, model, gallery, far_table, jobs, worker)


def build_servicer(
    settings: EmbeddingSettings, store: ModelStore | None = None
) -> EmbeddingServicer:
    """Load the verified model and its impostor table, open the gallery; build the servicer."""
    store = store or ModelStore(settings.model_cache_dir)
    model = open_embedder(store, settings.embedding_model, settings.model_threads)
    far_table = FarTable.from_params(model.spec.params, model.name)
    gallery = open_gallery(settings, model.dimension, model_key(model))
    try:
        clusters = build_clusters(settings, model, gallery, far_table)
    except BaseException:
        gallery.close()
        raise
    return EmbeddingServicer(settings, model, gallery, far_table, clusters)


def create_app(
    settings: EmbeddingSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, EmbeddingServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    app = single_service_app(
        settings,
        SERVICE_NAME,
        lambda server: embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(servicer, server),
    )
    return app, servicer


def main() -> None:
    settings = EmbeddingSettings()
    run_service(settings, lambda: create_app(settings))


if __name__ == "__main__":
    main()
