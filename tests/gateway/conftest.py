"""Gateway fixtures: the real app under TestClient, wired to real gRPC servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.core.config import GatewaySettings
from gateway.core.tenants import TenantStore
from gateway.main import create_app
from services.shared.topology import SERVICE_NAMES


@dataclass
class GatewayUnderTest:
    """A running gateway app and the demo tenant's key."""

    client: TestClient
    key: str
    settings: GatewaySettings

    @property
    def headers(self) -> dict[str, str]:
        """Auth headers for the demo tenant."""
        return {"x-api-key": self.key}

    def new_tenant_key(self, tenant: str) -> str:
        """Create another tenant and return its key."""
        store = TenantStore(self.settings.tenants_db)
        try:
            store.ensure_tenant(tenant)
            return store.create_key(tenant)
        finally:
            store.close()


GatewayFactory = Callable[..., GatewayUnderTest]


def gateway_settings(
    data_dir: Path, tenant: str = "demo", **options: Any
) -> tuple[GatewaySettings, str]:
    """Settings of a gateway with its data in data_dir (service addresses by name:
    detection=..., embedding=...; a service not named is not deployed) and a key of tenant."""
    addresses: dict[str, Any] = {
        f"{name}_addr": str(options.pop(name, "")) for name in SERVICE_NAMES
    }
    settings = GatewaySettings(data_dir=data_dir, **addresses, **options)
    store = TenantStore(settings.tenants_db)
    try:
        store.ensure_tenant(tenant)
        return settings, store.create_key(tenant)
    finally:
        store.close()


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Build gateways: pass service addresses by name (detection=..., embedding=...)."""
    clients: list[TestClient] = []

    def factory(**options: Any) -> GatewayUnderTest:
        settings, key = gateway_settings(tmp_path / f"gateway{len(clients)}", **options)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return GatewayUnderTest(client, key, settings)

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def gateway(make_gateway: GatewayFactory, detection_address: str) -> GatewayUnderTest:
    """A gateway with the detection service only."""
    return make_gateway(detection=detection_address)
