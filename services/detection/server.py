"""Detection service process: load and warm up the models, then serve gRPC.

Run with ``python -m services.detection.server``.
"""

from __future__ import annotations

from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc

from services.detection.servicer import DetectionServicer
from services.detection.settings import DetectionSettings
from services.shared.model_store import ModelStore
from services.shared.model_zoo import FaceMesh, YuNetDetector
from services.shared.server import ServiceApp, run_service, single_service_app

SERVICE_NAME = detection_pb2.DESCRIPTOR.services_by_name["DetectionService"].full_name


def build_servicer(
    settings: DetectionSettings, store: ModelStore | None = None
) -> DetectionServicer:
    """Load (verified) models and build the servicer; raises ModelUnavailableError."""
    store = store or ModelStore(settings.model_cache_dir)
    threads = settings.model_threads
    return DetectionServicer(
        settings,
        YuNetDetector.from_store(store, settings.detector_model, threads),
        FaceMesh.from_store(store, settings.mesh_model, threads),
    )


def create_app(
    settings: DetectionSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, DetectionServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    app = single_service_app(
        settings,
        SERVICE_NAME,
        lambda server: detection_pb2_grpc.add_DetectionServiceServicer_to_server(servicer, server),
    )
    return app, servicer


def main() -> None:
    settings = DetectionSettings()
    run_service(settings, lambda: create_app(settings))


if __name__ == "__main__":
    main()
