"""Detection service process: load and warm up the models, then serve gRPC.

Run with ``python -m services.detection.server``.
"""

from __future__ import annotations

import logging

import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc

from services.detection.model import FaceMesh, YuNetDetector
from services.detection.servicer import DetectionServicer
from services.detection.settings import DetectionSettings
from services.shared.model_store import ModelStore
from services.shared.runtime import LiteModel
from services.shared.server import ServiceApp, ServiceDefinition, configure_logging

log = logging.getLogger("faceflow.detection")

SERVICE_NAME = detection_pb2.DESCRIPTOR.services_by_name["DetectionService"].full_name


def build_servicer(
    settings: DetectionSettings, store: ModelStore | None = None
) -> DetectionServicer:
    """Load (verified) models and build the servicer; raises ModelUnavailableError."""
    store = store or ModelStore(settings.model_cache_dir)
    detector_file = store.open(settings.detector_model)
    mesh_file = store.open(settings.mesh_model)
    params = detector_file.spec.params
    detector = YuNetDetector(
        LiteModel(detector_file.path, settings.model_threads),
        score_threshold=float(params["score_threshold"]),
        nms_threshold=float(params["nms_threshold"]),
    )
    mesh = FaceMesh(LiteModel(mesh_file.path, settings.model_threads))
    models = [
        common_pb2.ModelInfo(name=f.spec.name, version=f.spec.version)
        for f in (detector_file, mesh_file)
    ]
    return DetectionServicer(settings, detector, mesh, models)


def warm_up(servicer: DetectionServicer) -> None:
    """One pass through each model so the first real request is not slow."""
    blank = np.zeros((480, 640, 3), dtype=np.uint8)
    servicer.detector.detect(blank)


def create_app(
    settings: DetectionSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, DetectionServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    definition = ServiceDefinition(
        SERVICE_NAME,
        lambda server: detection_pb2_grpc.add_DetectionServiceServicer_to_server(servicer, server),
    )
    return ServiceApp(settings, [definition]), servicer


def main() -> None:
    settings = DetectionSettings()
    configure_logging(settings.log_level)
    app, servicer = create_app(settings)
    app.serve_forever(lambda: warm_up(servicer))


if __name__ == "__main__":
    main()
