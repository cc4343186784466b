"""The SDK's retry policy: 429 is retried as Retry-After says (else exponential backoff), a
bounded number of times, with the request sent again unchanged; 503 likewise, but only for calls
that change nothing (a write may have been committed before the 503); readyz is never retried;
other errors are not retried. The server answers are scripted (the policy is the client's own
logic)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from faceflow_sdk import FaceflowClient
from faceflow_sdk.client import RETRY_STATUSES
from faceflow_sdk.errors import InvalidArgumentError, RateLimitedError, ServiceUnavailableError

Call = Callable[[FaceflowClient], Any]
WRITES: dict[str, Call] = {
    "enroll": lambda c: c.enroll("g", "u", b"\xff\xd8photo"),
    "create_group": lambda c: c.create_group("g"),
    "delete_face": lambda c: c.delete_face("g", "u", "t"),
    "verify_liveness_session": lambda c: c.verify_liveness_session("s", frames=[b"\xff\xd8f"]),
    "create_cluster_job": lambda c: c.create_cluster_job([b"\xff\xd8photo"]),
    "add_cluster_photos": lambda c: c.add_cluster_photos("j", [b"\xff\xd8photo"]),
    "send_video_frames": lambda c: c.send_video_frames("v", [b"\xff\xd8f"], [0]),
    "create_liveness_session": lambda c: c.create_liveness_session(),
}
READS: dict[str, Call] = {
    "detect": lambda c: c.detect(b"\xff\xd8photo"),
    "verify": lambda c: c.verify(b"\xff\xd8a", b"\xff\xd8b"),
    "search": lambda c: c.search(b"\xff\xd8photo", "g"),
    "liveness_check": lambda c: c.liveness_check(b"\xff\xd8photo"),
    "get_user": lambda c: c.get_user("g", "u"),
    "get_cluster_job": lambda c: c.get_cluster_job("j"),
}


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
        error(429, "RATE_LIMITED", **{"retry-after": "10"}),
        error(400, "INVALID_ARGUMENT"),
    )
    with pytest.raises(InvalidArgumentError):
        client.healthz()
    assert waits == [10.0] and len(requests) == 2


def test_a_retry_after_longer_than_max_backoff_is_raised_at_once() -> None:
    """E.g. a tenant at its clustering job limit (Retry-After: 60): a retry after the 10 s the
    client waits at most would be refused again, after uploading the photos again."""
    client, requests, waits = scripted(error(429, "RATE_LIMITED", **{"retry-after": "60"}))
    with pytest.raises(RateLimitedError):
        client.healthz()
    assert waits == [] and len(requests) == 1


def test_retries_can_be_turned_off_but_not_below_zero() -> None:
    client, requests, waits = scripted(error(503, "SERVICE_UNAVAILABLE"))
    client.retries = 0
    with pytest.raises(ServiceUnavailableError):
        client.healthz()
    assert len(requests) == 1 and waits == []
    with pytest.raises(ValueError, match="must not be negative"):
        FaceflowClient("http://faceflow.test", retries=-1)


@pytest.mark.parametrize("name", WRITES)
def test_a_write_answered_503_is_not_resent(name: str) -> None:
    client, requests, waits = scripted(error(503, "SERVICE_UNAVAILABLE"), httpx.Response(200))
    with pytest.raises(ServiceUnavailableError) as raised:
        WRITES[name](client)
    assert raised.value.status == 503
    assert len(requests) == 1 and waits == []  # not sent again: it may have been committed


@pytest.mark.parametrize("name", WRITES)
def test_a_write_answered_429_is_resent_after_retry_after(name: str) -> None:
    client, requests, waits = scripted(
        error(429, "RATE_LIMITED", **{"retry-after": "3"}), httpx.Response(200, json={"ok": 1})
    )
    assert WRITES[name](client) == {"ok": 1}
    assert len(requests) == 2 and waits == [3.0]
    assert {(r.method, r.url, len(r.content)) for r in requests} == {  # the same request again
        (requests[0].method, requests[0].url, len(requests[0].content))
    }


@pytest.mark.parametrize("name", READS)
def test_a_read_answered_503_is_resent(name: str) -> None:
    client, requests, waits = scripted(
        error(503, "SERVICE_UNAVAILABLE"), httpx.Response(200, json={"ok": 1})
    )
    assert READS[name](client) == {"ok": 1}
    assert len(requests) == 2 and waits == [0.5]


def test_readyz_is_not_retried_and_keeps_the_services() -> None:
    services = {"detection": "SERVING", "embedding": "UNREACHABLE"}
    body = {"error": {"code": "SERVICE_UNAVAILABLE", "message": "not ready"}, "services": services}
    client, requests, waits = scripted(httpx.Response(503, json=body), httpx.Response(200))
    with pytest.raises(ServiceUnavailableError) as raised:
        client.readyz()
    assert len(requests) == 1 and waits == []
    assert raised.value.body["services"] == services


def test_every_api_method_has_a_retry_policy() -> None:
    """One table says what each method retries; a new method must be added to it."""
    methods = {
        name
        for name, member in inspect.getmembers(FaceflowClient, inspect.isfunction)
        if not name.startswith("_")
    }
    assert set(RETRY_STATUSES) == methods - {"close", "wait_video_job"}
    assert {name for name, statuses in RETRY_STATUSES.items() if 503 in statuses} >= set(READS)
    assert all(RETRY_STATUSES[name] == {429} for name in WRITES)
