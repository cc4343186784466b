"""Liveness service process: load and warm up the models, open the session store, serve gRPC.

Run with ``python -m services.liveness.server``. The detector and mesh are the detection
service's models, built from the shared model zoo in this process (not gRPC calls to the
detection service): a verification runs them on up to 100 frames, and an in-process call
avoids shipping every frame across the network a second time.
"""

from __future__ import annotations

from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc

from services.liveness.passive import PassiveLiveness
from services.liveness.servicer import LivenessServicer
from services.liveness.sessions import Sessions, SessionStore
from services.liveness.sessions_pg import PostgresSessionStore
from services.liveness.settings import LivenessSettings
from services.liveness.tracking import FaceTracker
from services.shared.model_store import ModelStore
from services.shared.model_zoo import FaceMesh, MiniFASNet, SFace, YuNetDetector
from services.shared.postgres import ConnectionPool
from services.shared.server import ServiceApp, run_service, single_service_app

SERVICE_NAME = liveness_pb2.DESCRIPTOR.services_by_name["LivenessService"].full_name


def open_sessions(settings: LivenessSettings) -> Sessions:
    """PostgreSQL when a database URL is set (replicas share it), else the local SQLite file."""
    if settings.database_url:
        return PostgresSessionStore(
            ConnectionPool(settings.database_url, size=settings.max_workers)
        )
    return SessionStore(settings.sessions_db)


def build_servicer(settings: LivenessSettings, store: ModelStore | None = None) -> LivenessServicer:
    """Load (verified) models, open the session store, build the servicer."""
    store = store or ModelStore(settings.model_cache_dir)
    threads = settings.model_threads
    tracker = FaceTracker(
        YuNetDetector.from_store(store, settings.detector_model, threads),
        FaceMesh.from_store(store, settings.mesh_model, threads),
        SFace.from_store(store, settings.embedding_model, threads),
        settings.second_face_area_ratio,
    )
    passive = PassiveLiveness(
        [MiniFASNet.from_store(store, name, threads) for name in settings.passive_models]
    )
    return LivenessServicer(settings, tracker, passive, open_sessions(settings))


def create_app(
    settings: LivenessSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, LivenessServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    app = single_service_app(
        settings,
        SERVICE_NAME,
        lambda server: liveness_pb2_grpc.add_LivenessServiceServicer_to_server(servicer, server),
    )
    return app, servicer


def main() -> None:
    settings = LivenessSettings()
    run_service(settings, lambda: create_app(settings))


if __name__ == "__main__":
    main()
