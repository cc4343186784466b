"""Start, health-report and stop a gRPC model service the same way for every service.

``ServiceApp`` owns the grpc.Server with the shared interceptors, the stock health servicer
(NOT_SERVING until the model is loaded and warmed up), reflection, and graceful shutdown on
SIGTERM/SIGINT. Tests use ``start()`` with port 0; ``serve_forever()`` is the process entry.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from services.shared.interceptors import ServiceInterceptor
from services.shared.memory import MallocTuning, tune_malloc
from services.shared.model_zoo import ServedModel, warm_up_all
from services.shared.settings import ServiceSettings

log = logging.getLogger(__name__)

GRACE_SECONDS = 15.0
"""After SIGTERM, calls running or queued get this long to finish (the gateway's deadline is
10 s for most calls; a clustering request or a liveness verification may take up to 60 s, and
one still running after 15 s is cut); under the orchestrators' stop times, Kubernetes'
terminationGracePeriodSeconds, Compose's stop_grace_period and ``make run``'s (20 s), so the
process exits by itself first."""


@dataclass
class ServiceDefinition:
    """What a service registers: its full proto service name and a function adding its servicer."""

    full_name: str
    add_to_server: Callable[[grpc.Server], None]


class OwnThreadHealth(health.HealthServicer):  # type: ignore[misc]
    """The stock health servicer, its ``Check`` answered on a thread of its own.

    gRPC runs a method on the pool its handler names in ``experimental_thread_pool``; with
    ``Check`` there, a service whose handler threads are all busy with model calls (or queued)
    still answers health at once, so a loaded service does not look dead to the gateway.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pool = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
        stock_check = super().Check

        def check(request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext) -> Any:
            return stock_check(request, context)

        check.experimental_thread_pool = self.pool  # type: ignore[attr-defined]
        self.Check = check


class ServiceApp:
    """A running (or ready to run) gRPC server for one or more servicers."""

    def __init__(self, settings: ServiceSettings, services: Sequence[ServiceDefinition]) -> None:
        self.settings = settings
        self.services = list(services)
        options = [
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            ("grpc.so_reuseport", 0),
            # Close client connections after a while so that clients re-resolve DNS and spread
            # over replicas a Kubernetes autoscaler added (client-side round_robin).
            ("grpc.max_connection_age_ms", settings.max_connection_age_seconds * 1000),
            ("grpc.max_connection_age_grace_ms", 30_000),
        ]
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=settings.max_workers),
            interceptors=[ServiceInterceptor()],
            options=options,
            # A bounded queue: beyond it gRPC answers RESOURCE_EXHAUSTED at once, so health
            # checks wait behind at most this many calls and callers never queue to their
            # deadline.
            maximum_concurrent_rpcs=settings.max_workers + settings.max_queued_rpcs,
        )
        self.health = OwnThreadHealth()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        for service in self.services:
            service.add_to_server(self.server)
        names = [s.full_name for s in self.services] + [
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ]
        reflection.enable_server_reflection(names, self.server)
        self._set_status(health_pb2.HealthCheckResponse.NOT_SERVING)
        self.port = 0
        self._stopped = threading.Event()

    def _set_status(self, status: int) -> None:
        self.health.set("", status)
        for service in self.services:
            self.health.set(service.full_name, status)

    def start(self, port: int | None = None) -> int:
        """Bind and start; returns the bound port (pass 0 for a free one)."""
        wanted = self.settings.port if port is None else port
        self.port = self.server.add_insecure_port(f"{self.settings.host}:{wanted}")
        if self.port == 0:
            raise RuntimeError(f"cannot bind {self.settings.host}:{wanted}")
        self.server.start()
        log.info("listening on %s:%d", self.settings.host, self.port)
        return self.port

    def mark_serving(self) -> None:
        """Report SERVING: call once models are loaded and warmed up."""
        self._set_status(health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Report NOT_SERVING, then stop accepting and finish in-flight RPCs within grace."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self._stopped.set()

    def serve_forever(self, warm_up: Callable[[], None] | None = None) -> None:
        """Tune malloc, start, warm up, report SERVING, and block until SIGTERM/SIGINT."""
        if self.settings.malloc_tuning:
            tune_malloc(MallocTuning())  # before the gRPC worker threads exist

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: shutting down", signum)
            threading.Thread(target=self.stop, daemon=True).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if self.settings.metrics_port:
            start_http_server(self.settings.metrics_port, addr=self.settings.host)
        self.start()
        if warm_up is not None:
            warm_up()
        self.mark_serving()
        log.info("SERVING")
        self._stopped.wait()


def configure_logging(level: str) -> None:
    """One log format for every service process."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


class ServedProcess(Protocol):
    """What a service's ``main`` needs from its servicer: the models to warm up, a close."""

    @property
    def served_models(self) -> Sequence[ServedModel]:
        """Every model the servicer runs."""
        ...

    def close(self) -> None:
        """Release what the servicer opened (stores, pools); called once at exit."""
        ...


def single_service_app(
    settings: ServiceSettings, full_name: str, register: Callable[[grpc.Server], None]
) -> ServiceApp:
    """The server for one gRPC service (not started)."""
    return ServiceApp(settings, [ServiceDefinition(full_name, register)])


def run_service(
    settings: ServiceSettings, create_app: Callable[[], tuple[ServiceApp, ServedProcess]]
) -> None:
    """A service process's ``main``: log, build, warm every model up, serve until a signal."""
    configure_logging(settings.log_level)
    app, servicer = create_app()
    try:
        app.serve_forever(lambda: warm_up_all(servicer.served_models))
    finally:
        servicer.close()
