"""Operations endpoints, OpenAPI and the web demo page."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import re
import socket
from collections.abc import Iterator

import numpy as np
import pytest
from starlette.datastructures import UploadFile
from starlette.types import Message

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.helpers import images
from tests.helpers.busy_service import saturated_service
from tests.helpers.http import error_message


def test_healthz(gateway: GatewayUnderTest) -> None:
    response = gateway.client.get("/healthz", headers={"X-Request-ID": "probe-1"})
    body = response.json()
    assert body["status"] == "ok"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["took_ms"] >= 0


def test_readyz_ready_when_detection_serving(gateway: GatewayUnderTest) -> None:
    response = gateway.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["services"] == {"detection": "SERVING"}
    assert response.json()["request_id"] == response.headers["X-Request-ID"]
    assert response.json()["took_ms"] >= 0


def test_readyz_503_when_a_service_is_unreachable(
    make_gateway: GatewayFactory, detection_address: str
) -> None:
    gw = make_gateway(detection=detection_address, embedding="127.0.0.1:1")
    response = gw.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["services"] == {"detection": "SERVING", "embedding": "UNREACHABLE"}


def test_readyz_counts_a_busy_service_as_serving(make_gateway: GatewayFactory) -> None:
    """A service whose queue is full refuses health checks with RESOURCE_EXHAUSTED: alive,
    as the background checks count it (services/shared/health.py), not UNREACHABLE."""
    with saturated_service() as address:
        gw = make_gateway(detection=address)
        response = gw.client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["services"] == {"detection": "SERVING"}


def test_a_full_temporary_folder_is_503_not_a_bad_body(
    gateway: GatewayUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starlette spools uploads to /tmp; no space there is the server's trouble, not the
    client's: 503 SERVICE_UNAVAILABLE, retry later, instead of 400 "cannot read the form body"."""

    async def no_space(self: UploadFile, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(UploadFile, "write", no_space)
    photo = images.encode(np.full((64, 64, 3), 90, np.uint8))
    response = gateway.client.post(
        "/api/v1/detect", files={"image": ("a.png", photo, "image/png")}, headers=gateway.headers
    )
    message = error_message(response, 503, "SERVICE_UNAVAILABLE")
    assert "cannot store the upload" in message and "retry later" in message


def test_metrics_are_prometheus_text(gateway: GatewayUnderTest) -> None:
    gateway.client.get("/healthz")
    response = gateway.client.get("/metrics")
    assert response.status_code == 200
    assert "faceflow_http_request_seconds" in response.text


def test_openapi_documents_detect(gateway: GatewayUnderTest) -> None:
    spec = gateway.client.get("/openapi.json").json()
    detect = spec["paths"]["/api/v1/detect"]["post"]
    assert "multipart/form-data" in detect["requestBody"]["content"]
    assert "application/json" in detect["requestBody"]["content"]
    assert gateway.client.get("/docs").status_code == 200


def test_openapi_documents_what_is_sent(gateway: GatewayUnderTest) -> None:
    """No 422 (a bad parameter is 400 with the envelope); /metrics is Prometheus text."""
    spec = gateway.client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    response = gateway.client.get("/metrics")
    assert response.headers["content-type"].split(";")[0] == "text/plain"
    readyz = spec["paths"]["/readyz"]["get"]["responses"]
    assert readyz["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NotReadyOut"
    }


def test_demo_page_is_served(gateway: GatewayUnderTest) -> None:
    page = gateway.client.get("/")
    assert page.status_code == 200 and "FaceFlow" in page.text
    assert gateway.client.get("/static/app.js").status_code == 200


def test_the_demo_page_runs_only_its_own_scripts_and_is_never_framed(
    gateway: GatewayUnderTest,
) -> None:
    """The page holds an API key: no script, style or connection from elsewhere, no framing;
    no inline handler in the page either (the policy would block it)."""
    for path in ("/", "/static/app.js", "/static/js/api.js"):
        answer = gateway.client.get(path)
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
    page = gateway.client.get("/").text
    assert not re.search(r"<[^>]+\son[a-z]+=", page), "an inline event handler in index.html"
    assert not re.search(r"<script(?![^>]*\ssrc=)", page), "an inline script in index.html"
    api = gateway.client.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in api.headers


def test_every_response_carries_its_request_id(gateway: GatewayUnderTest) -> None:
    ok = gateway.client.get("/healthz")
    denied = gateway.client.post("/api/v1/detect")  # no API key
    assert len(ok.headers["x-request-id"]) == 32
    assert denied.status_code == 401
    assert denied.headers["x-request-id"] == denied.json()["error"]["request_id"]
    assert ok.headers["x-request-id"] != denied.headers["x-request-id"]
    # Which replica answered: the host name, on every response.
    assert ok.headers["x-faceflow-instance"] == denied.headers["x-faceflow-instance"]
    assert ok.headers["x-faceflow-instance"] == socket.gethostname()


def test_metrics_count_responses_by_route_and_status(gateway: GatewayUnderTest) -> None:
    gateway.client.post("/api/v1/detect")  # 401
    text = gateway.client.get("/metrics").text
    line = next(
        row
        for row in text.splitlines()
        if row.startswith("faceflow_http_responses_total{")
        and 'route="/detect"' in row  # the route's own path (its router adds /api/v1)
        and 'status="401"' in row
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1


def test_body_over_the_request_limit_is_413_before_it_is_read(
    make_gateway: GatewayFactory, detection_address: str
) -> None:
    gw = make_gateway(detection=detection_address, max_request_bytes=1000)
    response = gw.client.post(
        "/api/v1/detect",
        content=b"x" * 5000,
        headers={**gw.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    body = response.json()
    assert body["error"]["code"] == "IMAGE_TOO_LARGE"
    assert "over 1000 bytes" in body["error"]["message"]
    assert response.headers["x-request-id"] == body["error"]["request_id"]


def chunked(*parts: bytes) -> Iterator[bytes]:
    """A body with no content-length: httpx sends a generator with transfer-encoding chunked."""
    yield from parts


def test_a_chunked_body_over_the_request_limit_is_413_too(
    make_gateway: GatewayFactory, detection_address: str
) -> None:
    gw = make_gateway(detection=detection_address, max_request_bytes=1000)
    json_body = chunked(b'{"image": "', b"A" * 600, b"A" * 600, b'"}')
    boundary = "faceflow-test-boundary"
    multipart = chunked(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode(),
        b"\xff" * 5000,
        f"\r\n--{boundary}--\r\n".encode(),
    )
    for body, content_type in (
        (json_body, "application/json"),
        (multipart, f"multipart/form-data; boundary={boundary}"),
    ):
        response = gw.client.post(
            "/api/v1/detect", content=body, headers={**gw.headers, "content-type": content_type}
        )
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert error_message(response, 413, "IMAGE_TOO_LARGE") == (
            "the request body is over 1000 bytes"
        )
        assert response.headers["x-request-id"] == response.json()["error"]["request_id"]
    # On the video routes the same limit is a video's: VIDEO_TOO_LARGE, saying why base64 hits it
    video_json = chunked(b'{"video": "', b"A" * 600, b"A" * 600, b'", "group_ids": ["g"]}')
    response = gw.client.post(
        "/api/v1/videos/recognize",
        content=video_json,
        headers={**gw.headers, "content-type": "application/json"},
    )
    assert error_message(response, 413, "VIDEO_TOO_LARGE") == (
        "the request body is over 1000 bytes (base64 makes a video a third larger: send it as "
        "a multipart file)"
    )
    # Under the limit, a chunked body is read as any other.
    small = base64.b64encode(images.encode(np.full((32, 32, 3), 90, np.uint8))).decode()
    assert len(small) < 900
    response = gw.client.post(
        "/api/v1/detect",
        content=chunked(b'{"image": "', small.encode(), b'"}'),
        headers={**gw.headers, "content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 200, response.text
    assert response.json()["faces"] == []


def test_the_body_limit_counts_every_chunk_and_stops_reading(
    make_gateway: GatewayFactory, detection_address: str
) -> None:
    """At the ASGI level: the chunks are counted together, the 413 goes out once the count
    passes the limit, the chunks after it are never read and the app's own answer is dropped."""
    gw = make_gateway(detection=detection_address, max_request_bytes=1000)
    chunks = [b'{"image": "', *[b"A" * 100] * 30, b'"}']
    pending: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/detect",
        "raw_path": b"/api/v1/detect",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"x-api-key", gw.key.encode()),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def call() -> None:
        await gw.client.app(scope, receive, send)

    asyncio.run(call())
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [413]
    body = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] != "http.response.start")
    )
    assert body["error"]["code"] == "IMAGE_TOO_LARGE"
    assert len(pending) == len(chunks) - 11  # 11 + 10 x 100 bytes passed 1000: read no further
