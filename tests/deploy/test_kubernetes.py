"""The Kubernetes manifests: rendered from the code, valid against the Kubernetes schemas (via
the PyPI package kubernetes-validate, offline), and shaped as the deployment needs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from deploy.docker.components import model_services
from deploy.kubernetes.render import (
    GATEWAY_WORKING_MEMORY_BYTES,
    LIVENESS_WORKING_MEMORY_BYTES,
    NAMESPACE,
    OUTPUT_DIR,
    PROXY_READ_TIMEOUT_SECONDS,
    default_port,
    render_all,
    stale_files,
)
from faceflow_sdk.client import DEFAULT_TIMEOUT_SECONDS
from gateway.core.config import REPO_ROOT, GatewaySettings
from gateway.orchestration.liveness_calls import VERIFY_DEADLINE_SECONDS

KUBERNETES_VERSION = "1.33.0"  # oldest we promise; gRPC probes are GA since 1.27


QUANTITY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def quantity_bytes(quantity: str) -> int:
    """A binary Kubernetes quantity ("160Mi") in bytes."""
    unit = quantity[-2:]
    return int(quantity[:-2]) * QUANTITY_UNITS[unit] if unit in QUANTITY_UNITS else int(quantity)


def manifest_files() -> list[Path]:
    """The resource files (the kustomization is not a cluster resource)."""
    return sorted(p for p in OUTPUT_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def documents() -> list[dict[str, Any]]:
    """Every resource in every file."""
    docs: list[dict[str, Any]] = []
    for path in manifest_files():
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def find(kind: str, name: str) -> dict[str, Any]:
    """The resource of that kind and name."""
    for doc in documents():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name}")


def test_committed_manifests_match_the_renderer() -> None:
    assert stale_files(render_all()) == []


def test_stale_check_notices_an_edited_file(tmp_path: Path) -> None:
    texts = render_all()
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    edited = texts["gateway.yaml"].replace("minReplicas: 2", "minReplicas: 3")
    (tmp_path / "gateway.yaml").write_text(edited)
    assert stale_files(texts, tmp_path) == ["gateway.yaml"]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifests_pass_the_kubernetes_schemas(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_wrong_manifest() -> None:
    deployment = copy.deepcopy(find("Deployment", "detection"))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    unknown = copy.deepcopy(find("Deployment", "detection"))
    unknown["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_file() -> None:
    kustomization = yaml.safe_load((OUTPUT_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in manifest_files())
    assert kustomization["namespace"] == NAMESPACE


@pytest.mark.parametrize("name", model_services())
def test_each_model_service_has_grpc_probes_and_a_headless_service(name: str) -> None:
    port = default_port(name)
    container = find("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["grpc"] == {"port": port}
    # Liveness runs the health-check module, which counts a check refused because the queue
    # is full (RESOURCE_EXHAUSTED) as alive: the built-in gRPC probe would restart a busy pod.
    liveness = container["livenessProbe"]
    assert "grpc" not in liveness
    assert liveness["exec"]["command"] == [
        "python",
        "-m",
        "deploy.docker.healthcheck",
        "--address",
        f"127.0.0.1:{port}",
    ]
    assert {"name": "grpc", "containerPort": port} in container["ports"]
    assert set(container["resources"]) == {"requests", "limits"}
    headless = find("Service", f"{name}-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("name", [*model_services(), "gateway"])
def test_every_deployment_is_stateless_and_autoscales(name: str) -> None:
    hpa = find("HorizontalPodAutoscaler", name)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name,
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert find("PodDisruptionBudget", name)["spec"]["minAvailable"] == 1
    deployment = find("Deployment", name)
    # the HPA owns the count: a replicas field would reset a scaled-out Deployment on apply
    assert "replicas" not in deployment["spec"]
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert not any("persistentVolumeClaim" in volume for volume in volumes)
    assert not any(d["kind"] == "PersistentVolumeClaim" for d in documents())


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("embedding", "FACEFLOW_EMBEDDING_STORE_URL"),
        ("gateway", "FACEFLOW_GATEWAY_DATABASE_URL"),
        ("liveness", "FACEFLOW_LIVENESS_DATABASE_URL"),
    ],
)
def test_state_lives_in_the_postgres_of_the_secret(name: str, variable: str) -> None:
    env = find("Deployment", name)["spec"]["template"]["spec"]["containers"][0]["env"]
    url = next(e for e in env if e["name"] == variable)
    assert url["valueFrom"]["secretKeyRef"] == {"name": "faceflow-gallery", "key": "store-url"}


def test_gateway_balances_round_robin_over_headless_services() -> None:
    env = {
        e["name"]: e["value"]
        for e in find("Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]["env"]
        if "value" in e
    }
    for name in model_services():
        expected = f"dns:///{name}-headless.{NAMESPACE}.svc.cluster.local:{default_port(name)}"
        assert env[f"FACEFLOW_GATEWAY_{name.upper()}_ADDR"] == expected


def test_gateway_is_behind_a_service_and_an_ingress() -> None:
    service = find("Service", "gateway")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    backend = find("Ingress", "gateway")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "gateway"
    probes = find("Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    # /healthz: a service that is down is the 503 of the routes that need it, not of every
    # route of every gateway pod (/readyz, every service SERVING, is for operators).
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probes[probe]["httpGet"]["path"] == "/healthz"


def test_the_ingress_serves_https_for_its_host_and_redirects_http() -> None:
    """WeChat mini-programs call only HTTPS: the Ingress names its certificate's Secret for the
    host it routes, and plain HTTP is redirected."""
    ingress = find("Ingress", "gateway")
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert ingress["spec"]["tls"] == [{"hosts": hosts, "secretName": "faceflow-tls"}]
    redirect = "nginx.ingress.kubernetes.io/force-ssl-redirect"
    assert ingress["metadata"]["annotations"][redirect] == "true"


def test_the_ingress_lets_through_what_the_gateway_accepts() -> None:
    """nginx's body limit follows the gateway's setting (rounded up to whole MiB): a body the
    gateway accepts is never refused by nginx's own HTML 413 first."""
    annotations = find("Ingress", "gateway")["metadata"]["annotations"]
    size = annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert size.endswith("m")
    largest_body = GatewaySettings.model_fields["max_request_bytes"].default
    assert int(size[:-1]) * 1024**2 >= largest_body > (int(size[:-1]) - 1) * 1024**2


