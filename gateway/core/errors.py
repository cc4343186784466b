"""One error envelope for every failure, and the explicit gRPC -> HTTP status table.

``{"error": {"code": "NO_FACE", "message": "...", "request_id": "..."}}``. Downstream services
put a stable code in trailing metadata (``faceflow-error-code``); when absent the code is derived
from the gRPC status.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from services.shared.errors import ERROR_CODE_METADATA_KEY, StorageUnavailableError, disk_writes

# googleapis google/rpc/code.proto mapping; everything not listed is 500.
GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

# The public code used when a service gave none.
GRPC_DEFAULT_CODE: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "INVALID_ARGUMENT",
    grpc.StatusCode.FAILED_PRECONDITION: "INVALID_ARGUMENT",
    grpc.StatusCode.OUT_OF_RANGE: "INVALID_ARGUMENT",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    grpc.StatusCode.PERMISSION_DENIED: "PERMISSION_DENIED",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND",
    grpc.StatusCode.ALREADY_EXISTS: "ALREADY_EXISTS",
    grpc.StatusCode.ABORTED: "CONFLICT",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "RATE_LIMITED",
    grpc.StatusCode.CANCELLED: "CANCELLED",
    grpc.StatusCode.UNIMPLEMENTED: "NOT_IMPLEMENTED",
    grpc.StatusCode.UNAVAILABLE: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
}

# Codes whose HTTP status is more precise than their gRPC status's row.
CODE_STATUS_OVERRIDES: dict[str, int] = {"IMAGE_TOO_LARGE": 413, "VIDEO_TOO_LARGE": 413}
HELD_LIMIT_RETRY_AFTER_SECONDS = 60
"""``Retry-After`` of a RATE_LIMITED a service chose (a limit on what the tenant holds, e.g. its
clustering jobs): freed by the client's own delete or by expiry, not within a second."""


class ApiError(Exception):
    """An error answered with the envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def http_status_for(status: grpc.StatusCode) -> int:
    """The HTTP status for a gRPC status (500 for anything not in the table)."""
    return GRPC_TO_HTTP.get(status, 500)


def has_error_code(error: grpc.aio.AioRpcError | grpc.RpcError) -> bool:
    """Whether a FaceFlow servicer set the error's stable code (not gRPC's own machinery)."""
    return any(key == ERROR_CODE_METADATA_KEY for key, _ in error.trailing_metadata() or ())


def from_rpc_error(error: grpc.aio.AioRpcError | grpc.RpcError) -> ApiError:
    """Translate a failed downstream call into an ApiError (internal details stay in logs)."""
    status = error.code()
    code = None
    trailing = error.trailing_metadata() or ()
    for key, value in trailing:
        if key == ERROR_CODE_METADATA_KEY:
            code = value if isinstance(value, str) else value.decode()
    http = http_status_for(status)
    if code is None:
        code = GRPC_DEFAULT_CODE.get(status, "INTERNAL")
    http = CODE_STATUS_OVERRIDES.get(code, http)
    if http >= 500 and status not in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    ):
        message = "internal error"
    elif status == grpc.StatusCode.UNAVAILABLE:
        message = "a model service is unavailable; try again shortly"
    elif status == grpc.StatusCode.DEADLINE_EXCEEDED:
        message = "a model service did not answer in time"
    else:
        message = error.details() or code
    if http == 429:
        return ApiError(
            http, code, message, headers={"Retry-After": str(HELD_LIMIT_RETRY_AFTER_SECONDS)}
        )
    return ApiError(http, code, message)


def no_face() -> ApiError:
    """The image has no detectable face."""
    return ApiError(400, "NO_FACE", "no face was found in the image")


def service_unavailable(name: str) -> ApiError:
    """A service needed for this endpoint is not deployed or not reachable."""
    return ApiError(503, "SERVICE_UNAVAILABLE", f"the {name} service is not available")


@contextmanager
def local_disk_errors(what: str) -> Iterator[None]:
    """Writing ``what`` to the gateway's own disk failed (no space, an I/O error): that is the
    server's trouble, not the client's, so 503 SERVICE_UNAVAILABLE (retry later), never a 500
    or a 400."""
    try:
        with disk_writes(what):
            yield
    except StorageUnavailableError as error:
        raise ApiError(503, error.code, f"the gateway {error.message}") from error
