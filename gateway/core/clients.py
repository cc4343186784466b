"""gRPC channels to the model services, opened in the app's lifespan.

Every call has a deadline; only UNAVAILABLE is retried, a bounded number of times with a short
backoff. ``dns:///`` addresses get client-side round_robin across the resolved replicas.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.core.config import GatewaySettings
from gateway.core.errors import ApiError, from_rpc_error, service_unavailable
from services.shared.topology import SERVICE_NAMES

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_BACKOFF_SECONDS = 0.05


def channel_options(address: str, max_message_bytes: int) -> list[tuple[str, Any]]:
    """Channel options; round_robin for dns:/// names."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
    if address.startswith("dns:///"):
        config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
        options.append(("grpc.service_config", json.dumps(config)))
    return options


@dataclass
class ServiceClients:
    """One aio channel per configured service."""

    settings: GatewaySettings
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    def open(self) -> None:
        """Create the channels (lazy connect) for every service with an address."""
        for name in SERVICE_NAMES:
            address = getattr(self.settings, f"{name}_addr")
            if address:
                self.channels[name] = grpc.aio.insecure_channel(
                    address, options=channel_options(address, self.settings.max_request_bytes)
                )

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels.values():
            await channel.close()
        self.channels.clear()

    def channel(self, name: str) -> grpc.aio.Channel:
        """The channel of a service, or SERVICE_UNAVAILABLE if it is not deployed."""
        try:
            return self.channels[name]
        except KeyError:
            raise service_unavailable(name) from None

    async def call(
        self,
        name: str,
        method: Callable[..., Awaitable[T]],
        request: Any,
        timeout: float | None = None,
    ) -> T:
        """Call with a deadline; retry UNAVAILABLE a bounded number of times; map errors."""
        deadline = timeout or self.settings.deadline_seconds
        attempts = self.settings.unavailable_retries + 1
        for attempt in range(attempts):
            try:
                return await method(request, timeout=deadline)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.UNAVAILABLE and attempt + 1 < attempts:
                    await asyncio.sleep(RETRY_BACKOFF_SECONDS * (attempt + 1))
                    continue
                if error.code() == grpc.StatusCode.UNAVAILABLE:
                    log.warning("%s unavailable: %s", name, error.details())
                    raise ApiError(
                        503, "SERVICE_UNAVAILABLE", f"the {name} service is unavailable"
                    ) from error
                raise from_rpc_error(error) from error
        raise AssertionError("unreachable")

    async def health(self) -> dict[str, str]:
        """Each configured service's gRPC health status name (or UNREACHABLE)."""

        async def check(name: str, channel: grpc.aio.Channel) -> tuple[str, str]:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service=""),
                    timeout=self.settings.health_deadline_seconds,
                )
            except grpc.aio.AioRpcError:
                return name, "UNREACHABLE"
            return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        results = await asyncio.gather(*(check(n, c) for n, c in self.channels.items()))
        return dict(results)
