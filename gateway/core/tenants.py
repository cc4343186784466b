"""Tenants (apps) and their API keys, in SQLite (the embedded default; PostgreSQL for several
gateway replicas: ``tenants_pg.py``). Keys are stored only as sha256 hashes.

A key is 32 random bytes (URL-safe base64, prefixed ``ff_``): with that much entropy a plain
sha256 is the right hash (no salt or slow KDF needed, and lookups stay O(1)).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.shared import limits

KEY_PREFIX = "ff_"

MIGRATIONS = (
    # 1: tenants and their hashed keys (IF NOT EXISTS: databases from before versioning have them)
    """
    CREATE TABLE IF NOT EXISTS tenants (
        tenant_id TEXT PRIMARY KEY,
        created_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS api_keys (
        key_hash TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
        label TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    """,
    # 2: the per-tenant thumbnails setting (keep a small JPEG of each enrolled face), off
    "ALTER TABLE tenants ADD COLUMN thumbnails INTEGER NOT NULL DEFAULT 0;",
)
"""The SQLite schema's versions, ``PRAGMA user_version`` counting those applied; steps are only
ever appended (as ``tenants_pg.MIGRATIONS``)."""


@dataclass(frozen=True)
class Tenant:
    """An app using FaceFlow; every gallery object belongs to exactly one."""

    tenant_id: str
    thumbnails: bool = False
    """Keep a small JPEG of each face this tenant enrolls (``python -m gateway.tenants
    thumbnails TENANT on``); off by default."""


class TenantExistsError(Exception):
    """A tenant with that id exists already."""


class TenantNotFoundError(Exception):
    """No tenant with that id."""


class InvalidTenantIdError(ValueError):
    """A tenant id the gallery would refuse (so its keys could never enroll or search)."""


def checked_tenant_id(tenant_id: str) -> str:
    """The id, if it follows the gallery's id rule (``limits.ID_PATTERN``)."""
    if not limits.is_gallery_id(tenant_id):
        raise InvalidTenantIdError(f"tenant {limits.ID_RULE}")
    return tenant_id


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


class Tenants(Protocol):
    """Where tenants and API keys live: SQLite (``TenantStore``) or PostgreSQL."""

    def create_tenant(self, tenant_id: str) -> Tenant: ...
    def ensure_tenant(self, tenant_id: str) -> Tenant: ...
    def list_tenants(self) -> list[str]: ...
    def create_key(self, tenant_id: str, label: str = "") -> str: ...
    def add_key(self, tenant_id: str, key: str, label: str = "") -> None: ...
    def revoke_key(self, key: str) -> bool: ...
    def revoke_keys(self, tenant_id: str) -> int: ...
    def delete_tenant(self, tenant_id: str) -> None: ...
    def set_thumbnails(self, tenant_id: str, on: bool) -> None: ...
    def resolve(self, key: str) -> Tenant | None: ...
    def close(self) -> None: ...


def migrate_sqlite(db: sqlite3.Connection) -> int:
    """Bring a tenants database up to the newest ``MIGRATIONS`` step; returns its version.

    ``BEGIN IMMEDIATE`` makes a second process opening the database at once wait, then see the
    version the first one wrote.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        current = int(db.execute("PRAGMA user_version").fetchone()[0])
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"tenants database is at version {current}, newer than this code"
                f" ({len(MIGRATIONS)})"
            )
        for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
            for statement in step.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {version}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return len(MIGRATIONS)


class TenantStore:
    """SQLite-backed tenants and API keys (thread-safe)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        migrate_sqlite(self._db)
        self._lock = threading.Lock()

    def create_tenant(self, tenant_id: str) -> Tenant:
        """Add a tenant; TenantExistsError if taken, InvalidTenantIdError for a bad id."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO tenants (tenant_id, created_at) VALUES (?, ?)",
                    (checked_tenant_id(tenant_id), time.time()),
                )
            except sqlite3.IntegrityError as error:
                raise TenantExistsError(tenant_id) from error
        return Tenant(tenant_id)

    def ensure_tenant(self, tenant_id: str) -> Tenant:
        """Create the tenant unless it exists."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO tenants (tenant_id, created_at) VALUES (?, ?)",
                (checked_tenant_id(tenant_id), time.time()),
            )
        return Tenant(tenant_id)

    def list_tenants(self) -> list[str]:
        """All tenant ids, sorted."""
        with self._lock:
            rows = self._db.execute("SELECT tenant_id FROM tenants ORDER BY tenant_id").fetchall()
        return [row[0] for row in rows]

    def create_key(self, tenant_id: str, label: str = "") -> str:
        """Issue a new API key for a tenant; returns the key (shown once, stored hashed)."""
        key = new_key()
        self.add_key(tenant_id, key, label)
        return key

    def add_key(self, tenant_id: str, key: str, label: str = "") -> None:
        """Register a key chosen by the operator (e.g. from a deployment secret)."""
        with self._lock:
            exists = self._db.execute(
                "SELECT 1 FROM tenants WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
            if not exists:
                raise TenantNotFoundError(tenant_id)
            self._db.execute(
                "INSERT OR IGNORE INTO api_keys (key_hash, tenant_id, label, created_at) "
                "VALUES (?, ?, ?, ?)",
                (hash_key(key), tenant_id, label, time.time()),
            )

    def revoke_key(self, key: str) -> bool:
        """Remove a key; True if it existed."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM api_keys WHERE key_hash = ?", (hash_key(key),))
        return cursor.rowcount > 0

    def revoke_keys(self, tenant_id: str) -> int:
        """Remove every key of a tenant; how many there were."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM api_keys WHERE tenant_id = ?", (tenant_id,))
        return cursor.rowcount

    def delete_tenant(self, tenant_id: str) -> None:
        """Remove a tenant and its keys (``python -m gateway.tenants delete`` deletes its
        gallery through the embedding service first)."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM tenants WHERE tenant_id = ?", (tenant_id,))
        if cursor.rowcount == 0:
            raise TenantNotFoundError(tenant_id)

    def set_thumbnails(self, tenant_id: str, on: bool) -> None:
        """Turn the tenant's thumbnails setting on or off (faces enrolled from now on)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tenants SET thumbnails = ? WHERE tenant_id = ?", (int(on), tenant_id)
            )
        if cursor.rowcount == 0:
            raise TenantNotFoundError(tenant_id)

    def resolve(self, key: str) -> Tenant | None:
        """The tenant owning this key (with its settings), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT t.tenant_id, t.thumbnails FROM api_keys k"
                " JOIN tenants t ON t.tenant_id = k.tenant_id WHERE k.key_hash = ?",
                (hash_key(key),),
            ).fetchone()
        return Tenant(str(row[0]), bool(row[1])) if row else None

    def close(self) -> None:
        """Close the database."""
        self._db.close()
