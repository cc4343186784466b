"""The SDK's retry policy: 429 and 503 are retried as Retry-After says (else exponential
backoff), a bounded number of times, with the request sent again unchanged; other errors are
not retried. The server answers are scripted (the policy is the client's own logic)."""

from __future__ import annotations

import httpx
import pytest

from faceflow_sdk import FaceflowClient
from faceflow_sdk.errors import InvalidArgumentError, ServiceUnavailableError


def error(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": code.lower(), "request_id": "r"}}
    return httpx.Response(status, json=body, headers=headers)


def scripted(*answers: httpx.Response) -> tuple[FaceflowClient, list[httpx.Request], list[float]]:
    requests: list[httpx.Request] = []
    waits: list[float] = []
    pending = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        requests.append(request)
        return pending.pop(0)

    client = FaceflowClient(
        "http://faceflow.test",
        api_key="ff_test",
        transport=httpx.MockTransport(answer),
        sleep=waits.append,
    )
    return client, requests, waits


def test_429_then_503_then_success() -> None:
    client, requests, waits = scripted(
        error(429, "RATE_LIMITED", **{"retry-after": "2"}),
        error(503, "SERVICE_UNAVAILABLE"),
        httpx.Response(200, json={"faces": [], "image": {"width": 1, "height": 1}}),
    )
    result = client.detect(b"\xff\xd8photo")
    assert result["faces"] == []
    assert waits == [2.0, 1.0]  # Retry-After, then the second step of 0.5 s x 2^n
    assert len(requests) == 3
    assert all(b"\xff\xd8photo" in r.content for r in requests)  # the upload, each time


def test_gives_up_after_the_retries_with_the_servers_error() -> None:
    client, requests, waits = scripted(*[error(503, "SERVICE_UNAVAILABLE")] * 4)
    with pytest.raises(ServiceUnavailableError):
        client.healthz()
    assert len(requests) == 4 and waits == [0.5, 1.0, 2.0]


def test_waits_are_capped_and_other_errors_are_not_retried() -> None:
    client, requests, waits = scripted(
        error(429, "RATE_LIMITED", **{"retry-after": "600"}),
        error(400, "INVALID_ARGUMENT"),
    )
    with pytest.raises(InvalidArgumentError):
        client.healthz()
    assert waits == [10.0] and len(requests) == 2


def test_retries_can_be_turned_off_but_not_below_zero() -> None:
    client, requests, waits = scripted(error(503, "SERVICE_UNAVAILABLE"))
    client.retries = 0
    with pytest.raises(ServiceUnavailableError):
        client.healthz()
    assert len(requests) == 1 and waits == []
    with pytest.raises(ValueError, match="must not be negative"):
        FaceflowClient("http://faceflow.test", retries=-1)
