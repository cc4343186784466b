"""The tools the images run and are built with: component discovery, the entry point, the
health check (against a real gRPC server and a real HTTP server), and context staging."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.docker import entrypoint, healthcheck
from deploy.docker.components import (
    GATEWAY,
    Component,
    UnknownComponentError,
    component,
    current,
    model_services,
    settings_class,
)
from deploy.docker.stage import models_of, stage_code, stage_models
from deploy.local.stack import free_port
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.topology import SERVICE_NAMES, SERVICE_PORTS
from tests.helpers.busy_service import saturated_service


def test_model_services_are_the_folders_with_a_server(tmp_path: Path) -> None:
    for name in ("alpha", "beta", "shared"):
        (tmp_path / "services" / name).mkdir(parents=True)
    (tmp_path / "services" / "alpha" / "server.py").write_text("")
    (tmp_path / "services" / "shared" / "server.py").write_text("")
    assert model_services(tmp_path) == ["alpha"]
    assert "detection" in model_services()


def test_the_service_folders_are_the_topology_with_its_ports() -> None:
    assert sorted(model_services()) == sorted(SERVICE_NAMES)
    for name, port in SERVICE_PORTS.items():
        assert settings_class(Component(name))().port == port


def test_unknown_component_is_a_clear_error() -> None:
    with pytest.raises(UnknownComponentError, match="unknown component 'nope'"):
        component("nope")
    with pytest.raises(UnknownComponentError, match="FACEFLOW_SERVICE is not set"):
        current({})
    assert current({"FACEFLOW_SERVICE": "gateway"}).is_gateway


def test_settings_class_of_each_component() -> None:
    assert settings_class(Component(GATEWAY)).__name__ == "GatewaySettings"
    assert settings_class(Component("detection")).__name__ == "DetectionSettings"


def test_models_baked_into_each_image() -> None:
    manifest = ModelStore().manifest
    assert models_of(Component("detection"), manifest) == ["yunet", "facemesh"]
    assert models_of(Component(GATEWAY), manifest) == []
    for name in model_services():
        assert set(models_of(Component(name), manifest)) <= set(manifest)


def test_entrypoint_listens_on_all_interfaces_unless_told() -> None:
    detection = Component("detection")
    assert entrypoint.environment(detection, {})["FACEFLOW_DETECTION_HOST"] == "0.0.0.0"
    told = entrypoint.environment(detection, {"FACEFLOW_DETECTION_HOST": "10.1.2.3"})
    assert told["FACEFLOW_DETECTION_HOST"] == "10.1.2.3"
    assert entrypoint.command(detection, [])[1:] == ["-m", "services.detection.server"]
    assert entrypoint.command(Component(GATEWAY), ["--x"])[1:] == ["-m", "gateway", "--x"]


def test_entrypoint_refuses_an_unknown_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEFLOW_SERVICE", "nope")
    assert entrypoint.main([]) == 2


def test_grpc_probe_healthy_on_a_serving_service(detection_address: str) -> None:
    result = healthcheck.probe_grpc(detection_address)
    assert result.healthy
    assert result.detail.endswith("SERVING")
    assert healthcheck.main(["--address", detection_address]) == 0


def test_grpc_probe_healthy_on_a_busy_service() -> None:
    """A full queue refuses the health check with RESOURCE_EXHAUSTED: busy, not dead, so the
    container (and the Kubernetes liveness probe, which runs this module) is not restarted."""
    with saturated_service() as address:
        result = healthcheck.probe_grpc(address)
        assert result.healthy
        assert result.detail.endswith("RESOURCE_EXHAUSTED")
        assert healthcheck.main(["--address", address]) == 0


def test_grpc_probe_unhealthy_when_nothing_listens() -> None:
    result = healthcheck.probe_grpc(f"127.0.0.1:{free_port()}", timeout=1.0)
    assert not result.healthy
    assert "UNAVAILABLE" in result.detail or "DEADLINE_EXCEEDED" in result.detail


def test_grpc_probe_unhealthy_while_not_serving(model_store: ModelStore) -> None:
    from services.detection.server import create_app
    from services.detection.settings import DetectionSettings

    app, _ = create_app(DetectionSettings(port=0), model_store)
    port = app.start(0)  # started, models loaded, but not marked SERVING yet
    try:
        result = healthcheck.probe_grpc(f"127.0.0.1:{port}")
        assert not result.healthy
        assert result.detail.endswith("NOT_SERVING")
    finally:
        app.stop(grace=0.5)


def test_component_probe_uses_the_port_from_the_environment(
    detection_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFLOW_DETECTION_PORT", detection_address.rsplit(":", 1)[1])
    monkeypatch.setenv("FACEFLOW_SERVICE", "detection")
    assert healthcheck.main([]) == 0
    monkeypatch.setenv("FACEFLOW_DETECTION_PORT", str(free_port()))
    assert healthcheck.main(["--timeout", "1"]) == 1


class _Status(http.server.BaseHTTPRequestHandler):
    """Answers like a gateway whose model services are down: alive, not ready."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def http_server() -> Iterator[str]:
    """A real HTTP server: 200 on /healthz, 503 elsewhere (/readyz included)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_probe(http_server: str) -> None:
    assert healthcheck.probe_http(f"{http_server}/healthz").healthy
    not_ready = healthcheck.probe_http(f"{http_server}/readyz")
    assert not not_ready.healthy and "HTTP 503" in not_ready.detail
    assert not healthcheck.probe_http(f"http://127.0.0.1:{free_port()}/healthz", 1.0).healthy
    assert healthcheck.main(["--url", f"{http_server}/healthz"]) == 0
    assert healthcheck.main(["--url", f"{http_server}/readyz"]) == 1


def test_a_gateway_with_a_service_down_is_still_a_healthy_container(
    http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway container's check asks /healthz, not /readyz (see healthcheck.py)."""
    monkeypatch.setenv("FACEFLOW_SERVICE", "gateway")
    monkeypatch.setenv("FACEFLOW_GATEWAY_PORT", http_server.rsplit(":", 1)[1])
    assert healthcheck.main([]) == 0
    monkeypatch.setenv("FACEFLOW_GATEWAY_PORT", str(free_port()))
    assert healthcheck.main(["--timeout", "1"]) == 1


