"""The embedding service serving the SFace + dlib fusion (``sface_dlib``) over real gRPC.

One setting switches the embedder: Embed answers 256-d unit vectors and names the fusion, the
impostor table is the fusion's own (its thresholds lie above SFace's cosines, as fused
impostor scores do), enrol / search / verify work unchanged on the fused vectors, and a gallery
enrolled with another embedder is refused at start-up instead of being searched with vectors
of another kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc

from services.embedding.server import create_app
from services.embedding.settings import EmbeddingSettings
from services.shared.model_store import ModelStore
from tests.services.embedding.test_embedding_service import add_face, aligned, crop

FUSION = "sface_dlib"


def settings_for(folder: Path, model: str) -> EmbeddingSettings:
    return EmbeddingSettings(
        port=0,
        max_workers=4,
        embedding_model=model,
        store_url=f"sqlite:///{folder / 'gallery'}",
        data_dir=folder / "data",
        cluster_worker=False,
    )


@pytest.fixture(scope="module")
def fused_stub(
    model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[embedding_pb2_grpc.EmbeddingServiceStub]:
    app, servicer = create_app(settings_for(tmp_path_factory.mktemp("fused"), FUSION), model_store)
    port = app.start(0)
    app.mark_serving()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield embedding_pb2_grpc.EmbeddingServiceStub(channel)
    app.stop(grace=1.0)
    servicer.close()


def test_embed_gives_fused_vectors(fused_stub: embedding_pb2_grpc.EmbeddingServiceStub) -> None:
    reply = fused_stub.Embed(
        embedding_pb2.EmbedRequest(tenant="t", crops=[aligned(crop()), aligned(crop(3))])
    )
    vectors = np.array([e.values for e in reply.embeddings])
    assert vectors.shape == (2, 256)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert [(m.name, m.version) for m in reply.models] == [(FUSION, "1")]


def test_enrol_search_and_verify_on_fused_vectors(
    fused_stub: embedding_pb2_grpc.EmbeddingServiceStub, model_store: ModelStore
) -> None:
    fused_stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant="t", group_id="g"))
    add_face(fused_stub, "t", "g", "astronaut", crop())
    probe = embedding_pb2.Probe(crop=aligned(crop(5)))
    found = fused_stub.Search(
        embedding_pb2.SearchRequest(tenant="t", probes=[probe], group_ids=["g"], top_k=1)
    )
    assert [m.user_id for m in found.results[0].matches] == ["astronaut"]
    assert found.gallery_size == 1 and found.fpir == pytest.approx(1e-3)
    verdict = fused_stub.Verify(
        embedding_pb2.VerifyRequest(
            tenant="t",
            a=probe,
            b=embedding_pb2.Probe(user=embedding_pb2.UserRef(group_id="g", user_id="astronaut")),
        )
    )
    assert verdict.same_person
    sface_table = model_store.spec("sface").params["far_table_similarity"]
    fused_table = model_store.spec(FUSION).params["far_table_similarity"]
    # the fusion's own table: its FAR 1e-4 cosine is far above SFace's
    assert verdict.thresholds.far_1e4 / 100 > max(sface_table[30], 0.5)
    assert fused_table != sface_table


def test_a_gallery_of_another_embedder_is_refused_at_start_up(
    model_store: ModelStore, tmp_path: Path
) -> None:
    app, servicer = create_app(settings_for(tmp_path, "sface"), model_store)
    stub_port = app.start(0)
    with grpc.insecure_channel(f"127.0.0.1:{stub_port}") as channel:
        stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
        stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant="t", group_id="g"))
        add_face(stub, "t", "g", "u", crop())
    app.stop(grace=1.0)
    servicer.close()
    with pytest.raises(ValueError, match="stores 128-d embeddings, not 256-d: this gallery was"):
        create_app(settings_for(tmp_path, FUSION), model_store)


def test_a_gallery_of_another_embedder_of_the_same_size_is_refused(
    model_store: ModelStore, tmp_path: Path
) -> None:
    servicer = create_app(settings_for(tmp_path, FUSION), model_store)[1]
    servicer.close()
    refused = "holds sface_dlib:1 embeddings, not sface_facenet:1: this gallery was filled"
    with pytest.raises(ValueError, match=refused):
        create_app(settings_for(tmp_path, "sface_facenet"), model_store)
    create_app(settings_for(tmp_path, FUSION), model_store)[1].close()  # its own embedder opens
