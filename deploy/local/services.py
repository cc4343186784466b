"""The table of processes the local launcher starts. Add a service here when it exists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceProcess:
    """A gRPC model service run as ``python -m <module>``."""

    name: str
    module: str
    port: int

    @property
    def env_prefix(self) -> str:
        """Its settings' environment prefix."""
        return f"FACEFLOW_{self.name.upper()}_"


SERVICES: tuple[ServiceProcess, ...] = (
    ServiceProcess("detection", "services.detection.server", 50051),
    ServiceProcess("embedding", "services.embedding.server", 50052),
    ServiceProcess("liveness", "services.liveness.server", 50053),
    ServiceProcess("attributes", "services.attributes.server", 50054),
)

GATEWAY_PORT = 8000
