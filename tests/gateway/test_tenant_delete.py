"""``python -m gateway.tenants``: a deleted tenant's gallery, clustering jobs, video jobs and
streams go with it; ids are checked."""

from __future__ import annotations

import base64
import sqlite3

import pytest

from gateway.core.video_state import VideoState
from gateway.tenants import main as tenants_cli
from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import API, create_group, enroll, unique
from tests.helpers import images


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


@pytest.fixture
def cli_env(gw: GatewayUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens the gateway's database and reaches its embedding service."""
    monkeypatch.setenv("FACEFLOW_GATEWAY_DATA_DIR", str(gw.settings.data_dir))
    monkeypatch.setenv("FACEFLOW_GATEWAY_EMBEDDING_ADDR", gw.settings.embedding_addr)
    monkeypatch.setenv("FACEFLOW_GATEWAY_DEADLINE_SECONDS", "5")


def new_tenant(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """A tenant made by the CLI, and its first key."""
    tenant = unique("app")
    assert tenants_cli(["create", tenant]) == 0
    return tenant, capsys.readouterr().out.strip()


def group_ids(gw: GatewayUnderTest, key: str) -> list[str]:
    response = gw.client.get(f"{API}/groups", headers={"x-api-key": key})
    assert response.status_code == 200, response.text
    return [g["group_id"] for g in response.json()["groups"]]


@pytest.mark.usefixtures("cli_env")
def test_deleting_a_tenant_deletes_its_gallery(
    gw: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant, key = new_tenant(capsys)
    for group in ("staff", "visitors"):
        assert create_group(gw, group, key).status_code == 200
    assert enroll(gw, "staff", "alice", images.astronaut_jpeg(), key).status_code == 200
    create_group(gw, "kept")  # another tenant's group with the same name is not touched
    assert enroll(gw, "kept", "alice", images.astronaut_jpeg()).status_code == 200
    photos = {"photos": [base64.b64encode(images.astronaut_jpeg()).decode()]}
    cluster = gw.client.post(f"{API}/clusters", json=photos, headers={"x-api-key": key})
    assert cluster.status_code == 202, cluster.text
    kept_cluster = gw.client.post(f"{API}/clusters", json=photos, headers=gw.headers)
    video: VideoState = gw.client.app.state.video_jobs.state  # type: ignore[attr-defined]
    video_job = video.create_job(tenant, {"group_ids": ["staff"]}, None, None)
    stream = video.create_stream(tenant, {"group_ids": ["staff"]}, {}, 120.0)

    assert tenants_cli(["delete", tenant]) == 0
    assert tenant not in (tenants_cli(["list"]), capsys.readouterr().out.split())[1]
    assert gw.client.get(f"{API}/groups", headers={"x-api-key": key}).status_code == 401

    # the same id created again starts with an empty gallery, not the old tenant's, and
    # none of its clustering jobs, video jobs or streams
    assert tenants_cli(["create", tenant]) == 0
    new_key = capsys.readouterr().out.strip()
    assert group_ids(gw, new_key) == []
    old_job = f"{API}/clusters/{cluster.json()['job_id']}"
    lookup = gw.client.get(old_job, headers={"x-api-key": new_key})
    assert lookup.status_code == 404 and lookup.json()["error"]["code"] == "CLUSTER_JOB_NOT_FOUND"
    assert video.job(tenant, video_job.job_id) is None
    assert video.claim_stream(tenant, stream.stream_id, 1.0) is None
    other = f"{API}/clusters/{kept_cluster.json()['job_id']}"
    assert gw.client.get(other, headers=gw.headers).status_code == 200  # another tenant's
    assert "kept" in group_ids(gw, gw.key)
    users = gw.client.get(f"{API}/groups/kept/users", headers={"x-api-key": gw.key})
    assert [u["user_id"] for u in users.json()["users"]] == ["alice"]


@pytest.mark.usefixtures("cli_env")
def test_an_unreachable_embedding_service_keeps_the_tenant_for_a_second_run(
    gw: GatewayUnderTest, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, key = new_tenant(capsys)
    assert create_group(gw, "staff", key).status_code == 200
    monkeypatch.setenv("FACEFLOW_GATEWAY_EMBEDDING_ADDR", "127.0.0.1:1")  # nothing listens
    assert tenants_cli(["delete", tenant]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: tenant {tenant}'s gallery could not be deleted")
    assert "127.0.0.1:1: UNAVAILABLE" in error and "run the command again" in error
    assert "its keys are revoked, the tenant is kept" in error
    assert tenants_cli(["list"]) == 0 and tenant in capsys.readouterr().out.split()
    assert gw.client.get(f"{API}/groups", headers={"x-api-key": key}).status_code == 401

    monkeypatch.setenv("FACEFLOW_GATEWAY_EMBEDDING_ADDR", gw.settings.embedding_addr)
    assert tenants_cli(["delete", tenant]) == 0  # the second run finishes the job
    assert tenants_cli(["create", tenant]) == 0
    assert group_ids(gw, capsys.readouterr().out.strip()) == []  # "staff" went with it


@pytest.mark.usefixtures("cli_env")
def test_a_tenant_id_the_gallery_would_refuse_is_refused_at_creation(
    gw: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("my app", "..", "x" * 129, "émile", ""):
        assert tenants_cli(["create", bad]) == 1
        assert capsys.readouterr().err == (
            "error: tenant must be 1-128 characters of letters, digits, '_', '.', '@' or '-',"
            " not only dots\n"
        )
    assert tenants_cli(["list"]) == 0
    assert capsys.readouterr().out.split() == ["demo"]
    assert tenants_cli(["delete", "nobody"]) == 1
    assert capsys.readouterr().err == "error: no tenant nobody\n"


@pytest.mark.usefixtures("cli_env")
def test_a_tenant_made_before_ids_were_checked_can_be_deleted(
    gw: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gallery refuses its id, so it has no gallery: only the tenant and its keys go."""
    with sqlite3.connect(gw.settings.tenants_db) as db:
        db.execute("INSERT INTO tenants (tenant_id, created_at) VALUES ('my app', 0)")
    db.close()
    assert tenants_cli(["delete", "my app"]) == 0
    assert tenants_cli(["list"]) == 0
    assert "my app" not in capsys.readouterr().out.splitlines()


def test_an_embedding_service_older_than_the_gateway_is_named(
    gw: GatewayUnderTest, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service without DeleteTenantClusterJobs (UNIMPLEMENTED: the generated servicer's own
    answer) is an upgrade to do, not "run it again when the service is up"; the tenant stays."""
    from concurrent import futures

    import grpc
    from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc

    class OlderService(embedding_pb2_grpc.EmbeddingServiceServicer):
        def ListGroups(  # noqa: N802
            self, request: embedding_pb2.ListGroupsRequest, context: grpc.ServicerContext
        ) -> embedding_pb2.ListGroupsResponse:
            return embedding_pb2.ListGroupsResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(OlderService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        monkeypatch.setenv("FACEFLOW_GATEWAY_DATA_DIR", str(gw.settings.data_dir))
        monkeypatch.setenv("FACEFLOW_GATEWAY_EMBEDDING_ADDR", f"127.0.0.1:{port}")
        tenant, _ = new_tenant(capsys)
        assert tenants_cli(["delete", tenant]) == 1
        error = capsys.readouterr().err
        assert "is older than this gateway" in error and "upgrade it first" in error
        assert tenants_cli(["list"]) == 0 and tenant in capsys.readouterr().out.split()
    finally:
        server.stop(grace=None)
