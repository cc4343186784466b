"""Reads of a user's faces on both backends, and how the EmbeddingService uses them: verify
against a stored user reads tokens and vectors together, and a search's FPIR counts only
users that still have a face."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2

from services.embedding.servicer import EmbeddingServicer
from services.embedding.settings import EmbeddingSettings
from services.embedding.store import GalleryStore
from services.embedding.store.errors import UserNotFoundError
from services.embedding.thresholds import FarTable
from tests.services.embedding.store.synthetic import DIMENSION, FaceMaker

# A synthetic table: cosine rises by 0.05 per decade of FAR, from 0.2 at 1e-1 to 0.55 at 1e-8.
TABLE = FarTable(
    tuple(10.0**-k for k in range(1, 9)),
    tuple(round(0.15 + 0.05 * k, 2) for k in range(1, 9)),
    300_000_000,
)


def servicer(store: Any) -> EmbeddingServicer:
    """The service over ``store``, with a stand-in model (these tests embed nothing)."""
    model = SimpleNamespace(dimension=DIMENSION, info=common_pb2.ModelInfo(name="synthetic"))
    clusters = SimpleNamespace(close=lambda: None)
    return EmbeddingServicer(EmbeddingSettings(), model, store, TABLE, clusters)  # type: ignore[arg-type]


def enroll(store: GalleryStore, faces: FaceMaker, user: str, seed: int) -> tuple[str, Any]:
    vector = faces.unit_vectors(1, seed)[0]
    return store.add_face("t", "g", user, vector, faces.sha(seed)).face_token, vector


def test_user_face_embeddings_pairs_each_token_with_its_vector(
    store: GalleryStore, faces: FaceMaker
) -> None:
    store.create_group("t", "g")
    enrolled = dict(enroll(store, faces, "ann", seed) for seed in range(3))
    enroll(store, faces, "bob", 10)
    first = next(iter(enrolled))
    store.delete_face("t", "g", "ann", first)
    del enrolled[first]
    late_token, late_vector = enroll(store, faces, "ann", 20)  # a delete + add in between
    enrolled[late_token] = late_vector
    pairs = store.user_face_embeddings("t", "g", "ann")
    assert [token for token, _ in pairs] == list(enrolled)  # oldest first
    for token, vector in pairs:
        assert vector.shape == (DIMENSION,)
        assert np.allclose(vector, enrolled[token], atol=1e-6)
    with pytest.raises(UserNotFoundError):
        store.user_face_embeddings("t", "g", "nobody")


class SplitReads:
    """A store whose user listing is stale, as a separate read could be when a delete + add
    falls between it and the vectors': ``get_user`` lists the faces before the change."""

    def __init__(self, store: GalleryStore, before: Any) -> None:
        self.store = store
        self.before = before

    def get_user(self, *args: Any) -> Any:
        return self.before

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_verify_against_a_user_names_the_face_that_matched(
    store: GalleryStore, faces: FaceMaker
) -> None:
    store.create_group("t", "g")
    old_token, _ = enroll(store, faces, "ann", 1)
    kept_token, kept_vector = enroll(store, faces, "ann", 2)
    before = store.get_user("t", "g", "ann")
    store.delete_face("t", "g", "ann", old_token)  # ann's faces change between the two reads
    new_token, new_vector = enroll(store, faces, "ann", 3)
    service = servicer(SplitReads(store, before))
    user = embedding_pb2.Probe(user=embedding_pb2.UserRef(group_id="g", user_id="ann"))
    for vector, token in ((new_vector, new_token), (kept_vector, kept_token)):
        probe = embedding_pb2.Probe(embedding=embedding_pb2.Embedding(values=vector.tolist()))
        reply = service.Verify(embedding_pb2.VerifyRequest(tenant="t", a=probe, b=user), None)
        assert reply.similarity == pytest.approx(1.0, abs=1e-5)
        assert reply.face_token == token  # never the deleted face, never a neighbour's token


def test_users_whose_last_face_was_deleted_are_no_search_candidates(
    store: GalleryStore, faces: FaceMaker
) -> None:
    store.create_group("t", "g")
    tokens = {user: enroll(store, faces, user, seed)[0] for seed, user in enumerate("abc")}
    assert store.count_users("t", ["g"]) == 3
    store.delete_face("t", "g", "b", tokens["b"])  # b's only face: b stays, with no faces
    assert store.get_user("t", "g", "b").faces == []
    assert store.count_users("t", ["g"]) == 2
    probe = embedding_pb2.Probe(
        embedding=embedding_pb2.Embedding(values=faces.unit_vectors(1, 99)[0].tolist())
    )
    reply = servicer(store).Search(
        embedding_pb2.SearchRequest(tenant="t", group_ids=["g"], probes=[probe]), None
    )
    assert reply.gallery_size == 2
