"""Stateless replicas on one PostgreSQL: two real gateway processes share tenants, API keys
and rate limits; two real liveness processes share sessions, each claimed once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.local.stack import free_port
from services.shared.topology import SERVICE_NAMES
from tests.helpers import images

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("FACEFLOW_TEST_POSTGRES_URL", "")

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL and os.environ.get("CI", "").lower() != "true",  # CI: fail, never skip
    reason="FACEFLOW_TEST_POSTGRES_URL is not set: run `bash scripts/test_services.sh`",
)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "protos" / "gen")])
    return env


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# ----------------------------------------------------------------- gateways


def gateway_env(tmp_path: Path, per_minute: int) -> dict[str, str]:
    env = {f"FACEFLOW_GATEWAY_{name.upper()}_ADDR": "" for name in SERVICE_NAMES}
    env.update(
        {
            "FACEFLOW_GATEWAY_DATABASE_URL": POSTGRES_URL,
            "FACEFLOW_GATEWAY_RATE_LIMIT_PER_MINUTE": str(per_minute),
            "FACEFLOW_GATEWAY_DATA_DIR": str(tmp_path / "unused-sqlite"),
        }
    )
    return env


@pytest.fixture(scope="module")
def gateways(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[str], dict[str, str]]]:
    env = gateway_env(tmp_path_factory.mktemp("gateways"), per_minute=4)
    urls, processes = [], []
    for _ in range(2):
        port = free_port()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gateway"],
                env=child_env({**env, "FACEFLOW_GATEWAY_PORT": str(port)}),
                cwd=ROOT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} did not start"
                time.sleep(0.2)
        yield urls, env
    finally:
        stop(processes)


def tenants_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.tenants", *args],
        env=child_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def groups_status(url: str, key: str) -> int:
    """401 for a key no replica knows; 503 once it passed (no embedding service here)."""
    response = httpx.get(f"{url}/api/v1/groups", headers={"x-api-key": key}, timeout=10)
    return response.status_code


def test_a_key_made_anywhere_works_on_every_gateway_and_a_revoked_one_on_none(
    gateways: tuple[list[str], dict[str, str]],
) -> None:
    urls, env = gateways
    tenant = f"app-{uuid.uuid4().hex[:8]}"
    key = tenants_cli(env, "create", tenant)
    assert [groups_status(url, key) for url in urls] == [503, 503]
    assert [groups_status(url, "ff_unknown") for url in urls] == [401, 401]
    tenants_cli(env, "revoke", key)
    assert [groups_status(url, key) for url in urls] == [401, 401]


def test_the_rate_limit_is_one_bucket_across_gateways(
    gateways: tuple[list[str], dict[str, str]],
) -> None:
    urls, env = gateways
    tenant = f"app-{uuid.uuid4().hex[:8]}"
    key = tenants_cli(env, "create", tenant)
    allowed = [groups_status(urls[i % 2], key) for i in range(4)]  # 4 per minute in all
    assert allowed == [503, 503, 503, 503]
    for url in urls:
        response = httpx.get(f"{url}/api/v1/groups", headers={"x-api-key": key}, timeout=10)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "RATE_LIMITED"
        assert int(response.headers["retry-after"]) >= 1


# ----------------------------------------------------------------- liveness


@pytest.fixture(scope="module")
def liveness_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    folder = tmp_path_factory.mktemp("liveness")
    addresses, processes = [], []
    for index in range(2):
        port = free_port()
        env = {
            "FACEFLOW_LIVENESS_DATABASE_URL": POSTGRES_URL,
            "FACEFLOW_LIVENESS_PORT": str(port),
            "FACEFLOW_LIVENESS_DATA_DIR": str(folder / f"unused-{index}"),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "services.liveness.server"], env=child_env(env), cwd=ROOT
            )
        )
        addresses.append(f"127.0.0.1:{port}")
    try:
        for address in addresses:
            with grpc.insecure_channel(address) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                deadline = time.monotonic() + 120
                while True:
                    try:
                        reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                        if reply.status == health_pb2.HealthCheckResponse.SERVING:
                            break
                    except grpc.RpcError:
                        pass
                    assert time.monotonic() < deadline, f"liveness on {address} did not start"
                    time.sleep(0.3)
        yield addresses
    finally:
        stop(processes)


def verify(address: str, tenant: str, session_id: str) -> liveness_pb2.VerifySessionResponse:
    frames = [common_pb2.Image(data=images.astronaut_jpeg()) for _ in range(3)]
    with grpc.insecure_channel(address) as channel:
        stub = liveness_pb2_grpc.LivenessServiceStub(channel)
        request = liveness_pb2.VerifySessionRequest(
            tenant_id=tenant, session_id=session_id, frames=frames
        )
        reply: liveness_pb2.VerifySessionResponse = stub.VerifySession(request, timeout=60)
        return reply


def test_a_session_is_created_on_one_replica_and_claimed_once_across_both(
    liveness_replicas: list[str],
) -> None:
    first, second = liveness_replicas
    tenant = f"app-{uuid.uuid4().hex[:8]}"
    with grpc.insecure_channel(first) as channel:
        stub = liveness_pb2_grpc.LivenessServiceStub(channel)
        session = stub.CreateSession(liveness_pb2.CreateSessionRequest(tenant_id=tenant))
    verdict = verify(second, tenant, session.session_id)  # created on one, verified on the other
    assert not verdict.live  # a still photo performs none of the actions
    for address in (first, second):
        with pytest.raises(grpc.RpcError) as refused:
            verify(address, tenant, session.session_id)
        metadata = dict(refused.value.trailing_metadata() or ())  # type: ignore[attr-defined]
        assert "SESSION_ALREADY_USED" in metadata.values()
    with pytest.raises(grpc.RpcError) as other_tenant:
        verify(first, "someone-else", session.session_id)
    metadata = dict(other_tenant.value.trailing_metadata() or ())  # type: ignore[attr-defined]
    assert "SESSION_NOT_FOUND" in metadata.values()
