"""Tenants and API keys in PostgreSQL, shared by every gateway replica (``faceflow_gateway``).

The same contract as the SQLite ``TenantStore``: keys are stored only as sha256 hashes, and
every request resolves its key against the database, so a key created or revoked through one
replica (or ``python -m gateway.tenants``) holds on all of them at once.
"""

from __future__ import annotations

import time

from psycopg import errors as pg_errors

from gateway.core.tenants import (
    KEY_PREFIX,
    Tenant,
    TenantExistsError,
    TenantNotFoundError,
    checked_tenant_id,
    hash_key,
    new_key,
)
from services.shared.postgres import ConnectionPool, migrate

SCHEMA = "faceflow_gateway"

MIGRATIONS = (
    # 1: tenants, their hashed keys, and the per-key token buckets of the rate limit
    """
    CREATE TABLE {schema}.tenants (
        tenant_id TEXT PRIMARY KEY,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE {schema}.api_keys (
        key_hash TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES {schema}.tenants (tenant_id) ON DELETE CASCADE,
        label TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE {schema}.rate_buckets (
        key_hash TEXT PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        granted BOOLEAN NOT NULL
    );
    """,
    # 2: the per-tenant thumbnails setting (keep a small JPEG of each enrolled face), off
    """
    ALTER TABLE {schema}.tenants ADD COLUMN thumbnails BOOLEAN NOT NULL DEFAULT FALSE;
    """,
)

__all__ = ["KEY_PREFIX", "SCHEMA", "PostgresTenantStore", "migrate_gateway_schema"]


def migrate_gateway_schema(pool: ConnectionPool) -> int:
    """Create or upgrade the gateway's schema; returns its version."""
    return migrate(pool, SCHEMA, MIGRATIONS)


class PostgresTenantStore:
    """Tenants and hashed API keys in PostgreSQL (thread-safe through the pool)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def create_tenant(self, tenant_id: str) -> Tenant:
        """Add a tenant; TenantExistsError if taken, InvalidTenantIdError for a bad id."""
        with self.pool.connection() as db:
            try:
                db.execute(
                    f"INSERT INTO {SCHEMA}.tenants (tenant_id, created_at) VALUES (%s, %s)",
                    (checked_tenant_id(tenant_id), time.time()),
                )
            except pg_errors.UniqueViolation as error:
                raise TenantExistsError(tenant_id) from error
        return Tenant(tenant_id)

    def ensure_tenant(self, tenant_id: str) -> Tenant:
        """Create the tenant unless it exists."""
        with self.pool.connection() as db:
            db.execute(
                f"INSERT INTO {SCHEMA}.tenants (tenant_id, created_at) VALUES (%s, %s)"
                " ON CONFLICT (tenant_id) DO NOTHING",
                (checked_tenant_id(tenant_id), time.time()),
            )
        return Tenant(tenant_id)

    def list_tenants(self) -> list[str]:
        """All tenant ids, sorted."""
        with self.pool.connection() as db:
            rows = db.execute(f"SELECT tenant_id FROM {SCHEMA}.tenants ORDER BY tenant_id")
            return [str(row[0]) for row in rows.fetchall()]

    def create_key(self, tenant_id: str, label: str = "") -> str:
        """Issue a new API key for a tenant; returns the key (shown once, stored hashed)."""
        key = new_key()
        self.add_key(tenant_id, key, label)
        return key

    def add_key(self, tenant_id: str, key: str, label: str = "") -> None:
        """Register a key chosen by the operator (e.g. from a deployment secret)."""
        with self.pool.connection() as db:
            try:
                db.execute(
                    f"INSERT INTO {SCHEMA}.api_keys (key_hash, tenant_id, label, created_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (key_hash) DO NOTHING",
                    (hash_key(key), tenant_id, label, time.time()),
                )
            except pg_errors.ForeignKeyViolation as error:
                raise TenantNotFoundError(tenant_id) from error

    def revoke_key(self, key: str) -> bool:
        """Remove a key; True if it existed."""
        with self.pool.connection() as db:
            cursor = db.execute(
                f"DELETE FROM {SCHEMA}.api_keys WHERE key_hash = %s", (hash_key(key),)
            )
            return cursor.rowcount > 0

    def revoke_keys(self, tenant_id: str) -> int:
        """Remove every key of a tenant; how many there were."""
        with self.pool.connection() as db:
            cursor = db.execute(f"DELETE FROM {SCHEMA}.api_keys WHERE tenant_id = %s", (tenant_id,))
            return cursor.rowcount

    def delete_tenant(self, tenant_id: str) -> None:
        """Remove a tenant and its keys (``python -m gateway.tenants delete`` deletes its
        gallery through the embedding service first)."""
        with self.pool.connection() as db:
            cursor = db.execute(f"DELETE FROM {SCHEMA}.tenants WHERE tenant_id = %s", (tenant_id,))
            if cursor.rowcount == 0:
                raise TenantNotFoundError(tenant_id)

    def set_thumbnails(self, tenant_id: str, on: bool) -> None:
        """Turn the tenant's thumbnails setting on or off (faces enrolled from now on)."""
        with self.pool.connection() as db:
            cursor = db.execute(
                f"UPDATE {SCHEMA}.tenants SET thumbnails = %s WHERE tenant_id = %s",
                (on, tenant_id),
            )
            if cursor.rowcount == 0:
                raise TenantNotFoundError(tenant_id)

    def resolve(self, key: str) -> Tenant | None:
        """The tenant owning this key (with its settings), or None."""
        with self.pool.connection() as db:
            row = db.execute(
                f"SELECT t.tenant_id, t.thumbnails FROM {SCHEMA}.api_keys k"
                f" JOIN {SCHEMA}.tenants t ON t.tenant_id = k.tenant_id WHERE k.key_hash = %s",
                (hash_key(key),),
            ).fetchone()
        return Tenant(str(row[0]), bool(row[1])) if row else None

    def close(self) -> None:
        """The pool belongs to the caller (shared with the rate limiter): nothing to close."""
