"""Search from a read replica: a real streaming replica of the test PostgreSQL (started by
``scripts/test_services.sh --replica``) answers searches and user counts; writes go to the
primary, and a face enrolled there becomes searchable on the replica after the replication lag."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pg_errors

from services.embedding.store.pgvector import PgvectorStore
from tests.services.embedding.store.conftest import postgres_url
from tests.services.embedding.store.synthetic import DIMENSION, FaceMaker

ROOT = Path(__file__).resolve().parents[4]
LAG_BUDGET_SECONDS = 10.0


@pytest.fixture(scope="module")
def replica_url() -> str:
    postgres_url()  # skips (or fails in CI) without the primary
    started = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test_services.sh"), "--replica"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return started.stdout.strip().splitlines()[-1]


@pytest.fixture
def store(replica_url: str) -> Iterator[PgvectorStore]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    opened = PgvectorStore(postgres_url(), DIMENSION, schema=schema, read_url=replica_url)
    yield opened
    opened.close()
    with psycopg.connect(postgres_url(), autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def eventually(check: Callable[[], bool]) -> float:
    """Seconds until ``check`` holds (fails past the lag budget)."""
    started = time.perf_counter()
    while not check():
        assert time.perf_counter() - started < LAG_BUDGET_SECONDS, "the replica did not catch up"
        time.sleep(0.05)
    return time.perf_counter() - started


def test_the_replica_is_a_read_only_hot_standby(replica_url: str) -> None:
    with psycopg.connect(replica_url, autocommit=True) as connection:
        row = connection.execute("SELECT pg_is_in_recovery()").fetchone()
        assert row is not None and row[0] is True
        with pytest.raises(pg_errors.ReadOnlySqlTransaction):
            connection.execute("CREATE TABLE nope (id int)")


def test_searches_read_the_replica_and_writes_reach_it(
    store: PgvectorStore, faces: FaceMaker
) -> None:
    vectors = faces.unit_vectors(3, 7)
    eventually(lambda: _schema_visible(store))  # the DDL replicates too
    store.create_group("t", "g")
    for index, vector in enumerate(vectors):
        store.add_face("t", "g", f"u{index}", vector, faces.sha(("g", index)))
    eventually(lambda: _count(store) == 3)
    for index, vector in enumerate(vectors):
        user = f"u{index}"
        eventually(partial(_is_top_user, store, vector, user))
    store.delete_user("t", "g", "u1")
    eventually(lambda: _top_user(store, vectors[1]) != "u1")
    assert store.count_users("t", ["g"]) == 2


def _is_top_user(store: PgvectorStore, vector: object, user: str) -> bool:
    return _top_user(store, vector) == user


def _top_user(store: PgvectorStore, vector: object) -> str | None:
    try:
        matches = store.search("t", ["g"], vector, 1)  # type: ignore[arg-type]
    except Exception:  # the group itself may not have replicated yet
        return None
    return matches[0].user_id if matches else None


def _count(store: PgvectorStore) -> int:
    try:
        return store.count_users("t", ["g"])
    except Exception:  # not replicated yet
        return -1


def _schema_visible(store: PgvectorStore) -> bool:
    with store._read_pool.connection() as db:
        row = db.execute("SELECT to_regclass(%s)", (f"{store.schema}.faces",)).fetchone()
    return row is not None and row[0] is not None
