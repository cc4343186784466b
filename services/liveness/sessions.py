"""Action-challenge sessions in a SQLite file: created per tenant, expiring, single use.

The embedded default; with ``FACEFLOW_LIVENESS_DATABASE_URL`` set they live in PostgreSQL
instead (``sessions_pg.py``), shared by every liveness replica.

A session is claimed atomically (``BEGIN IMMEDIATE`` + a conditional ``UPDATE``), so two
concurrent verifications of the same id - even from two service processes sharing the file -
cannot both succeed. Sessions survive restarts. Expired rows are purged lazily.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from services.liveness.errors import (
    SessionAlreadyUsedError,
    SessionExpiredError,
    SessionNotFoundError,
)
from services.shared.errors import InvalidArgumentError

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actions TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
-- each create purges the rows expired a day ago: without it, a scan of the whole table
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
"""
PURGE_AFTER_SECONDS = 24 * 3600  # keep expired/used rows a day so reuse reads "used", not "unknown"


def new_session(
    tenant_id: str, actions: Sequence[str], ttl_seconds: float, now: float | None = None
) -> SessionRecord:
    """A fresh session (random URL-safe id) to store."""
    created = time.time() if now is None else now
    return SessionRecord(
        session_id=secrets.token_urlsafe(18),
        tenant_id=tenant_id,
        actions=tuple(actions),
        created_at=created,
        expires_at=created + ttl_seconds,
        used_at=None,
    )


def stored_row(record: SessionRecord) -> tuple[str, str, str, float, float]:
    """The stored columns of a new session (``used_at`` is NULL)."""
    return (
        record.session_id,
        record.tenant_id,
        json.dumps(list(record.actions)),
        record.created_at,
        record.expires_at,
    )


def claimed_record(row: Sequence[Any], used_at: float) -> SessionRecord:
    """A claimed session from its stored columns (session_id .. expires_at)."""
    return SessionRecord(
        session_id=str(row[0]),
        tenant_id=str(row[1]),
        actions=tuple(json.loads(row[2])),
        created_at=float(row[3]),
        expires_at=float(row[4]),
        used_at=used_at,
    )


def refusal(session_id: str, found: bool, used: bool) -> Exception:
    """Why a session cannot be claimed: unknown (to this tenant), used, or else expired."""
    if not found:
        return SessionNotFoundError(f"no liveness session {session_id!r}")
    if used:
        return SessionAlreadyUsedError(
            f"session {session_id} was verified already; sessions are single use"
        )
    return SessionExpiredError(
        f"session {session_id} expired; create a new one and send the frames within its window"
    )


def too_long(span_seconds: float) -> InvalidArgumentError:
    """A recording that does not fit in its session's window (the session stays unused)."""
    return InvalidArgumentError(
        f"the frames span {span_seconds:.1f} s, longer than the session window"
    )


class Sessions(Protocol):
    """Where sessions live: SQLite (``SessionStore``) or PostgreSQL (``sessions_pg.py``)."""

    def create(
        self, tenant_id: str, actions: Sequence[str], ttl_seconds: float, now: float | None = None
    ) -> SessionRecord: ...

    def claim(
        self,
        tenant_id: str,
        session_id: str,
        now: float | None = None,
        span_seconds: float = 0.0,
    ) -> SessionRecord: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SessionRecord:
    """One stored session."""

    session_id: str
    tenant_id: str
    actions: tuple[str, ...]
    created_at: float  # Unix seconds
    expires_at: float
    used_at: float | None


class SessionStore:
    """Sessions in one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    def create(
        self, tenant_id: str, actions: Sequence[str], ttl_seconds: float, now: float | None = None
    ) -> SessionRecord:
        """Store a new session with a random URL-safe id."""
        record = new_session(tenant_id, actions, ttl_seconds, now)
        with self._connect() as connection:
            connection.execute(
                "DELETE FROM sessions WHERE expires_at < ?",
                (record.created_at - PURGE_AFTER_SECONDS,),
            )
            connection.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, NULL)", stored_row(record)
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
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute(
                    "SELECT session_id, tenant_id, actions, created_at, expires_at, used_at "
                    "FROM sessions WHERE session_id = ? AND tenant_id = ?",
                    (session_id, tenant_id),
                ).fetchone()
                if row is None or row[5] is not None or at > row[4]:
                    raise refusal(
                        session_id, row is not None, row is not None and row[5] is not None
                    )
                if span_seconds > row[4] - row[3]:
                    raise too_long(span_seconds)
                connection.execute(
                    "UPDATE sessions SET used_at = ? WHERE session_id = ? AND used_at IS NULL",
                    (at, session_id),
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return claimed_record(row, at)

    def close(self) -> None:
        """Nothing held open: each call opens its own connection."""
