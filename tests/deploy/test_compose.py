"""docker-compose.yml: every model service of the checkout is in it, healthy before the gateway
starts, on a private network; only the proxy in front of the gateways publishes a port;
PostgreSQL + pgvector, on a named volume, holds every piece of state, so the gateway, liveness
and the model services keep none and scale. (scripts/docker_e2e.sh runs the file for real,
with two gateways and two embedding services.)"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from deploy.docker.components import REPO_ROOT, model_services
from deploy.kubernetes.render import default_port, render_all
from services.shared.server import GRACE_SECONDS

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed file (YAML merge keys resolved, as Compose does)."""
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def test_every_model_service_is_composed(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(model_services()) <= set(services), "add the new service to docker-compose.yml"
    assert set(services) == {*model_services(), "gateway", "proxy", "postgres"}


@pytest.mark.parametrize("name", model_services())
def test_model_service_block(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["build"]["args"]["SERVICE"] == name
    assert service["build"]["context"] == "var/docker/context"
    assert service["image"].startswith(f"faceflow/{name}:")
    assert service["environment"][f"FACEFLOW_{name.upper()}_PORT"] == str(default_port(name))
    assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "deploy.docker.healthcheck"]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert service["networks"] == ["backend"]
    assert "ports" not in service


@pytest.mark.parametrize("name", model_services())
def test_gateway_waits_for_each_service_and_knows_its_address(
    compose: dict[str, Any], name: str
) -> None:
    gateway = compose["services"]["gateway"]
    assert gateway["depends_on"][name] == {"condition": "service_healthy"}
    address = gateway["environment"][f"FACEFLOW_GATEWAY_{name.upper()}_ADDR"]
    assert address == f"dns:///{name}:{default_port(name)}"  # round_robin over replicas


def test_only_the_proxy_publishes_a_port(compose: dict[str, Any]) -> None:
    published = {name for name, service in compose["services"].items() if "ports" in service}
    assert published == {"proxy"}
    proxy = compose["services"]["proxy"]
    assert proxy["ports"] == [
        "${FACEFLOW_HTTP_BIND:-127.0.0.1}:${FACEFLOW_HTTP_PORT:-8000}:8080",
        "${FACEFLOW_HTTP_BIND:-127.0.0.1}:${FACEFLOW_HTTPS_PORT:-8443}:8443",
    ]
    assert proxy["build"]["context"] == "deploy/docker/proxy"
    assert proxy["depends_on"]["gateway"] == {"condition": "service_healthy"}
    assert proxy["networks"] == ["frontend"] and proxy["read_only"] is True
    assert compose["networks"]["backend"]["internal"] is True
    assert set(compose["services"]["gateway"]["networks"]) == {"backend", "frontend"}


def test_the_proxy_resolves_the_gateways_at_request_time() -> None:
    proxy = REPO_ROOT / "deploy" / "docker" / "proxy"
    config = (proxy / "nginx.conf").read_text()
    assert "resolver 127.0.0.11" in config  # Docker's DNS: every replica, re-read every 2 s
    assert "listen 8080;" in config
    assert "include /etc/nginx/faceflow-gateway.conf;" in config
    assert "include /tmp/nginx-tls.conf;" in config  # HTTPS, written by start.sh
    location = (proxy / "faceflow-gateway.conf").read_text()
    assert "proxy_pass http://$gateway:8000;" in location


def test_the_proxy_serves_https_with_a_mounted_or_self_signed_certificate(
    compose: dict[str, Any],
) -> None:
    proxy = compose["services"]["proxy"]
    assert proxy["environment"]["FACEFLOW_TLS"] == "${FACEFLOW_TLS:-self-signed}"
    assert proxy["volumes"] == ["${FACEFLOW_TLS_DIR:-./deploy/docker/tls}:/etc/faceflow/tls:ro"]
    start = (REPO_ROOT / "deploy" / "docker" / "proxy" / "start.sh").read_text()
    assert "listen 8443 ssl http2;" in start
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in start  # WeChat needs TLS 1.2 or newer
    for mode in ("off)", "files)", "self-signed)"):
        assert mode in start
    dockerfile = (REPO_ROOT / "deploy" / "docker" / "proxy" / "Dockerfile").read_text()
    assert 'CMD ["/usr/local/bin/faceflow-proxy"]' in dockerfile


def test_gallery_lives_in_postgres_on_a_named_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["build"]["context"] == "deploy/docker/postgres"
    assert "gallery-db:/var/lib/postgresql/data" in postgres["volumes"]
    assert "gallery-db" in compose["volumes"]
    embedding = compose["services"]["embedding"]
    assert embedding["environment"]["FACEFLOW_EMBEDDING_STORE_URL"].startswith("postgresql://")
    assert "@postgres:5432/faceflow" in embedding["environment"]["FACEFLOW_EMBEDDING_STORE_URL"]
    assert embedding["depends_on"]["postgres"] == {"condition": "service_healthy"}


@pytest.mark.parametrize(
    ("name", "variable"),
    [("gateway", "FACEFLOW_GATEWAY_DATABASE_URL"), ("liveness", "FACEFLOW_LIVENESS_DATABASE_URL")],
)
def test_gateway_and_liveness_keep_their_state_in_postgres(
    compose: dict[str, Any], name: str, variable: str
) -> None:
    service = compose["services"][name]
    assert "@postgres:5432/faceflow" in service["environment"][variable]
    assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "volumes" not in service  # nothing of theirs on disk: they scale


def test_only_postgres_has_a_volume(compose: dict[str, Any]) -> None:
    with_volumes = {name for name, service in compose["services"].items() if "volumes" in service}
    assert with_volumes == {"postgres", "proxy"}  # the proxy's: its certificate, read-only
    assert set(compose["volumes"]) == {"gallery-db"}


def test_services_finish_their_calls_before_they_are_killed(compose: dict[str, Any]) -> None:
    """A model service gives calls in flight GRACE_SECONDS after SIGTERM: Compose (10 s by
    default) and Kubernetes must wait longer before they SIGKILL it."""
    for name in model_services():
        grace = compose["services"][name]["stop_grace_period"]
        assert grace.endswith("s") and int(grace[:-1]) > GRACE_SECONDS
    deployments = [
        document
        for text in render_all().values()
        for document in yaml.safe_load_all(text)
        if isinstance(document, dict) and document.get("kind") == "Deployment"
    ]
    assert deployments
    for deployment in deployments:
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > (
            GRACE_SECONDS
        )
