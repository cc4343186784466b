"""A real FaceFlow gRPC server (``ServiceApp``) whose queue is full: gRPC's concurrency limit
then refuses every RPC, health checks included, with RESOURCE_EXHAUSTED."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.shared.server import ServiceApp, ServiceDefinition
from services.shared.settings import ServiceSettings

SERVICE = "faceflow.test.v1.Busy"
METHOD = f"/{SERVICE}/Wait"


class _Blocking:
    """A servicer whose one method holds its handler thread until released."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def wait(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.entered.release()
        self.release.wait(30)
        return request

    def add_to(self, server: grpc.Server) -> None:
        handler = grpc.method_handlers_generic_handler(
            SERVICE, {"Wait": grpc.unary_unary_rpc_method_handler(self.wait)}
        )
        server.add_generic_rpc_handlers((handler,))


def _refuses_health(channel: grpc.Channel) -> bool:
    try:
        health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=2
        )
    except grpc.RpcError as error:
        return bool(error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED)  # type: ignore[attr-defined]
    return False


@contextmanager
def saturated_service() -> Iterator[str]:
    """Yield ``127.0.0.1:<port>`` of a SERVING service (one handler thread, a queue of one)
    with one call running and one queued, so that its health checks are refused."""
    blocking = _Blocking()
    settings = ServiceSettings(host="127.0.0.1", max_workers=1, max_queued_rpcs=1)
    app = ServiceApp(settings, [ServiceDefinition(SERVICE, blocking.add_to)])
    port = app.start(0)
    app.mark_serving()
    address = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(address)
    try:
        call = channel.unary_unary(METHOD)
        running = call.future(b"a", timeout=60)
        assert blocking.entered.acquire(timeout=10)  # the one handler thread is taken
        queued = call.future(b"b", timeout=60)  # the queue of one
        deadline = time.monotonic() + 10
        while not _refuses_health(channel):  # until the server counted the queued call
            assert time.monotonic() < deadline, "the service never filled its queue"
            time.sleep(0.01)
        yield address
        blocking.release.set()
        assert (running.result(), queued.result()) == (b"a", b"b")
    finally:
        blocking.release.set()
        channel.close()
        app.stop(grace=1.0)
