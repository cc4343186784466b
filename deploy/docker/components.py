"""The deployable components: each model service under services/ plus the gateway.

A model service is a folder ``services/<name>/`` with a ``server.py``; adding one needs no change
here. Everything that builds, runs or probes images asks this module, so the Docker tooling
picks up a new service by itself.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY = "gateway"
SERVICE_ENV = "FACEFLOW_SERVICE"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class UnknownComponentError(ValueError):
    """The name is neither the gateway nor a model service of this checkout."""


@dataclass(frozen=True)
class Component:
    """One image: its name, the module its process runs and its settings' env prefix."""

    name: str

    @property
    def is_gateway(self) -> bool:
        """True for the HTTP gateway, False for a gRPC model service."""
        return self.name == GATEWAY

    @property
    def module(self) -> str:
        """What ``python -m`` runs."""
        return GATEWAY if self.is_gateway else f"services.{self.name}.server"

    @property
    def env_prefix(self) -> str:
        """Prefix of its settings' environment variables."""
        return f"FACEFLOW_{self.name.upper()}_"


def model_services(root: Path = REPO_ROOT) -> list[str]:
    """Names of the model services present in this checkout, sorted."""
    services = root / "services"
    return sorted(
        path.parent.name
        for path in services.glob("*/server.py")
        if NAME_PATTERN.match(path.parent.name) and path.parent.name != "shared"
    )


def component(name: str, root: Path = REPO_ROOT) -> Component:
    """The component called name, or UnknownComponentError."""
    if name == GATEWAY or name in model_services(root):
        return Component(name)
    known = ", ".join([*model_services(root), GATEWAY])
    raise UnknownComponentError(f"unknown component {name!r} (known: {known})")


def current(environ: dict[str, str] | None = None) -> Component:
    """The component this container runs, from FACEFLOW_SERVICE."""
    env = os.environ if environ is None else environ
    name = env.get(SERVICE_ENV, "")
    if not name:
        raise UnknownComponentError(f"{SERVICE_ENV} is not set")
    return component(name)


def settings_class(comp: Component) -> type:
    """The pydantic-settings class of a component (imported, so its env vars apply)."""
    if comp.is_gateway:
        from gateway.core.config import GatewaySettings

        return GatewaySettings
    from services.shared.settings import ServiceSettings

    module = importlib.import_module(f"services.{comp.name}.settings")
    for _, value in inspect.getmembers(module, inspect.isclass):
        if (
            issubclass(value, ServiceSettings)
            and value is not ServiceSettings
            and value.__module__ == module.__name__
        ):
            return value
    raise UnknownComponentError(f"services/{comp.name}/settings.py defines no settings class")
