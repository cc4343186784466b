"""Liveness service process: load and warm up the models, open the session store, serve gRPC.

Run with ``python -m services.liveness.server``. The detector and mesh are the detection
service's model classes loaded in this process through the model store (not gRPC calls to the
detection service): a verification runs them on up to 100 frames, and an in-process call
avoids shipping every frame across the network a second time.
"""

from __future__ import annotations

import logging

import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc

from services.detection.model import FaceMesh, YuNetDetector
from services.embedding.model import SFace
from services.liveness.model import MiniFASNet, PassiveLiveness
from services.liveness.servicer import LivenessServicer
from services.liveness.sessions import Sessions, SessionStore
from services.liveness.sessions_pg import PostgresSessionStore
from services.liveness.settings import LivenessSettings
from services.liveness.tracking import FaceTracker
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.postgres import ConnectionPool
from services.shared.runtime import LiteModel
from services.shared.server import ServiceApp, ServiceDefinition, configure_logging

log = logging.getLogger("faceflow.liveness")

SERVICE_NAME = liveness_pb2.DESCRIPTOR.services_by_name["LivenessService"].full_name


def build_servicer(settings: LivenessSettings, store: ModelStore | None = None) -> LivenessServicer:
    """Load (verified) models, open the session store, build the servicer."""
    store = store or ModelStore(settings.model_cache_dir)
    threads = settings.model_threads
    detector_file = store.open(settings.detector_model)
    params = detector_file.spec.params
    detector = YuNetDetector(
        LiteModel(detector_file.path, threads),
        score_threshold=float(params["score_threshold"]),
        nms_threshold=float(params["nms_threshold"]),
    )
    mesh_file = store.open(settings.mesh_model)
    embedding_file = store.open(settings.embedding_model)
    passive_files = [store.open(name) for name in settings.passive_models]
    passive_models = []
    for prepared in passive_files:
        if "crop_scale" not in prepared.spec.params:
            raise ModelUnavailableError(f"models/{prepared.spec.name}.toml lacks params.crop_scale")
        passive_models.append(
            MiniFASNet(LiteModel(prepared.path, threads), float(prepared.spec.params["crop_scale"]))
        )
    tracker = FaceTracker(
        detector,
        FaceMesh(LiteModel(mesh_file.path, threads)),
        SFace(LiteModel(embedding_file.path, threads)),
        settings.second_face_area_ratio,
    )
    models = {
        f.spec.name: common_pb2.ModelInfo(name=f.spec.name, version=f.spec.version)
        for f in (detector_file, mesh_file, embedding_file, *passive_files)
    }
    sessions: Sessions = (
        PostgresSessionStore(ConnectionPool(settings.database_url, size=settings.max_workers))
        if settings.database_url
        else SessionStore(settings.sessions_db)
    )
    return LivenessServicer(settings, tracker, PassiveLiveness(passive_models), sessions, models)


def warm_up(servicer: LivenessServicer) -> None:
    """One pass through each model so the first real request is not slow."""
    blank = np.zeros((480, 640, 3), dtype=np.uint8)
    servicer.tracker.detector.detect(blank)
    servicer.passive.check(blank, np.array([270.0, 190.0, 100.0, 100.0]))
    servicer.tracker.embedder.embed(np.zeros((112, 112, 3), dtype=np.uint8))


def create_app(
    settings: LivenessSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, LivenessServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    definition = ServiceDefinition(
        SERVICE_NAME,
        lambda server: liveness_pb2_grpc.add_LivenessServiceServicer_to_server(servicer, server),
    )
    return ServiceApp(settings, [definition]), servicer


def main() -> None:
    settings = LivenessSettings()
    configure_logging(settings.log_level)
    app, servicer = create_app(settings)
    app.serve_forever(lambda: warm_up(servicer))


if __name__ == "__main__":
    main()
