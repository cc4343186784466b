"""Attributes service process: load and warm up the models, then serve gRPC.

Run with ``python -m services.attributes.server``.
"""

from __future__ import annotations

from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc

from services.attributes.age_gender import build_age_gender
from services.attributes.servicer import AttributesServicer
from services.attributes.settings import AttributesSettings
from services.shared.model_store import ModelStore
from services.shared.model_zoo import EmotionModel
from services.shared.server import ServiceApp, run_service, single_service_app

SERVICE_NAME = attributes_pb2.DESCRIPTOR.services_by_name["AttributesService"].full_name


def build_servicer(
    settings: AttributesSettings, store: ModelStore | None = None
) -> AttributesServicer:
    """Load (verified) models and build the servicer; raises ModelUnavailableError."""
    store = store or ModelStore(settings.model_cache_dir)
    return AttributesServicer(
        settings,
        build_age_gender(settings, store),
        EmotionModel.from_store(store, settings.emotion_model, settings.model_threads),
    )


def create_app(
    settings: AttributesSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, AttributesServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    app = single_service_app(
        settings,
        SERVICE_NAME,
        lambda server: attributes_pb2_grpc.add_AttributesServiceServicer_to_server(
            servicer, server
        ),
    )
    return app, servicer


def main() -> None:
    settings = AttributesSettings()
    run_service(settings, lambda: create_app(settings))


if __name__ == "__main__":
    main()
