"""PostgreSQL for the state that replicas share: a small connection pool and versioned schemas.

The gallery (``services/embedding/store/pgvector.py``), the gateway's tenants, API keys and rate
limits (``gateway/core/tenants_pg.py``, ``gateway/core/ratelimit.py``) and liveness's sessions
(``services/liveness/sessions.py``) use it when their database URL is set; SQLite stays the
embedded default. ``migrate`` creates a component's schema and brings it up to the newest
version under an advisory lock, so replicas starting together apply each step once.
"""

from __future__ import annotations

import logging
import queue
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from services.shared.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConnectionPool:
    """A fixed number of autocommit connections, one per caller at a time (thread-safe)."""

    def __init__(self, url: str, size: int = 4, connect_timeout: float = 10.0) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one connection")
        self.url = url
        self._connect_timeout = connect_timeout
        self._idle: queue.Queue[psycopg.Connection[Any]] = queue.Queue()
        self._all: list[psycopg.Connection[Any]] = []
        for _ in range(size):
            connection = self._connect()
            self._all.append(connection)
            self._idle.put(connection)

    def _connect(self) -> psycopg.Connection[Any]:
        # A database host that vanishes without a reset (a node lost, a partition) fails the
        # call waiting on it in about 25 s, not the kernel's many minutes: keepalives while the
        # connection is idle, tcp_user_timeout while a query's bytes wait to be acknowledged
        return psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=int(self._connect_timeout),
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=25_000,
        )

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for the duration of the block (a broken one is replaced first).

        While the database cannot be reached (a restart, a fail-over), the block's
        ``OperationalError`` and a failed reconnect are ``DatabaseUnavailableError``
        (UNAVAILABLE, 503: retry later); the slot keeps its broken connection and the next
        caller tries to reconnect again, so the pool recovers when the database is back.
        """
        if not self._all:
            raise RuntimeError("the connection pool is closed")
        connection = self._idle.get()
        try:
            if connection.closed or connection.broken:
                connection = self._reconnect(connection)
            try:
                yield connection
            except psycopg.OperationalError as error:
                raise _unavailable(error) from error
        finally:
            self._idle.put(connection)

    def _reconnect(self, broken: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
        """A new connection in ``broken``'s slot; DatabaseUnavailableError (the slot keeps
        ``broken``) when the database cannot be reached."""
        log.warning("replacing a broken PostgreSQL connection")
        try:
            connection = self._connect()
        except psycopg.OperationalError as error:
            raise _unavailable(error) from error
        self._all[self._all.index(broken)] = connection
        broken.close()
        return connection

    def close(self) -> None:
        """Close every connection."""
        for connection in self._all:
            connection.close()
        self._all.clear()


def _unavailable(error: psycopg.OperationalError) -> DatabaseUnavailableError:
    log.error("PostgreSQL is unavailable: %s", error)
    return DatabaseUnavailableError("the database is unavailable right now; retry later")


def migrate(pool: ConnectionPool, schema: str, steps: Sequence[str]) -> int:
    """Create ``schema`` and apply the ``steps`` it has not had yet; returns its version.

    ``steps[i]`` is the SQL of version ``i + 1`` (``{schema}`` is replaced by the schema name).
    Steps are only ever appended: a released step never changes.
    """
    if not SCHEMA_NAME.match(schema):
        raise ValueError("schema must be a lowercase SQL identifier")
    with pool.connection() as db, db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"migrate:{schema}",))
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_version"
            " (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        row = db.execute(
            f"SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_version"
        ).fetchone()
        current = int(row[0]) if row else 0
        if current > len(steps):
            raise RuntimeError(
                f"schema {schema} is at version {current}, newer than this code ({len(steps)})"
            )
        for version, step in enumerate(steps[current:], start=current + 1):
            db.execute(step.format(schema=schema))
            db.execute(
                f"INSERT INTO {schema}.schema_version (version, applied_at) VALUES (%s, %s)",
                (version, time.time()),
            )
            log.info("schema %s migrated to version %d", schema, version)
    return len(steps)
