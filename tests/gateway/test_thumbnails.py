"""Face thumbnails through the real gateway, detection and embedding gRPC servers: the
per-tenant setting (off by default), ``has_thumbnail`` in the listings and the JPEG route."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from gateway.core.tenants import Tenant, TenantStore
from gateway.tenants import main as tenants_cli
from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import API, astronaut_variant, create_group, enroll, unique
from tests.helpers import images
from tests.helpers.http import assert_error, error_message


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


def set_thumbnails(gw: GatewayUnderTest, tenant: str, on: bool) -> None:
    store = TenantStore(gw.settings.tenants_db)
    try:
        store.set_thumbnails(tenant, on)
    finally:
        store.close()


def thumbnail_url(group: str, user: str, token: str) -> str:
    return f"{API}/groups/{group}/users/{user}/faces/{token}/thumbnail"


def test_thumbnails_are_off_by_default(gw: GatewayUnderTest) -> None:
    group = unique("g")
    create_group(gw, group)
    token = enroll(gw, group, "alice", images.astronaut_jpeg()).json()["face_token"]
    user = gw.client.get(f"{API}/groups/{group}/users/alice", headers=gw.headers).json()
    assert user["faces"][0]["has_thumbnail"] is False
    response = gw.client.get(thumbnail_url(group, "alice", token), headers=gw.headers)
    assert error_message(response, 404, "THUMBNAIL_NOT_FOUND") == (
        f"no thumbnail is kept for face {token!r}"
    )


def test_a_tenant_that_turned_thumbnails_on_gets_the_aligned_face(gw: GatewayUnderTest) -> None:
    group = unique("g")
    create_group(gw, group)
    set_thumbnails(gw, "demo", True)
    kept = enroll(gw, group, "alice", images.astronaut_jpeg()).json()["face_token"]
    set_thumbnails(gw, "demo", False)
    bare = enroll(gw, group, "alice", astronaut_variant()).json()["face_token"]

    user = gw.client.get(f"{API}/groups/{group}/users/alice", headers=gw.headers).json()
    assert [(f["face_token"], f["has_thumbnail"]) for f in user["faces"]] == [
        (kept, True),
        (bare, False),
    ]
    page = gw.client.get(f"{API}/groups/{group}/users", headers=gw.headers).json()
    assert [f["has_thumbnail"] for f in page["users"][0]["faces"]] == [True, False]

    response = gw.client.get(thumbnail_url(group, "alice", kept), headers=gw.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "private, max-age=86400"
    assert 500 < len(response.content) < 16_000
    with Image.open(io.BytesIO(response.content)) as thumbnail:
        assert (thumbnail.format, thumbnail.size, thumbnail.mode) == ("JPEG", (112, 112), "RGB")
    assert_error(
        gw.client.get(thumbnail_url(group, "alice", bare), headers=gw.headers),
        404,
        "THUMBNAIL_NOT_FOUND",
    )

    # Deleting the face deletes its thumbnail.
    gw.client.delete(f"{API}/groups/{group}/users/alice/faces/{kept}", headers=gw.headers)
    assert_error(
        gw.client.get(thumbnail_url(group, "alice", kept), headers=gw.headers),
        404,
        "FACE_NOT_FOUND",
    )


def test_thumbnail_route_bad_input(gw: GatewayUnderTest) -> None:
    group = unique("g")
    create_group(gw, group)
    set_thumbnails(gw, "demo", True)
    token = enroll(gw, group, "alice", images.astronaut_jpeg()).json()["face_token"]
    assert gw.client.get(thumbnail_url(group, "alice", token)).status_code == 401
    cases = [
        (thumbnail_url(unique("none"), "alice", token), 404, "GROUP_NOT_FOUND"),
        (thumbnail_url(group, "bob", token), 404, "USER_NOT_FOUND"),
        (thumbnail_url(group, "alice", "0" * 32), 404, "FACE_NOT_FOUND"),
        (thumbnail_url(group, "alice", "not-a-token"), 404, "FACE_NOT_FOUND"),
        (thumbnail_url("bad group", "alice", token), 400, "INVALID_ARGUMENT"),
        (thumbnail_url(group, "x" * 200, token), 400, "INVALID_ARGUMENT"),
    ]
    for url, status, code in cases:
        assert_error(gw.client.get(url, headers=gw.headers), status, code)


def test_another_tenants_face_is_never_served(gw: GatewayUnderTest) -> None:
    group = unique("private")
    create_group(gw, group)
    set_thumbnails(gw, "demo", True)
    token = enroll(gw, group, "alice", images.astronaut_jpeg()).json()["face_token"]
    other = {"x-api-key": gw.new_tenant_key(tenant := unique("tenant"))}
    set_thumbnails(gw, tenant, True)
    url = thumbnail_url(group, "alice", token)
    assert_error(gw.client.get(url, headers=other), 404, "GROUP_NOT_FOUND")
    # The same group and user ids in the other tenant do not reach the owner's face either.
    assert create_group(gw, group, key=other["x-api-key"]).status_code == 200
    enroll(gw, group, "alice", astronaut_variant(), key=other["x-api-key"])
    assert_error(gw.client.get(url, headers=other), 404, "FACE_NOT_FOUND")
    assert gw.client.get(url, headers=gw.headers).status_code == 200


def thumbnails_setting(gw: GatewayUnderTest) -> bool:
    """The demo tenant's setting, as the gateway resolves its key."""
    store = TenantStore(gw.settings.tenants_db)
    try:
        tenant = store.resolve(gw.key)
    finally:
        store.close()
    assert tenant is not None
    return tenant.thumbnails


def test_tenants_cli_turns_thumbnails_on_and_off(
    gw: GatewayUnderTest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FACEFLOW_GATEWAY_DATA_DIR", str(gw.settings.data_dir))
    assert thumbnails_setting(gw) is False
    assert tenants_cli(["thumbnails", "demo", "on"]) == 0
    assert thumbnails_setting(gw) is True
    assert tenants_cli(["thumbnails", "demo", "off"]) == 0
    assert thumbnails_setting(gw) is False
    assert tenants_cli(["thumbnails", "nobody", "on"]) == 1
    assert capsys.readouterr().err == "error: no tenant nobody\n"
    with pytest.raises(SystemExit):
        tenants_cli(["thumbnails", "demo", "maybe"])


def test_a_tenants_database_from_before_the_setting_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "tenants.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE tenants (tenant_id TEXT PRIMARY KEY, created_at REAL NOT NULL);"
        "CREATE TABLE api_keys (key_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL"
        " REFERENCES tenants(tenant_id) ON DELETE CASCADE, label TEXT NOT NULL DEFAULT '',"
        " created_at REAL NOT NULL);"
        "INSERT INTO tenants VALUES ('old', 0);"
    )
    old.commit()
    old.close()
    store = TenantStore(path)
    try:
        key = store.create_key("old")
        tenant = store.resolve(key)
        assert tenant is not None and (tenant.tenant_id, tenant.thumbnails) == ("old", False)
        store.set_thumbnails("old", True)
        assert store.resolve(key) == Tenant("old", True)
    finally:
        store.close()
    again = TenantStore(path)  # reopening applies nothing twice
    try:
        assert again._db.execute("PRAGMA user_version").fetchone()[0] == 2
    finally:
        again.close()
