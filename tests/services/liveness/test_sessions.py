"""The SQLite session store: ownership, expiry, single use, persistence, concurrent claims."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from services.liveness.errors import (
    SessionAlreadyUsedError,
    SessionExpiredError,
    SessionNotFoundError,
)
from services.liveness.sessions import SessionStore


def test_create_and_claim_once(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3")
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60, now=1000.0)
    assert record.expires_at == 1060.0
    claimed = store.claim("tenant-a", record.session_id, now=1010.0)
    assert claimed.actions == ("blink", "nod") and claimed.used_at == 1010.0
    with pytest.raises(SessionAlreadyUsedError):
        store.claim("tenant-a", record.session_id, now=1011.0)


def test_other_tenant_and_unknown_ids_are_not_found(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3")
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60)
    with pytest.raises(SessionNotFoundError):
        store.claim("tenant-b", record.session_id)
    with pytest.raises(SessionNotFoundError):
        store.claim("tenant-a", "no-such-session")
    # The failed attempts did not consume it.
    assert store.claim("tenant-a", record.session_id).session_id == record.session_id


def test_expired_session_is_refused(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3")
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60, now=1000.0)
    with pytest.raises(SessionExpiredError):
        store.claim("tenant-a", record.session_id, now=1060.5)


def test_sessions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    record = SessionStore(path).create("tenant-a", ["turn_left", "blink"], ttl_seconds=60)
    reopened = SessionStore(path)
    assert reopened.claim("tenant-a", record.session_id).actions == ("turn_left", "blink")
    with pytest.raises(SessionAlreadyUsedError):
        SessionStore(path).claim("tenant-a", record.session_id)


def test_concurrent_claims_have_one_winner(tmp_path: Path) -> None:
    """Eight threads with their own connections race to verify one session."""
    store = SessionStore(tmp_path / "s.sqlite3")
    record = store.create("tenant-a", ["blink", "nod"], ttl_seconds=60)
    wins: list[str] = []
    losses: list[str] = []
    start = threading.Barrier(8)

    def attempt() -> None:
        start.wait()
        try:
            SessionStore(tmp_path / "s.sqlite3").claim("tenant-a", record.session_id)
            wins.append("won")
        except SessionAlreadyUsedError:
            losses.append("used")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1 and len(losses) == 7


def test_ids_are_unguessable(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3")
    ids = {store.create("t", ["blink", "nod"], 60).session_id for _ in range(50)}
    assert len(ids) == 50 and all(len(i) >= 24 for i in ids)
