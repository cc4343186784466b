"""The SQLite schema of the embedded gallery store, its connection, transactions and meta table.

SQLite is the source of truth. ``face_changes`` is the change log the FAISS index is brought up
to date from: triggers append one row per face inserted (op +1) or deleted (op -1), cascaded
deletes of users and groups included, in the same transaction as the change itself.
Row ids use AUTOINCREMENT so a face id (the FAISS id) and a change sequence are never reused.
Every statement is idempotent (``IF NOT EXISTS``) and runs at each open, so a table added later
(``face_thumbnails``: the tenant-chosen JPEG of each face, deleted with it by the cascade)
appears in an existing database the first time a newer version opens it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    group_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (tenant, group_id)
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_pk INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    user_info TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (group_pk, user_id)
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    face_token TEXT NOT NULL UNIQUE,
    user_pk INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_pk INTEGER NOT NULL,
    image_sha256 TEXT NOT NULL,
    embedding BLOB NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (user_pk, image_sha256)
);
CREATE INDEX IF NOT EXISTS faces_by_group ON faces (group_pk);
CREATE INDEX IF NOT EXISTS faces_by_group_user ON faces (group_pk, user_pk);
CREATE TABLE IF NOT EXISTS face_images (
    face_pk INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
    image BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS face_thumbnails (
    face_pk INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
    jpeg BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS face_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    face_pk INTEGER NOT NULL,
    group_pk INTEGER NOT NULL,
    op INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS faces_log_insert AFTER INSERT ON faces BEGIN
    INSERT INTO face_changes (face_pk, group_pk, op) VALUES (new.id, new.group_pk, 1);
END;
CREATE TRIGGER IF NOT EXISTS faces_log_delete AFTER DELETE ON faces BEGIN
    INSERT INTO face_changes (face_pk, group_pk, op) VALUES (old.id, old.group_pk, -1);
END;
"""

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


def connect(path: Path, synchronous: str) -> sqlite3.Connection:
    """Open (creating if needed) the gallery database in WAL mode with foreign keys on.

    ``synchronous=FULL`` (the default) makes every acknowledged write survive a power loss;
    ``NORMAL`` survives a process crash only.
    """
    if synchronous.upper() not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}")
    connection = sqlite3.connect(
        str(path), check_same_thread=False, isolation_level=None, timeout=30.0
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous.upper()}")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.executescript(SCHEMA)
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (``BEGIN IMMEDIATE``): committed at the end, rolled back on error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def current_sequence(connection: sqlite3.Connection) -> int:
    """The highest change-log sequence ever handed out (0 when none)."""
    row = connection.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = 'face_changes'"
    ).fetchone()
    return int(row[0]) if row else 0


def read_meta(connection: sqlite3.Connection, key: str) -> str | None:
    """A value of the ``meta`` table."""
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def write_meta(connection: sqlite3.Connection, key: str, value: str) -> None:
    """Set a value of the ``meta`` table (inside the caller's transaction)."""
    connection.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
