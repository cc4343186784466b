"""gRPC channels to the model services, opened in the app's lifespan.

Every call has a deadline; only UNAVAILABLE is retried, a bounded number of times with a short
backoff, as each RPC's ``Retry`` policy says (declared by its typed wrapper in
``gateway/orchestration/*_calls.py``): UNAVAILABLE may come after the service committed a write,
so a write is resent only when a repeat is safe. ``dns:///`` addresses get client-side
round_robin across the resolved replicas.

Fail fast: a background task per service checks its gRPC health every
``health_watch_interval_seconds`` with a short deadline (``HealthWatch``). While a service is
down (unreachable, NOT_SERVING, or not answering within the deadline) calls to it are answered
503 SERVICE_UNAVAILABLE at once, and calls already waiting on it are cut short, instead of
waiting for the 10 s deadline; the first passed check brings it back. A health check refused
with RESOURCE_EXHAUSTED means a busy service, not a dead one. A service that sheds load
(RESOURCE_EXHAUSTED on a call: its queue is full) is answered 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.core.config import GatewaySettings
from gateway.core.errors import ApiError, from_rpc_error, has_error_code, service_unavailable
from services.shared.health import ALIVE_CODES
from services.shared.topology import SERVICE_NAMES

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_BACKOFF_SECONDS = 0.05
RECONNECT_BACKOFF_MS = (250, 1000)
OVERLOAD_RETRY_AFTER_SECONDS = 1
DOWN = "DOWN"
SERVING = "SERVING"


class Retry(enum.Enum):
    """What a call sends again after UNAVAILABLE, which may come after the service committed.

    Every typed RPC wrapper declares one (``gateway/orchestration/*_calls.py``).
    """

    SAME = "same"
    """Reads, and writes whose repeat changes nothing (or whose ``request_key`` makes the
    service answer a repeat with what the first attempt did): the same request again."""
    MARKED = "marked"
    """Writes with a ``retry`` field: a copy with ``retry`` set, which the service answers as
    the first attempt would have (what the first attempt created or deleted is success)."""
    NEVER = "never"
    """Writes whose answer cannot be rebuilt (a single-use liveness session: its verdict is not
    stored): sent once, UNAVAILABLE is answered 503 SERVICE_UNAVAILABLE."""


def marked_retry(request: T) -> T:
    """A copy of a write request with its ``retry`` field set (``Retry.MARKED``)."""
    again = type(request)()
    again.CopyFrom(request)  # type: ignore[attr-defined]
    again.retry = True  # type: ignore[attr-defined]
    return again


@dataclass
class HealthWatch:
    """What the background health checks last saw of one service."""

    status: str = "UNKNOWN"
    """SERVING, DOWN (with ``reason``) or UNKNOWN before the first check."""
    reason: str = ""
    slow_start: bool = False
    """The first check timed out (while connecting); the next timeout is DOWN."""
    went_down: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while the service is down: calls in flight wait on it beside their reply."""

    def mark(self, status: str, reason: str = "") -> None:
        """Record a check's outcome; log changes."""
        if status != self.status:
            log.log(
                logging.WARNING if status == DOWN else logging.INFO,
                "service health: %s -> %s %s",
                self.status,
                status,
                reason,
            )
        self.status, self.reason = status, reason
        if status == DOWN:
            self.went_down.set()
        else:
            self.went_down.clear()


def channel_options(address: str, max_message_bytes: int) -> list[tuple[str, Any]]:
    """Channel options; round_robin for dns:/// names."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # Reconnect to a restarted service within a second (gRPC's default backoff
        # grows to two minutes, and the service stays answered 503 until the channel is back).
        ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[0]),
        ("grpc.min_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[0]),
        ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[1]),
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
    watches: dict[str, HealthWatch] = field(default_factory=dict)
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)

    def open(self) -> None:
        """Create the channels (lazy connect) for every service with an address."""
        for name in SERVICE_NAMES:
            address = getattr(self.settings, f"{name}_addr")
            if address:
                self.channels[name] = grpc.aio.insecure_channel(
                    address, options=channel_options(address, self.settings.max_request_bytes)
                )

    def start_watching(self) -> None:
        """Start the background health checks (call inside the running event loop)."""
        if self.settings.health_watch_interval_seconds <= 0:
            return
        for name, channel in self.channels.items():
            watch = self.watches[name] = HealthWatch()
            task = asyncio.get_running_loop().create_task(self._watch(name, channel, watch))
            self._watchers.append(task)

    async def _watch(self, name: str, channel: grpc.aio.Channel, watch: HealthWatch) -> None:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="")
        while True:
            try:
                reply = await stub.Check(
                    request, timeout=self.settings.health_watch_deadline_seconds
                )
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if code in ALIVE_CODES:
                    watch.mark(SERVING)  # it answered: busy, or without a health service
                elif (
                    code is grpc.StatusCode.DEADLINE_EXCEEDED
                    and watch.status == "UNKNOWN"
                    and not watch.slow_start
                ):
                    # The first check also opens the (lazy) connection, which on a loaded
                    # machine can outlast the deadline: a silent service is DOWN from the
                    # second check on; calls meanwhile keep their own deadlines.
                    watch.slow_start = True
                else:  # refused, unreachable, or silent past the deadline (hung, paused)
                    watch.mark(DOWN, f"{name}: {code.name}")
            else:
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    watch.mark(SERVING)
                else:
                    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
                    watch.mark(DOWN, f"{name}: {status}")
            await asyncio.sleep(self.settings.health_watch_interval_seconds)

    async def close(self) -> None:
        """Stop the health checks and close every channel."""
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        self._watchers.clear()
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
        *,
        retry: Retry,
        timeout: float | None = None,
    ) -> T:
        """Call with a deadline; retry UNAVAILABLE a bounded number of times; map errors.

        A service the health checks see down is answered 503 at once, and a call waiting on a
        service that goes down meanwhile is cut short with 503. ``retry``, the RPC's declared
        policy, says what a retry sends (``Retry``): the same request, a copy marked as a retry
        (made only when a retry happens), or nothing (one attempt).
        """
        deadline = timeout or self.settings.deadline_seconds
        attempts = 1 if retry is Retry.NEVER else self.settings.unavailable_retries + 1
        watch = self.watches.get(name)
        retried: Any = None
        for attempt in range(attempts):
            if watch is not None and watch.status == DOWN:
                raise ApiError(503, "SERVICE_UNAVAILABLE", f"the {name} service is unavailable")
            sent = request
            if attempt > 0 and retry is Retry.MARKED:
                retried = marked_retry(request) if retried is None else retried
                sent = retried
            try:
                if watch is None:
                    return await method(sent, timeout=deadline)
                return await self._unless_down(name, method(sent, timeout=deadline), watch)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and not has_error_code(error):
                    raise ApiError(
                        429,
                        "RATE_LIMITED",
                        f"the {name} service is busy; try again shortly",
                        headers={"Retry-After": str(OVERLOAD_RETRY_AFTER_SECONDS)},
                    ) from error
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

    @staticmethod
    async def _unless_down(name: str, reply: Awaitable[T], watch: HealthWatch) -> T:
        """The reply, or 503 as soon as the health checks see the service go down."""
        call = asyncio.ensure_future(reply)
        down = asyncio.ensure_future(watch.went_down.wait())
        try:
            await asyncio.wait({call, down}, return_when=asyncio.FIRST_COMPLETED)
            if not call.done():
                raise ApiError(503, "SERVICE_UNAVAILABLE", f"the {name} service stopped answering")
            return call.result()
        finally:  # also when the caller is cancelled: the RPC stops with it
            down.cancel()
            if not call.done():
                call.cancel()

    async def health(self) -> dict[str, str]:
        """Each configured service's gRPC health status name (or UNREACHABLE).

        A check refused with one of ``ALIVE_CODES`` (RESOURCE_EXHAUSTED: the service's queue
        is full) reached a live service: SERVING, as the background checks count it.
        """

        async def check(name: str, channel: grpc.aio.Channel) -> tuple[str, str]:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service=""),
                    timeout=self.settings.health_deadline_seconds,
                )
            except grpc.aio.AioRpcError as error:
                return name, SERVING if error.code() in ALIVE_CODES else "UNREACHABLE"
            return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        results = await asyncio.gather(*(check(n, c) for n, c in self.channels.items()))
        return dict(results)
