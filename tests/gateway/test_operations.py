"""Operations endpoints, OpenAPI and the web demo page."""

from __future__ import annotations

import socket

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest


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
