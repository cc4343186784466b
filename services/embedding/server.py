"""Embedding service process: load and warm up SFace, open the gallery store, serve gRPC.

Run with ``python -m services.embedding.server``. At start-up the store brings its index up to
date from the database and a consistency check proves they agree; a failure is a start-up
error, never a silent rebuild on every start.
"""

from __future__ import annotations

import logging

import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc

from services.embedding.model import EMBEDDING_SIZE, SFace
from services.embedding.servicer import EmbeddingServicer
from services.embedding.settings import EmbeddingSettings
from services.embedding.store.base import GalleryStore, open_store
from services.embedding.thresholds import FarTable
from services.shared.alignment import ALIGNED_SIZE
from services.shared.model_store import ModelStore
from services.shared.runtime import LiteModel
from services.shared.server import ServiceApp, ServiceDefinition, configure_logging

log = logging.getLogger("faceflow.embedding")

SERVICE_NAME = embedding_pb2.DESCRIPTOR.services_by_name["EmbeddingService"].full_name


def open_gallery(settings: EmbeddingSettings) -> GalleryStore:
    """Open the configured gallery store and prove its index agrees with its database."""
    url = settings.resolved_store_url()
    options: dict[str, object] = {"store_images": True} if settings.store_images else {}
    if settings.store_read_url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("store_read_url needs a postgresql:// store_url (its primary)")
        options["read_url"] = settings.store_read_url
    store = open_store(url, EMBEDDING_SIZE, **options)
    try:
        store.check_consistency()
    except BaseException:
        store.close()
        raise
    log.info("gallery store open: %s", url.split("@")[-1])
    return store


def build_servicer(
    settings: EmbeddingSettings, store: ModelStore | None = None
) -> EmbeddingServicer:
    """Load the verified model and its impostor table, open the gallery; build the servicer."""
    store = store or ModelStore(settings.model_cache_dir)
    prepared = store.open(settings.embedding_model)
    far_table = FarTable.from_params(prepared.spec.params, prepared.spec.name)
    model = SFace(LiteModel(prepared.path, settings.model_threads))
    models = [common_pb2.ModelInfo(name=prepared.spec.name, version=prepared.spec.version)]
    gallery = open_gallery(settings)
    return EmbeddingServicer(settings, model, gallery, far_table, models)


def warm_up(servicer: EmbeddingServicer) -> None:
    """One pass through the model so the first real request is not slow."""
    servicer.model.embed(np.zeros((1, ALIGNED_SIZE, ALIGNED_SIZE, 3), dtype=np.uint8))


def create_app(
    settings: EmbeddingSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, EmbeddingServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    definition = ServiceDefinition(
        SERVICE_NAME,
        lambda server: embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(servicer, server),
    )
    return ServiceApp(settings, [definition]), servicer


def main() -> None:
    settings = EmbeddingSettings()
    configure_logging(settings.log_level)
    app, servicer = create_app(settings)
    try:
        app.serve_forever(lambda: warm_up(servicer))
    finally:
        servicer.store.close()


if __name__ == "__main__":
    main()
