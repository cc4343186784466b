"""Attributes service process: load and warm up the models, then serve gRPC.

Run with ``python -m services.attributes.server``.
"""

from __future__ import annotations

import logging

import numpy as np
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2

from services.attributes.model import AgeModel, EmotionModel, GenderModel
from services.attributes.servicer import AttributesServicer
from services.attributes.settings import AttributesSettings
from services.shared.model_store import ModelStore
from services.shared.runtime import LiteModel
from services.shared.server import ServiceApp, ServiceDefinition, configure_logging

log = logging.getLogger("faceflow.attributes")

SERVICE_NAME = attributes_pb2.DESCRIPTOR.services_by_name["AttributesService"].full_name
Attribute = attributes_pb2.Attribute


def build_servicer(
    settings: AttributesSettings, store: ModelStore | None = None
) -> AttributesServicer:
    """Load (verified) models and build the servicer; raises ModelUnavailableError."""
    store = store or ModelStore(settings.model_cache_dir)
    age_file = store.open(settings.age_model)
    gender_file = store.open(settings.gender_model)
    emotion_file = store.open(settings.emotion_model)
    threads = settings.model_threads
    models: dict[int, common_pb2.ModelInfo] = {
        int(attribute): common_pb2.ModelInfo(name=f.spec.name, version=f.spec.version)
        for attribute, f in (
            (Attribute.ATTRIBUTE_AGE, age_file),
            (Attribute.ATTRIBUTE_GENDER, gender_file),
            (Attribute.ATTRIBUTE_EMOTION, emotion_file),
        )
    }
    return AttributesServicer(
        settings,
        AgeModel(LiteModel(age_file.path, threads)),
        GenderModel(LiteModel(gender_file.path, threads)),
        EmotionModel(LiteModel(emotion_file.path, threads)),
        models,
    )


def warm_up(servicer: AttributesServicer) -> None:
    """One pass through each model so the first real request is not slow."""
    servicer.age.probabilities(np.zeros((64, 64, 3), dtype=np.uint8))
    servicer.gender.probabilities(np.zeros((32, 32, 3), dtype=np.uint8))
    servicer.emotion.probabilities(np.zeros((64, 64), dtype=np.uint8))


def create_app(
    settings: AttributesSettings, store: ModelStore | None = None
) -> tuple[ServiceApp, AttributesServicer]:
    """The server with the servicer registered (not started)."""
    servicer = build_servicer(settings, store)
    definition = ServiceDefinition(
        SERVICE_NAME,
        lambda server: attributes_pb2_grpc.add_AttributesServiceServicer_to_server(
            servicer, server
        ),
    )
    return ServiceApp(settings, [definition]), servicer


def main() -> None:
    settings = AttributesSettings()
    configure_logging(settings.log_level)
    app, servicer = create_app(settings)
    app.serve_forever(lambda: warm_up(servicer))


if __name__ == "__main__":
    main()