def test_staged_code_has_what_the_images_import_and_nothing_else(tmp_path: Path) -> None:
    stage_code(tmp_path / "app")
    app = tmp_path / "app"
    for needed in (
        "services/shared/server.py",
        "services/detection/server.py",
        "gateway/main.py",
        "deploy/docker/healthcheck.py",
        "models/yunet.toml",
    ):
        assert (app / needed).is_file(), needed
    assert list(app.glob("protos/gen/faceflow/**/*_pb2.py"))
    assert not list(app.rglob("__pycache__"))
    assert not (app / "tests").exists() and not (app / "training").exists()


def test_staging_refuses_a_corrupt_model(tmp_path: Path, model_store: ModelStore) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    corrupt = ModelStore(cache)
    spec = corrupt.spec("yunet")
    corrupt.path_for(spec).write_bytes(b"not the model")
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        stage_models(Component("detection"), corrupt, tmp_path / "models")


def test_staging_links_the_verified_models(tmp_path: Path, model_store: ModelStore) -> None:
    staged = stage_models(Component("detection"), model_store, tmp_path / "detection")
    assert staged == ["yunet-2023mar.tflite", "facemesh-mediapipe-2022.tflite"]
    assert stage_models(Component(GATEWAY), model_store, tmp_path / "gateway") == []
    assert (tmp_path / "gateway" / ".none").is_file()


def test_bench_reads_docker_timestamps() -> None:
    from deploy.docker.bench_stack import parse_time, percentile

    started = parse_time("2026-11-28T12:47:32.812345678Z")
    ready = parse_time("2026-11-28T12:47:34.504Z\n")
    assert (ready - started).total_seconds() == pytest.approx(1.691655)
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
