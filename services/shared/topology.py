"""The model services FaceFlow runs, their default gRPC ports, and the gateway's HTTP port.

The one list the service settings, the gateway, the local launcher, Compose/Kubernetes
rendering and the tests read. Add a service here (and its ``services/<name>/`` folder).
"""

from __future__ import annotations

SERVICE_PORTS: dict[str, int] = {
    "detection": 50051,
    "embedding": 50052,
    "liveness": 50053,
    "attributes": 50054,
}
SERVICE_NAMES: tuple[str, ...] = tuple(SERVICE_PORTS)
GATEWAY_PORT = 8000
