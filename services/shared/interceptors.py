"""Server interceptors: error mapping and Prometheus metrics, applied to every RPC.

The error interceptor turns FaceflowError into its precise status with the stable code in the
trailing metadata, and anything unexpected into INTERNAL with a generic message (the traceback
goes to the log, never to the caller). The metrics interceptor records latency and final status
after the handler ran (in ``finally``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from prometheus_client import Counter, Histogram

from services.shared.errors import ERROR_CODE_METADATA_KEY, FaceflowError

log = logging.getLogger(__name__)

RPC_LATENCY = Histogram(
    "faceflow_grpc_server_handling_seconds",
    "Time spent handling one RPC",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RPC_HANDLED = Counter(
    "faceflow_grpc_server_handled_total", "RPCs completed, by status", ["service", "method", "code"]
)

Handler = Callable[[Any, grpc.ServicerContext], Any]


def _split_method(full_method: str) -> tuple[str, str]:
    _, service, method = (
        full_method.split("/", 2) if full_method.count("/") >= 2 else ("", "", full_method)
    )
    return service, method


class _StatusRecorder:
    """Remembers the status a handler set, for the metrics label."""

    def __init__(self) -> None:
        self.code = grpc.StatusCode.OK


def _wrap(behavior: Handler, full_method: str) -> Handler:
    service, method = _split_method(full_method)

    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        started = time.perf_counter()
        recorder = _StatusRecorder()
        try:
            return behavior(request, context)
        except FaceflowError as error:
            recorder.code = error.status
            context.set_trailing_metadata(((ERROR_CODE_METADATA_KEY, error.code),))
            context.abort(error.status, error.message)
        except Exception:
            already = context.code()
            if already is not None and already != grpc.StatusCode.OK:
                recorder.code = already  # the handler aborted with its own status
                raise
            recorder.code = grpc.StatusCode.INTERNAL
            log.exception("unhandled error in %s", full_method)
            context.abort(grpc.StatusCode.INTERNAL, "internal error")
        finally:
            RPC_LATENCY.labels(service, method).observe(time.perf_counter() - started)
            RPC_HANDLED.labels(service, method, recorder.code.name).inc()

    return handle


class ServiceInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Error mapping + metrics for unary-unary RPCs (all FaceFlow RPCs are unary)."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        if handler_call_details.method.startswith("/grpc."):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _wrap(handler.unary_unary, handler_call_details.method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
