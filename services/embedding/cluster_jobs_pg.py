"""Clustering jobs in PostgreSQL (schema ``faceflow_clusters``): every replica sees every job.

Used when the gallery store is ``postgresql://``. The rules live in ``ClusterJobStore``
(``cluster_jobs.py``); this is the database adapter: the versioned schema (``migrate``), a
pooled connection per transaction, ``FOR UPDATE`` row locks for writers and ``SKIP LOCKED``
so two replicas' workers never claim the same job, and a repeatable-read snapshot for pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg

from services.embedding.cluster_jobs import ClusterJobStore, Cursor, Session
from services.shared.postgres import ConnectionPool, migrate

SCHEMA = "faceflow_clusters"

MIGRATIONS = (
    # 1: jobs, their faces and their clusters
    """
    CREATE TABLE {schema}.cluster_jobs (
        job_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        status TEXT NOT NULL,
        far DOUBLE PRECISION NOT NULL,
        link_similarity DOUBLE PRECISION NOT NULL,
        min_cluster_size INTEGER NOT NULL,
        model TEXT NOT NULL,
        face_count INTEGER NOT NULL,
        clustered_count INTEGER NOT NULL,
        cluster_count INTEGER NOT NULL,
        unassigned_count INTEGER NOT NULL,
        progress DOUBLE PRECISION NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        claimed_by TEXT,
        heartbeat_at DOUBLE PRECISION
    );
    CREATE INDEX cluster_jobs_by_status ON {schema}.cluster_jobs (status, updated_at);
    CREATE TABLE {schema}.cluster_faces (
        job_id TEXT NOT NULL,
        face_id INTEGER NOT NULL,
        photo TEXT NOT NULL,
        face_index INTEGER NOT NULL,
        box_x REAL NOT NULL,
        box_y REAL NOT NULL,
        box_width REAL NOT NULL,
        box_height REAL NOT NULL,
        group_id TEXT NOT NULL,
        face_token TEXT NOT NULL,
        embedding BYTEA NOT NULL,
        label INTEGER,
        PRIMARY KEY (job_id, face_id)
    );
    CREATE INDEX cluster_faces_by_label ON {schema}.cluster_faces (job_id, label, face_id);
    CREATE TABLE {schema}.cluster_requests (
        tenant TEXT NOT NULL,
        request_key TEXT NOT NULL,
        job_id TEXT NOT NULL,
        first_face_id INTEGER NOT NULL,
        face_count INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (tenant, request_key)
    );
    CREATE INDEX cluster_requests_by_job ON {schema}.cluster_requests (job_id);
    CREATE TABLE {schema}.cluster_clusters (
        job_id TEXT NOT NULL,
        cluster_id INTEGER NOT NULL,
        size INTEGER NOT NULL,
        representative INTEGER NOT NULL,
        PRIMARY KEY (job_id, cluster_id)
    );
    """,
    # 2: the per-tenant job count of each create (max_jobs)
    "CREATE INDEX cluster_jobs_by_tenant ON {schema}.cluster_jobs (tenant);",
)


class PostgresSession:
    """A ``Session`` on one psycopg connection inside a transaction (``?`` -> ``%s``)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.connection.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)


class PostgresJobDatabase:
    """The job tables in one PostgreSQL schema, reached through a connection pool."""

    lock_rows = " FOR UPDATE"
    skip_locked = " SKIP LOCKED"

    def lock_key(self, db: Session, key: str) -> None:
        """A transaction-scoped advisory lock on the key's hash."""
        db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"cluster-request:{key}",))

    def __init__(self, pool: ConnectionPool, schema: str = SCHEMA) -> None:
        self.pool = pool
        self.schema = f"{schema}."
        migrate(pool, schema, MIGRATIONS)

    @contextmanager
    def _transaction(self, isolation: str) -> Iterator[Session]:
        with self.pool.connection() as connection, connection.transaction():
            connection.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
            yield PostgresSession(connection)

    def transaction(self) -> AbstractContextManager[Session]:
        return self._transaction("READ COMMITTED")

    def snapshot(self) -> AbstractContextManager[Session]:
        return self._transaction("REPEATABLE READ READ ONLY")

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()


def open_postgres_jobs(url: str, pool_size: int, schema: str = SCHEMA) -> ClusterJobStore:
    """Jobs in PostgreSQL at ``url`` (the schema is created or migrated first)."""
    pool = ConnectionPool(url, size=pool_size)
    try:
        return ClusterJobStore(PostgresJobDatabase(pool, schema))
    except BaseException:
        pool.close()
        raise
