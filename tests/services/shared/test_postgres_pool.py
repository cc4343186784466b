"""The PostgreSQL connection pool through a real outage: the database refuses a role's
connections and ends its sessions, then lets it in again.

Needs ``FACEFLOW_TEST_POSTGRES_URL`` (``bash scripts/test_services.sh``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import conninfo

from services.shared.errors import DatabaseUnavailableError
from services.shared.postgres import ConnectionPool
from tests.services.embedding.store.conftest import postgres_url


def end_sessions(admin: psycopg.Connection[tuple[object, ...]], role: str) -> None:
    """What a database restart does to the role's open connections."""
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
    )


@pytest.fixture
def admin() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(postgres_url(), autocommit=True) as connection:
        yield connection


@pytest.fixture
def role(admin: psycopg.Connection[tuple[object, ...]]) -> Iterator[str]:
    """A login role of its own, so that its outage touches no other test."""
    name = f"pool_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE ROLE {name} LOGIN")
    yield name
    end_sessions(admin, name)
    admin.execute(f"DROP ROLE {name}")


def test_the_pool_recovers_after_an_outage(
    admin: psycopg.Connection[tuple[object, ...]], role: str
) -> None:
    pool = ConnectionPool(conninfo.make_conninfo(postgres_url(), user=role), size=2)
    try:
        admin.execute(f"ALTER ROLE {role} NOLOGIN")  # down: no new connection either
        end_sessions(admin, role)
        for _ in range(4):  # the broken connections, then failed reconnects in both slots
            with pytest.raises(DatabaseUnavailableError), pool.connection() as db:
                db.execute("SELECT 1")
        admin.execute(f"ALTER ROLE {role} LOGIN")  # back
        for _ in range(4):  # every slot reconnects (before the fix: "not in list", then
            with pool.connection() as db:  # "the connection pool is closed")
                assert db.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()
