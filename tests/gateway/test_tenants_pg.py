"""The gateway's tenants in PostgreSQL: the versioned schema (the thumbnails setting's step
upgrades a version-1 schema) and the setting through ``PostgresTenantStore``.

Needs ``FACEFLOW_TEST_POSTGRES_URL`` (``bash scripts/test_services.sh``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import conninfo

from gateway.core.config import GatewaySettings
from gateway.core.tenants import InvalidTenantIdError, Tenant, TenantNotFoundError
from gateway.core.tenants_pg import MIGRATIONS, PostgresTenantStore, migrate_gateway_schema
from gateway.main import API_PREFIX, create_app
from services.shared.postgres import ConnectionPool, migrate
from tests.helpers.http import assert_error
from tests.services.embedding.store.conftest import postgres_url


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    opened = ConnectionPool(postgres_url(), size=2)
    yield opened
    opened.close()


def test_a_version_1_schema_gets_the_thumbnails_column_off(pool: ConnectionPool) -> None:
    schema = f"test_gw_{uuid.uuid4().hex[:10]}"
    try:
        assert migrate(pool, schema, MIGRATIONS[:1]) == 1
        with pool.connection() as db:
            db.execute(
                f"INSERT INTO {schema}.tenants (tenant_id, created_at) VALUES ('old', %s)",
                (time.time(),),
            )
        assert migrate(pool, schema, MIGRATIONS) == 2
        with pool.connection() as db:
            row = db.execute(f"SELECT thumbnails FROM {schema}.tenants").fetchone()
            versions = db.execute(f"SELECT version FROM {schema}.schema_version").fetchall()
        assert row is not None and row[0] is False
        assert sorted(v[0] for v in versions) == [1, 2]
    finally:
        with pool.connection() as db:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_the_setting_is_resolved_with_the_key(pool: ConnectionPool) -> None:
    migrate_gateway_schema(pool)
    store = PostgresTenantStore(pool)
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    store.create_tenant(tenant)
    try:
        key = store.create_key(tenant)
        assert store.resolve(key) == Tenant(tenant, False)
        store.set_thumbnails(tenant, True)
        assert store.resolve(key) == Tenant(tenant, True)
        store.set_thumbnails(tenant, False)
        assert store.resolve(key) == Tenant(tenant, False)
        with pytest.raises(TenantNotFoundError):
            store.set_thumbnails(f"{tenant}-none", True)
    finally:
        store.delete_tenant(tenant)


def test_a_tenant_id_the_gallery_would_refuse_is_refused(pool: ConnectionPool) -> None:
    migrate_gateway_schema(pool)
    store = PostgresTenantStore(pool)
    for bad in ("my app", "..", "x" * 129):
        with pytest.raises(InvalidTenantIdError, match=r"^tenant must be 1-128 characters"):
            store.create_tenant(bad)
        with pytest.raises(InvalidTenantIdError):
            store.ensure_tenant(bad)
    assert not {"my app", "..", "x" * 129} & set(store.list_tenants())


def test_revoke_keys_removes_every_key_of_one_tenant(pool: ConnectionPool) -> None:
    migrate_gateway_schema(pool)
    store = PostgresTenantStore(pool)
    tenant, other = f"t-{uuid.uuid4().hex[:10]}", f"o-{uuid.uuid4().hex[:10]}"
    store.create_tenant(tenant)
    store.create_tenant(other)
    try:
        keys = [store.create_key(tenant), store.create_key(tenant)]
        kept = store.create_key(other)
        assert store.revoke_keys(tenant) == 2
        assert [store.resolve(key) for key in keys] == [None, None]
        assert store.resolve(kept) == Tenant(other, False)
    finally:
        store.delete_tenant(tenant)
        store.delete_tenant(other)


def test_a_database_restart_is_a_503_then_served_again(tmp_path: Path) -> None:
    """The gateway's own PostgreSQL (tenants, keys, rate limits, video jobs) restarting: the
    request that meets the dead connection is 503 SERVICE_UNAVAILABLE (was a 500), the next is
    served on a new connection."""
    app_name = f"gw_test_{uuid.uuid4().hex[:10]}"
    url = conninfo.make_conninfo(postgres_url(), application_name=app_name)
    settings = GatewaySettings(data_dir=tmp_path, database_url=url, database_pool_size=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        tenants = client.app.state.tenants  # type: ignore[attr-defined]
        tenant = f"t-{uuid.uuid4().hex[:10]}"
        tenants.create_tenant(tenant)
        try:
            headers = {"x-api-key": tenants.create_key(tenant)}
            job = f"{API_PREFIX}/videos/jobs/{'0' * 32}"
            assert_error(client.get(job, headers=headers), 404, "VIDEO_JOB_NOT_FOUND")
            with psycopg.connect(postgres_url(), autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (app_name,),
                )
            assert_error(client.get(job, headers=headers), 503, "SERVICE_UNAVAILABLE")
            assert_error(client.get(job, headers=headers), 404, "VIDEO_JOB_NOT_FOUND")
        finally:
            tenants.delete_tenant(tenant)
