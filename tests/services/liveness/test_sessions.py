"""The session stores, SQLite and PostgreSQL alike: ownership, expiry, single use, concurrent
claims; and the SQLite file's persistence."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.liveness.errors import (
    SessionAlreadyUsedError,
    SessionExpiredError,
    SessionNotFoundError,
)
from services.liveness.sessions import Sessions, SessionStore
from services.liveness.sessions_pg import PostgresSessionStore
from services.shared.errors import InvalidArgumentError
from services.shared.postgres import ConnectionPool
from tests.services.embedding.store.conftest import postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sessions]:
    """A session store of each backend (PostgreSQL: the test server, skipped without it)."""
    if request.param == "sqlite":
        yield SessionStore(tmp_path / "s.sqlite3")
        return
    opened = PostgresSessionStore(ConnectionPool(postgres_url(), size=8))
    yield opened
    opened.close()


def test_create_and_claim_once(store: Sessions) -> None:
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60, now=1000.0)
    assert record.expires_at == 1060.0
    claimed = store.claim("tenant-a", record.session_id, now=1010.0)
    assert claimed.actions == ("blink", "nod") and claimed.used_at == 1010.0
    with pytest.raises(SessionAlreadyUsedError):
        store.claim("tenant-a", record.session_id, now=1011.0)


def test_other_tenant_and_unknown_ids_are_not_found(store: Sessions) -> None:
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60)
    with pytest.raises(SessionNotFoundError):
        store.claim("tenant-b", record.session_id)
    with pytest.raises(SessionNotFoundError):
        store.claim("tenant-a", "no-such-session")
    # The failed attempts did not consume it.
    assert store.claim("tenant-a", record.session_id).session_id == record.session_id


def test_expired_session_is_refused(store: Sessions) -> None:
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60, now=1000.0)
    with pytest.raises(SessionExpiredError):
        store.claim("tenant-a", record.session_id, now=1060.5)
    with pytest.raises(SessionExpiredError):  # refusing did not consume it either
        store.claim("tenant-a", record.session_id, now=1061.0)


def test_recording_longer_than_the_window_leaves_the_session_unused(store: Sessions) -> None:
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60, now=1000.0)
    with pytest.raises(InvalidArgumentError) as caught:
        store.claim("tenant-a", record.session_id, now=1010.0, span_seconds=61.0)
    assert caught.value.message == "the frames span 61.0 s, longer than the session window"
    claimed = store.claim("tenant-a", record.session_id, now=1011.0, span_seconds=60.0)
    assert claimed.used_at == 1011.0
    # A used, unknown or expired session says so whatever the recording's length.
    with pytest.raises(SessionAlreadyUsedError):
        store.claim("tenant-a", record.session_id, now=1012.0, span_seconds=61.0)
    with pytest.raises(SessionNotFoundError):
        store.claim("tenant-a", "no-such-session", span_seconds=61.0)
    expired = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60, now=1000.0)
    with pytest.raises(SessionExpiredError):
        store.claim("tenant-a", expired.session_id, now=1061.0, span_seconds=61.0)


def test_sessions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    record = SessionStore(path).create("tenant-a", ["turn_left", "blink"], ttl_seconds=60)
    reopened = SessionStore(path)
    assert reopened.claim("tenant-a", record.session_id).actions == ("turn_left", "blink")
    with pytest.raises(SessionAlreadyUsedError):
        SessionStore(path).claim("tenant-a", record.session_id)


def test_the_purge_on_create_searches_an_index_even_in_an_older_file(tmp_path: Path) -> None:
    """A file made before the index gets it on open; the purge reads it, not the whole table."""
    path = tmp_path / "s.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE sessions (session_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,"
            " actions TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL,"
            " used_at REAL)"
        )
    old.close()
    SessionStore(path).create("tenant-a", ["blink", "nod"], ttl_seconds=60)
    with sqlite3.connect(path) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN DELETE FROM sessions WHERE expires_at < ?", (0.0,)
        ).fetchall()
    db.close()
    assert "USING INDEX sessions_expires_at" in " ".join(str(row[-1]) for row in plan)


def test_concurrent_claims_have_one_winner(store: Sessions) -> None:
    """Eight threads (each its own connection) race to verify one session."""
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60)
    wins: list[str] = []
    losses: list[str] = []
    start = threading.Barrier(8)

    def attempt() -> None:
        start.wait()
        try:
            store.claim("tenant-a", record.session_id)
            wins.append("won")
        except SessionAlreadyUsedError:
            losses.append("used")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1 and len(losses) == 7


def test_ids_are_unguessable(store: Sessions) -> None:
    ids = {store.create("t", ["blink", "nod"], 60).session_id for _ in range(50)}
    assert len(ids) == 50 and all(len(i) >= 24 for i in ids)
