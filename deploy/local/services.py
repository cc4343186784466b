"""The processes the local launcher starts: one per service in services/shared/topology.py."""

from __future__ import annotations

from dataclasses import dataclass

from services.shared.topology import SERVICE_PORTS


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


SERVICES: tuple[ServiceProcess, ...] = tuple(
    ServiceProcess(name, f"services.{name}.server", port) for name, port in SERVICE_PORTS.items()
)
