"""Operations endpoints: /healthz, /readyz, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from gateway.api.deps import ClientsDep
from gateway.api.schemas import ErrorBody
from gateway.core.context import envelope, request_id

router = APIRouter(tags=["operations"])

METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.split(";", 1)[0]


class HealthOut(BaseModel):
    """The process is up."""

    status: str = Field(examples=["ok"])
    request_id: str
    took_ms: float


class ReadyOut(BaseModel):
    """Every configured service is SERVING."""

    status: str = Field(examples=["ready"])
    services: dict[str, str] = Field(description="service -> its gRPC health status")
    request_id: str
    took_ms: float


class NotReadyOut(BaseModel):
    """A service is not SERVING: the error envelope plus each service's status."""

    error: ErrorBody
    services: dict[str, str] = Field(description="service -> its gRPC health status")


@router.get("/healthz", response_model=HealthOut, summary="Process is up")
async def healthz(request: Request) -> HealthOut:
    """Always 200 while the process runs."""
    return HealthOut(status="ok", **envelope(request))


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": NotReadyOut, "description": "SERVICE_UNAVAILABLE"}},
    summary="Every service reachable and SERVING",
)
async def readyz(request: Request, clients: ClientsDep) -> ReadyOut | JSONResponse:
    """200 when every configured service reports SERVING on gRPC health, else 503."""
    services = await clients.health()
    ready = bool(services) and all(status == "SERVING" for status in services.values())
    if ready:
        return ReadyOut(status="ready", services=services, **envelope(request))
    down = ", ".join(f"{name} {status}" for name, status in services.items() if status != "SERVING")
    body = NotReadyOut(
        error=ErrorBody(
            code="SERVICE_UNAVAILABLE", message=f"not ready: {down}", request_id=request_id(request)
        ),
        services=services,
    )
    return JSONResponse(status_code=503, content=body.model_dump())


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {METRICS_MEDIA_TYPE: {"schema": {"type": "string"}}},
        }
    },
    summary="Prometheus metrics",
)
async def metrics() -> Response:
    """Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
