"""PostgreSQL + pgvector specifics: filtered HNSW search and the index check."""

from __future__ import annotations

import psycopg
import pytest

from services.embedding.store import StoreInconsistentError
from services.embedding.store.base import open_store
from services.embedding.store.errors import DimensionMismatchError
from services.embedding.store.pgvector import PgvectorStore
from tests.services.embedding.store.conftest import StoreFactory, postgres_url
from tests.services.embedding.store.synthetic import FaceMaker

pytestmark = pytest.mark.parametrize("make_store", ["pgvector"], indirect=True)


def open_pg(make_store: StoreFactory) -> PgvectorStore:
    store = make_store()
    assert isinstance(store, PgvectorStore)
    return store


def test_search_is_scoped_to_groups_inside_a_large_table(
    make_store: StoreFactory, faces: FaceMaker
) -> None:
    store = open_pg(make_store)
    store.create_group("t", "big")
    store.create_group("t", "small")
    big = faces.unit_vectors(800, 1)
    for index, vector in enumerate(big):
        store.add_face("t", "big", f"u{index}", vector, faces.sha(("big", index)))
    small = faces.unit_vectors(5, 2)
    for index, vector in enumerate(small):
        store.add_face("t", "small", f"s{index}", vector, faces.sha(("small", index)))
    with psycopg.connect(store.url, autocommit=True) as connection:
        connection.execute(f"ANALYZE {store.schema}.faces")

    # the probe is a big-group face: the small group must still return its own 5 users
    matches = store.search("t", ["small"], big[0], 5)
    assert sorted(m.user_id for m in matches) == [f"s{i}" for i in range(5)]
    assert {m.group_id for m in matches} == {"small"}

    for index in (7, 400, 799):
        best = store.search("t", ["big"], faces.near(big[index], index), 3)[0]
        assert (best.group_id, best.user_id) == ("big", f"u{index}")
    both = store.search("t", ["big", "small"], small[3], 2)
    assert both[0].user_id == "s3"


def test_consistency_check_detects_a_missing_hnsw_index(make_store: StoreFactory) -> None:
    store = open_pg(make_store)
    store.check_consistency()
    with psycopg.connect(store.url, autocommit=True) as connection:
        connection.execute(f"DROP INDEX {store.schema}.faces_embedding_hnsw")
    with pytest.raises(StoreInconsistentError):
        store.check_consistency()


def test_reopening_with_another_dimension_is_refused(make_store: StoreFactory) -> None:
    store = open_pg(make_store)
    schema, url = store.schema, postgres_url()
    with pytest.raises(
        DimensionMismatchError, match="stores 128-d embeddings, not 256-d"
    ) as caught:
        open_store(url, 256, schema=schema)
    assert (caught.value.stored, caught.value.served) == (128, 256)
    open_store(url, 128, schema=schema).close()  # the right embedder still opens it
