"""The shared server bootstrap: health on its own thread, and a bounded queue that sheds load."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.shared.health import ALIVE_CODES
from services.shared.server import ServiceApp, ServiceDefinition
from services.shared.settings import ServiceSettings

SERVICE = "faceflow.test.v1.Blocking"
METHOD = f"/{SERVICE}/Wait"


class Blocking:
    """A servicer whose one method holds its handler thread until released."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def wait(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.entered.release()
        self.release.wait(10)
        return request

    def add_to(self, server: grpc.Server) -> None:
        handler = grpc.method_handlers_generic_handler(
            SERVICE, {"Wait": grpc.unary_unary_rpc_method_handler(self.wait)}
        )
        server.add_generic_rpc_handlers((handler,))


@pytest.fixture
def busy_server() -> Iterator[tuple[grpc.Channel, Blocking]]:
    blocking = Blocking()
    settings = ServiceSettings(host="127.0.0.1", max_workers=1, max_queued_rpcs=1)
    app = ServiceApp(settings, [ServiceDefinition(SERVICE, blocking.add_to)])
    port = app.start(0)
    app.mark_serving()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield channel, blocking
    blocking.release.set()
    channel.close()
    app.stop(grace=1.0)


def test_health_answers_while_every_handler_thread_is_busy(
    busy_server: tuple[grpc.Channel, Blocking],
) -> None:
    channel, blocking = busy_server
    call = channel.unary_unary(METHOD)
    pending = call.future(b"x", timeout=10)
    assert blocking.entered.acquire(timeout=5)  # the one handler thread is taken
    health = health_pb2_grpc.HealthStub(channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    blocking.release.set()
    assert pending.result() == b"x"


def test_a_full_queue_answers_resource_exhausted_at_once(
    busy_server: tuple[grpc.Channel, Blocking],
) -> None:
    channel, blocking = busy_server
    call = channel.unary_unary(METHOD)
    running = call.future(b"a", timeout=10)
    assert blocking.entered.acquire(timeout=5)
    queued = call.future(b"b", timeout=10)  # waits for the handler thread: the queue of one
    with pytest.raises(grpc.RpcError) as refused:
        call(b"c", timeout=5)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    blocking.release.set()
    assert (running.result(), queued.result()) == (b"a", b"b")


def test_a_full_queue_refuses_health_checks_too(
    busy_server: tuple[grpc.Channel, Blocking],
) -> None:
    """gRPC's concurrency limit is checked before any handler, its own thread or not: so the
    gateway, /readyz and the container health check (the Kubernetes liveness probe) count
    RESOURCE_EXHAUSTED as alive (services/shared/health.py)."""
    channel, blocking = busy_server
    call = channel.unary_unary(METHOD)
    running = call.future(b"a", timeout=10)
    assert blocking.entered.acquire(timeout=5)
    queued = call.future(b"b", timeout=10)
    health = health_pb2_grpc.HealthStub(channel)
    with pytest.raises(grpc.RpcError) as refused:
        for _ in range(200):  # until the server has counted the queued call
            health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            time.sleep(0.01)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    assert refused.value.code() in ALIVE_CODES  # type: ignore[attr-defined]
    blocking.release.set()
    assert (running.result(), queued.result()) == (b"a", b"b")
