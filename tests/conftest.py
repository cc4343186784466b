"""Shared fixtures: real in-process gRPC servers on port 0, the gateway, test photos."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.shared.model_store import ModelStore
from tests.helpers.serving import serving

SHARED_DATA = Path(
    os.environ.get("FACEFLOW_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def model_store() -> ModelStore:
    """The prepared model cache (``make models``)."""
    return ModelStore()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip when this checkout has none."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (real evaluation photos live there)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def detection_address(model_store: ModelStore) -> Iterator[str]:
    """A real detection gRPC server on a free port."""
    from services.detection.server import create_app
    from services.detection.settings import DetectionSettings

    app, _ = create_app(DetectionSettings(port=0, max_workers=4), model_store)
    with serving(app) as address:
        yield address


@pytest.fixture(scope="session")
def embedding_address(
    model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real embedding gRPC server on a free port, its gallery and clustering jobs in a
    temporary folder."""
    from services.embedding.server import create_app
    from services.embedding.settings import EmbeddingSettings

    folder = tmp_path_factory.mktemp("gallery")
    settings = EmbeddingSettings(
        port=0, max_workers=8, store_url=f"sqlite:///{folder}", data_dir=folder.parent / "data"
    )
    with serving(*create_app(settings, model_store)) as address:
        yield address


@pytest.fixture(scope="session")
def attributes_address(model_store: ModelStore) -> Iterator[str]:
    """A real attributes gRPC server on a free port."""
    from services.attributes.server import create_app
    from services.attributes.settings import AttributesSettings

    app, _ = create_app(AttributesSettings(port=0, max_workers=4), model_store)
    with serving(app) as address:
        yield address
