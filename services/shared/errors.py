"""Domain errors with a stable public code and the gRPC status they map to.

Servicers raise these; the error interceptor turns them into a gRPC status whose trailing
metadata carries the stable code (key ``faceflow-error-code``) so the gateway can answer with
the same code over HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

log = logging.getLogger(__name__)

ERROR_CODE_METADATA_KEY = "faceflow-error-code"


class FaceflowError(Exception):
    """Base class: a failure the caller can act on, with a stable code."""

    code: str = "INTERNAL"
    status: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgumentError(FaceflowError):
    """A request field is missing or out of range."""

    code = "INVALID_ARGUMENT"
    status = grpc.StatusCode.INVALID_ARGUMENT


class InvalidImageError(FaceflowError):
    """The bytes are not a decodable image of a supported format."""

    code = "INVALID_IMAGE"
    status = grpc.StatusCode.INVALID_ARGUMENT


class ImageTooLargeError(FaceflowError):
    """The image exceeds the byte or pixel limit."""

    code = "IMAGE_TOO_LARGE"
    status = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(FaceflowError):
    """A named resource does not exist (subclasses give the precise code)."""

    code = "NOT_FOUND"
    status = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(FaceflowError):
    """The resource exists already."""

    code = "ALREADY_EXISTS"
    status = grpc.StatusCode.ALREADY_EXISTS


class OverloadedError(FaceflowError):
    """Too much work queued; retry later."""

    code = "RATE_LIMITED"
    status = grpc.StatusCode.RESOURCE_EXHAUSTED


class CallCancelledError(FaceflowError):
    """The caller cancelled the RPC: the work stops and nothing is answered."""

    code = "CANCELLED"
    status = grpc.StatusCode.CANCELLED


class DeadlineExceededError(FaceflowError):
    """The RPC's deadline passed while it was working: the work stops."""

    code = "DEADLINE_EXCEEDED"
    status = grpc.StatusCode.DEADLINE_EXCEEDED


class StorageUnavailableError(FaceflowError):
    """This process cannot write to its own disk right now (no space, an I/O error): the
    server's trouble, not the caller's, so UNAVAILABLE: retry later."""

    code = "SERVICE_UNAVAILABLE"
    status = grpc.StatusCode.UNAVAILABLE


class DatabaseUnavailableError(FaceflowError):
    """The shared PostgreSQL database cannot be reached (restarting, failing over, the network
    between): the server's trouble, not the caller's, so UNAVAILABLE: retry later."""

    code = "SERVICE_UNAVAILABLE"
    status = grpc.StatusCode.UNAVAILABLE


@contextmanager
def disk_writes(what: str) -> Iterator[None]:
    """Writing ``what`` to local disk inside: an OSError becomes StorageUnavailableError."""
    try:
        yield
    except OSError as error:
        log.error("cannot write %s to local disk: %s", what, error)
        raise StorageUnavailableError(
            f"cannot store {what} right now (its temporary space is full or failing); retry later"
        ) from error


def ensure_active(context: grpc.ServicerContext) -> None:
    """Raise when the RPC is over (cancelled, or past its deadline), so that a long handler
    stops working for a caller that has gone; call it between steps of the work."""
    if context.is_active():
        return
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlineExceededError("the deadline passed before the work was done")
    raise CallCancelledError("the call was cancelled before the work was done")


class ModelUnavailableError(Exception):
    """A model file is missing, corrupt or not prepared: a start-up error, never a fallback."""
