"""Container health check: gRPC health for model services, /healthz for the gateway.

``python -m deploy.docker.healthcheck`` probes the component named by FACEFLOW_SERVICE on the
port its settings resolve to (environment included); ``--address HOST:PORT`` or ``--url URL``
probe something else. Exit status 0 means SERVING (or a check refused because the service's
queue is full: busy, not dead, ``services/shared/health.py``) / HTTP 200, 1 anything else: what
Docker's HEALTHCHECK and an exec probe (the Kubernetes liveness probe) expect. Kept tiny: it
runs every few seconds in every container.

The gateway is healthy when it answers ``/healthz``, as its Kubernetes probes say: a model
service that is down is the 503 of the routes that need it, and must not mark every gateway
container unhealthy (nor keep the proxy, which waits for a healthy gateway, from starting).
``/readyz`` (every service SERVING) is for operators and the end-to-end check.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.docker.components import SERVICE_ENV, UnknownComponentError, component, settings_class
from services.shared.health import ALIVE_CODES

DEFAULT_TIMEOUT = 3.0
GATEWAY_HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of one probe: healthy or not, and what was seen."""

    healthy: bool
    detail: str


def probe_grpc(address: str, timeout: float = DEFAULT_TIMEOUT, service: str = "") -> ProbeResult:
    """Ask grpc.health.v1.Health/Check; healthy on SERVING, or refused as busy (ALIVE_CODES)."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            return ProbeResult(code in ALIVE_CODES, f"{address}: {code.name}")
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return ProbeResult(status == "SERVING", f"{address}: {status}")


def probe_http(url: str, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """GET url; healthy only on HTTP 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return ProbeResult(response.status == 200, f"{url}: HTTP {response.status}")
    except urllib.error.HTTPError as error:
        return ProbeResult(False, f"{url}: HTTP {error.code}")
    except (urllib.error.URLError, OSError) as error:
        return ProbeResult(False, f"{url}: {error}")


def probe_component(name: str, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """Probe a component on 127.0.0.1 at the port its settings (and environment) give."""
    comp = component(name)
    port = int(settings_class(comp)().port)
    if comp.is_gateway:
        return probe_http(f"http://127.0.0.1:{port}{GATEWAY_HEALTH_PATH}", timeout)
    return probe_grpc(f"127.0.0.1:{port}", timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.docker.healthcheck")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--service", help=f"component name (default: ${SERVICE_ENV})")
    target.add_argument("--address", help="probe gRPC health at HOST:PORT")
    target.add_argument("--url", help="probe an HTTP URL (healthy on 200)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    options = parser.parse_args(argv)
    try:
        if options.address:
            result = probe_grpc(options.address, options.timeout)
        elif options.url:
            result = probe_http(options.url, options.timeout)
        else:
            name = options.service or os.environ.get(SERVICE_ENV, "")
            if not name:
                parser.error(f"give --service, --address or --url, or set {SERVICE_ENV}")
            result = probe_component(name, options.timeout)
    except UnknownComponentError as error:
        sys.stderr.write(f"unhealthy: {error}\n")
        return 1
    stream = sys.stdout if result.healthy else sys.stderr
    stream.write(("healthy: " if result.healthy else "unhealthy: ") + result.detail + "\n")
    return 0 if result.healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
