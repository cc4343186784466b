"""The explicit gRPC -> HTTP status table, row by row, and the code taken from metadata."""

from __future__ import annotations

import grpc
import pytest

from gateway.core.errors import GRPC_TO_HTTP, from_rpc_error, http_status_for
from services.shared.errors import ERROR_CODE_METADATA_KEY

EXPECTED = [
    (grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"),
    (grpc.StatusCode.FAILED_PRECONDITION, 400, "INVALID_ARGUMENT"),
    (grpc.StatusCode.OUT_OF_RANGE, 400, "INVALID_ARGUMENT"),
    (grpc.StatusCode.UNAUTHENTICATED, 401, "UNAUTHENTICATED"),
    (grpc.StatusCode.PERMISSION_DENIED, 403, "PERMISSION_DENIED"),
    (grpc.StatusCode.NOT_FOUND, 404, "NOT_FOUND"),
    (grpc.StatusCode.ALREADY_EXISTS, 409, "ALREADY_EXISTS"),
    (grpc.StatusCode.ABORTED, 409, "CONFLICT"),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "RATE_LIMITED"),
    (grpc.StatusCode.CANCELLED, 499, "CANCELLED"),
    (grpc.StatusCode.UNIMPLEMENTED, 501, "NOT_IMPLEMENTED"),
    (grpc.StatusCode.UNAVAILABLE, 503, "SERVICE_UNAVAILABLE"),
    (grpc.StatusCode.DEADLINE_EXCEEDED, 504, "DEADLINE_EXCEEDED"),
    (grpc.StatusCode.INTERNAL, 500, "INTERNAL"),
    (grpc.StatusCode.UNKNOWN, 500, "INTERNAL"),
    (grpc.StatusCode.DATA_LOSS, 500, "INTERNAL"),
]


class FakeRpcError(grpc.RpcError):  # type: ignore[misc]
    """A failed call's interface (code, details, trailing metadata): data, not a mock service."""

    def __init__(self, code: grpc.StatusCode, details: str, metadata: tuple = ()) -> None:  # type: ignore[type-arg]
        self._code, self._details, self._metadata = code, details, metadata

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple:  # type: ignore[type-arg]
        return self._metadata


@pytest.mark.parametrize(
    ("status", "http", "code"), EXPECTED, ids=[row[0].name for row in EXPECTED]
)
def test_table_row(status: grpc.StatusCode, http: int, code: str) -> None:
    assert http_status_for(status) == http
    error = from_rpc_error(FakeRpcError(status, "secret internal detail"))
    assert error.status == http
    assert error.code == code
    if http == 500:
        assert "secret" not in error.message


def test_every_table_row_is_tested() -> None:
    assert set(GRPC_TO_HTTP) <= {row[0] for row in EXPECTED}


def test_stable_code_from_metadata_wins() -> None:
    error = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.NOT_FOUND,
            "no group g1",
            ((ERROR_CODE_METADATA_KEY, "GROUP_NOT_FOUND"),),
        )
    )
    assert (error.status, error.code, error.message) == (404, "GROUP_NOT_FOUND", "no group g1")


def test_image_too_large_is_413() -> None:
    error = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "too many pixels",
            ((ERROR_CODE_METADATA_KEY, "IMAGE_TOO_LARGE"),),
        )
    )
    assert (error.status, error.code) == (413, "IMAGE_TOO_LARGE")


def test_a_services_rate_limited_says_when_to_retry() -> None:
    """A limit on what the tenant holds (its clustering jobs) is freed by a delete or expiry."""
    error = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "the tenant holds 100 clustering jobs",
            ((ERROR_CODE_METADATA_KEY, "RATE_LIMITED"),),
        )
    )
    assert (error.status, error.code, error.headers) == (429, "RATE_LIMITED", {"Retry-After": "60"})
