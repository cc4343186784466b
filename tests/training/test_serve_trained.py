"""A freshly trained embedding model, exported, served by the real embedding gRPC service
selected only by configuration (settings field + extra manifest folder)."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc

from tests.training.datagen import write_folder
from training.checkpoints import load_checkpoint
from training.data.folders import load_images, scan_image_folder
from training.embedder import embed, embedder_of
from training.export import export_model
from training.recipes.embedding import EmbeddingConfig, train


def test_trained_embedder_served_by_the_embedding_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.embedding.server import create_app
    from services.embedding.settings import EmbeddingSettings

    data = write_folder(tmp_path / "people", 3, 4, 112, seed=5)
    run = tmp_path / "run"
    result = train(
        EmbeddingConfig(
            data_dir=data,
            run_dir=run,
            loss="cosface",
            input_size=112,
            embedding_size=128,
            width=0.125,
            epochs=2,
            batch_size=6,
            learning_rate=3e-3,
            progress=False,
        )
    )
    assert result["history"][-1]["loss"] < result["history"][0]["loss"]
    embedder = embedder_of(load_checkpoint(run / "checkpoints" / "last.keras"))
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    export_model(
        embedder,
        tmp_path / "fresh.tflite",
        "fresh-cosface",
        "1",
        "embedding",
        "test model",
        {"shape": [1, 112, 112, 3], "range": "0-255", "color": "RGB"},
        params={  # this set is too small to measure a table (see test_thresholds)
            "far_table_far": [1e-3, 1e-4, 1e-5],
            "far_table_similarity": [0.5, 0.6, 0.7],
            "far_table_impostor_pairs": 100_000,
        },
        manifest_dir=manifests,
        cache_dir=cache,
        output_name="embedding",
    )
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    monkeypatch.setenv("FACEFLOW_EMBEDDING_EMBEDDING_MODEL", "fresh-cosface")
    settings = EmbeddingSettings(  # type: ignore[call-arg]
        port=0,
        model_cache_dir=cache,
        store_url=f"sqlite:///{tmp_path / 'gallery'}",
        data_dir=tmp_path,
    )
    assert settings.embedding_model == "fresh-cosface"
    app, servicer = create_app(settings)
    port = app.start(0)
    app.mark_serving()
    try:
        images = load_images(scan_image_folder(data).paths[:2])
        crops = [common_pb2.AlignedCrop(size=112, rgb=image.tobytes()) for image in images]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
            response = stub.Embed(embedding_pb2.EmbedRequest(tenant="t", crops=crops), timeout=30)
        assert [m.name for m in response.models] == ["fresh-cosface"]
        served = np.array([e.values for e in response.embeddings], dtype=np.float32)
        np.testing.assert_allclose(served, embed(embedder, images), atol=1e-4)
    finally:
        app.stop(grace=1.0)
        servicer.close()
