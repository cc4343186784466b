"""Liveness-specific errors, each with a stable public code and a precise gRPC status."""

from __future__ import annotations

import grpc

from services.shared.errors import FaceflowError, NotFoundError


class NoFaceError(FaceflowError):
    """The image has no detectable face (passive check)."""

    code = "NO_FACE"
    status = grpc.StatusCode.INVALID_ARGUMENT


class SessionNotFoundError(NotFoundError):
    """No such session for this tenant (unknown id or another tenant's)."""

    code = "SESSION_NOT_FOUND"


class SessionExpiredError(FaceflowError):
    """The session's window is over: frames arrived too late."""

    code = "SESSION_EXPIRED"
    status = grpc.StatusCode.FAILED_PRECONDITION


class SessionAlreadyUsedError(FaceflowError):
    """The session was verified already; sessions are single use."""

    code = "SESSION_ALREADY_USED"
    status = grpc.StatusCode.ABORTED