def test_proxies_and_the_sdk_wait_longer_than_the_gateways_longest_deadline() -> None:
    """A liveness verification or a clustering request may take the gateway 60 s after the
    upload: the Ingress, Compose's proxy and the SDK must not answer a 504 / give up first
    (the session would be used by then, a clustering job created twice)."""
    longest = max(
        VERIFY_DEADLINE_SECONDS, GatewaySettings.model_fields["cluster_deadline_seconds"].default
    )
    annotations = find("Ingress", "gateway")["metadata"]["annotations"]
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert annotations[f"nginx.ingress.kubernetes.io/{name}"] == str(PROXY_READ_TIMEOUT_SECONDS)
    compose_proxy = REPO_ROOT / "deploy" / "docker" / "proxy" / "faceflow-gateway.conf"
    assert f"proxy_read_timeout {PROXY_READ_TIMEOUT_SECONDS}s;" in compose_proxy.read_text()
    assert longest + 30 <= PROXY_READ_TIMEOUT_SECONDS  # and the upload's time before it
    assert DEFAULT_TIMEOUT_SECONDS >= PROXY_READ_TIMEOUT_SECONDS


def test_gateway_tmp_holds_twice_the_largest_body() -> None:
    """Starlette spools an upload to /tmp and /videos/recognize copies the video there again:
    a request at the body limit needs twice the limit. /tmp is memory, so the memory limit
    covers it on top of the process's own."""
    pod = find("Deployment", "gateway")["spec"]["template"]["spec"]
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")["emptyDir"]
    largest_body = GatewaySettings.model_fields["max_request_bytes"].default
    assert quantity_bytes(tmp["sizeLimit"]) > 2 * largest_body
    assert tmp["medium"] == "Memory"
    memory = quantity_bytes(pod["containers"][0]["resources"]["limits"]["memory"])
    assert memory >= GATEWAY_WORKING_MEMORY_BYTES + quantity_bytes(tmp["sizeLimit"])


def test_liveness_tmp_holds_a_video_per_handler_thread() -> None:
    """Each liveness handler thread may write one verification video to /tmp for OpenCV at
    once; /tmp is memory, so the memory limit covers it on top of the process's own."""
    from services.liveness.settings import LivenessSettings

    pod = find("Deployment", "liveness")["spec"]["template"]["spec"]
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")["emptyDir"]
    fields = LivenessSettings.model_fields
    videos = fields["max_workers"].default * fields["max_video_bytes"].default
    assert quantity_bytes(tmp["sizeLimit"]) > videos
    assert tmp["medium"] == "Memory"
    memory = quantity_bytes(pod["containers"][0]["resources"]["limits"]["memory"])
    assert memory >= LIVENESS_WORKING_MEMORY_BYTES + quantity_bytes(tmp["sizeLimit"])


def test_postgres_is_external_by_url_from_a_secret() -> None:
    assert "store-url" in find("Secret", "faceflow-gallery")["stringData"]
    env = find("Deployment", "embedding")["spec"]["template"]["spec"]["containers"][0]["env"]
    store = next(e for e in env if e["name"] == "FACEFLOW_EMBEDDING_STORE_URL")
    assert store["valueFrom"]["secretKeyRef"] == {"name": "faceflow-gallery", "key": "store-url"}
    assert not any(d["kind"] in ("StatefulSet",) for d in documents())


def test_every_pod_runs_non_root_with_a_read_only_root() -> None:
    deployments = [d for d in documents() if d["kind"] == "Deployment"]
    assert len(deployments) == len(model_services()) + 1
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
