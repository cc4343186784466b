"""Errors of the embedding service that are not the gallery store's."""

from __future__ import annotations

import grpc

from services.shared.errors import FaceflowError, NotFoundError, OverloadedError


class LowQualityError(FaceflowError):
    """The face fails the requested quality level; the message names every reason."""

    code = "LOW_QUALITY"
    status = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, reasons: list[str], level: str) -> None:
        super().__init__(f"the face fails quality_control {level}: {', '.join(reasons)}")
        self.reasons = reasons


class TooManyJobsError(OverloadedError):
    """The tenant holds the most clustering jobs allowed (RATE_LIMITED, 429)."""


class ClusterJobNotFoundError(NotFoundError):
    """No clustering job of that id belongs to the tenant."""

    code = "CLUSTER_JOB_NOT_FOUND"
