"""Action-challenge sessions in PostgreSQL (schema ``faceflow_liveness``), for several replicas.

The same contract as the SQLite ``SessionStore``: a session is claimed by one conditional
``UPDATE ... WHERE used_at IS NULL AND expires_at >= now`` (atomic, whichever replica gets the
verification), so two verifications of one session can never both succeed, and a session
created through one replica can be verified through any other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from services.liveness.sessions import (
    PURGE_AFTER_SECONDS,
    SessionRecord,
    claimed_record,
    new_session,
    refusal,
    stored_row,
    too_long,
)
from services.shared.postgres import ConnectionPool, migrate

SCHEMA = "faceflow_liveness"

MIGRATIONS = (
    # 1: the sessions
    """
    CREATE TABLE {schema}.sessions (
        session_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        actions TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        used_at DOUBLE PRECISION
    );
    CREATE INDEX sessions_expires_at ON {schema}.sessions (expires_at);
    """,
)

COLUMNS = "session_id, tenant_id, actions, created_at, expires_at, used_at"


class PostgresSessionStore:
    """Sessions in PostgreSQL; safe across threads, processes and machines."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        migrate(pool, SCHEMA, MIGRATIONS)

    def create(
        self, tenant_id: str, actions: Sequence[str], ttl_seconds: float, now: float | None = None
    ) -> SessionRecord:
        """Store a new session with a random URL-safe id."""
        record = new_session(tenant_id, actions, ttl_seconds, now)
        with self.pool.connection() as db, db.transaction():
            db.execute(
                f"DELETE FROM {SCHEMA}.sessions WHERE expires_at < %s",
                (record.created_at - PURGE_AFTER_SECONDS,),
            )
            db.execute(
                f"INSERT INTO {SCHEMA}.sessions ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, NULL)",
                stored_row(record),
            )
        return record

    def claim(
        self,
        tenant_id: str,
        session_id: str,
        now: float | None = None,
        span_seconds: float = 0.0,
    ) -> SessionRecord:
        """Mark the session used and return it; raise if unknown, expired or used already, or
        (INVALID_ARGUMENT, leaving it unused) if a recording ``span_seconds`` long does not fit
        in its window."""
        at = time.time() if now is None else now
        with self.pool.connection() as db:
            row = db.execute(
                f"UPDATE {SCHEMA}.sessions SET used_at = %s"
                " WHERE session_id = %s AND tenant_id = %s AND used_at IS NULL"
                " AND expires_at >= %s AND expires_at - created_at >= %s"
                f" RETURNING {COLUMNS}",
                (at, session_id, tenant_id, at, span_seconds),
            ).fetchone()
            if row is None:
                found = db.execute(
                    f"SELECT used_at, expires_at FROM {SCHEMA}.sessions"
                    " WHERE session_id = %s AND tenant_id = %s",
                    (session_id, tenant_id),
                ).fetchone()
        if row is not None:
            return claimed_record(row, float(row[5]))
        if found is not None and found[0] is None and at <= float(found[1]):
            raise too_long(span_seconds)  # usable, but the recording does not fit its window
        raise refusal(session_id, found is not None, found is not None and found[0] is not None)

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()
