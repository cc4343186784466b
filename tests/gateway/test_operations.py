"""Operations endpoints, OpenAPI and the web demo page."""

from __future__ import annotations

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest


def test_healthz(gateway: GatewayUnderTest) -> None:
    assert gateway.client.get("/healthz").json() == {"status": "ok"}


def test_readyz_ready_when_detection_serving(gateway: GatewayUnderTest) -> None:
    response = gateway.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["services"] == {"detection": "SERVING"}


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


def test_demo_page_is_served(gateway: GatewayUnderTest) -> None:
    page = gateway.client.get("/")
    assert page.status_code == 200 and "FaceFlow" in page.text
    assert gateway.client.get("/static/app.js").status_code == 200
