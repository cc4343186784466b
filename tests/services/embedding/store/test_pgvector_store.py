"""PostgreSQL + pgvector specifics: filtered HNSW search and the index check."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest

from services.embedding.store import StoreInconsistentError
from services.embedding.store.base import open_store
from services.embedding.store.errors import DimensionMismatchError, GroupNotFoundError
from services.embedding.store.pgvector import PgvectorStore
from tests.services.embedding.store.conftest import StoreFactory, postgres_url
from tests.services.embedding.store.synthetic import DIMENSION, FaceMaker

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


def test_enrolling_into_a_group_being_deleted_is_group_not_found(
    make_store: StoreFactory, faces: FaceMaker
) -> None:
    """An enroll that meets an uncommitted delete_group waits for it, then finds no group
    (it was a foreign-key violation, a 500, when only the insert met the deleted row)."""
    store = open_pg(make_store)
    store.create_group("t", "doomed")
    store.create_group("t", "kept")
    store.add_face("t", "kept", "u", faces.unit_vectors(1, 1)[0], faces.sha("kept"))
    vector = faces.unit_vectors(1, 0)[0]
    with psycopg.connect(store.url) as deleting, ThreadPoolExecutor(1) as pool:
        deleting.execute(
            f"DELETE FROM {store.schema}.groups WHERE tenant = 't' AND group_id = 'doomed'"
        )
        enrolling = pool.submit(store.add_face, "t", "doomed", "u", vector, faces.sha("x"))
        time.sleep(0.5)
        assert not enrolling.done()  # waiting on the deleted row
        deleting.commit()
        with pytest.raises(GroupNotFoundError):
            enrolling.result(timeout=30)
    assert [g.group_id for g in store.list_groups("t")] == ["kept"]
    assert len(store.get_user("t", "kept", "u").faces) == 1


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


def test_groups_list_byte_wise_whatever_the_collation(make_store: StoreFactory) -> None:
    store = open_pg(make_store)
    with psycopg.connect(store.url, autocommit=True) as connection:
        # a database created with a linguistic default collation (en_US.UTF-8, ICU) sorts
        # "a" < "ab" < "a-b" < "B"; give the column such a collation when the server has one
        linguistic = [
            str(row[0])
            for row in connection.execute(
                "SELECT collname FROM pg_collation WHERE collname IN"
                " ('und-x-icu', 'en-x-icu', 'unicode', 'en_US.utf8', 'en_US')"
            )
        ]
        for collation in linguistic:
            try:
                connection.execute(
                    f"ALTER TABLE {store.schema}.groups"
                    f' ALTER COLUMN group_id TYPE TEXT COLLATE "{collation}"'
                )
                break
            except psycopg.Error:
                continue
        else:
            pytest.skip("this PostgreSQL has no linguistic collation (built without ICU)")
    for group_id in ("ab", "a-b", "a", "B"):
        store.create_group("t", group_id)
    assert [g.group_id for g in store.list_groups("t")] == ["B", "a", "a-b", "ab"]


@pytest.mark.usefixtures("make_store")  # the module's backend; this test opens its own
def test_a_group_gets_all_its_nearest_faces_when_the_hnsw_scan_gives_up(faces: FaceMaker) -> None:
    # pgvector's iterative scan stops after hnsw.max_scan_tuples index tuples (20,000 by
    # default): a group far from the probe inside a larger table may get fewer rows than asked
    # though it has more. Scaled down here: the limit is 50 for the store's sessions, ef_search
    # 10, and sorts are priced out so the planner takes the HNSW index as it does on a large
    # table (on 420 rows it would sort the group's rows, found through group_pk).
    base = postgres_url()
    options = "options=-c%20hnsw.max_scan_tuples%3D50%20-c%20enable_sort%3Doff"
    url = f"{base}{'&' if '?' in base else '?'}{options}"
    schema = f"test_{uuid.uuid4().hex[:12]}"
    store = PgvectorStore(url, DIMENSION, schema=schema, hnsw_ef_search=10)
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("SELECT NULL::vector")  # loads pgvector, which owns hnsw.*
            setting = connection.execute("SHOW hnsw.max_scan_tuples").fetchone()
            assert setting is not None and setting[0] == "50"
        store.create_group("t", "crowd")
        store.create_group("t", "small")
        centre = faces.unit_vectors(1, 1)[0]
        for index in range(400):  # the probe's neighbourhood: all of the first index tuples
            vector = faces.near(centre, index, noise=0.8)
            store.add_face("t", "crowd", f"c{index}", vector, faces.sha(("crowd", index)))
        small = faces.unit_vectors(20, 2)  # other people: far from the probe
        for index, vector in enumerate(small):
            store.add_face("t", "small", f"s{index}", vector, faces.sha(("small", index)))
        ranked = [f"s{i}" for i in np.argsort(-(small @ centre))]

        assert [m.user_id for m in store.search("t", ["small"], centre, 5)] == ranked[:5]
        assert [m.user_id for m in store.search("t", ["small"], centre, 20)] == ranked
        both = store.search("t", ["small", "crowd"], small[7], 3)
        assert both[0].user_id == "s7"
    finally:
        store.close()
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
