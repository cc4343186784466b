"""Operations endpoints: /healthz, /readyz, /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import ClientsDep
from gateway.core.context import request_id

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Process is up")
async def healthz() -> dict[str, str]:
    """Always 200 while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", summary="Every service reachable and SERVING")
async def readyz(request: Request, clients: ClientsDep) -> Any:
    """200 when every configured service reports SERVING on gRPC health, else 503."""
    services = await clients.health()
    ready = bool(services) and all(status == "SERVING" for status in services.values())
    if ready:
        return {"status": "ready", "services": services}
    return JSONResponse(
        status_code=503,
        content={
            "error": {
                "code": "SERVICE_UNAVAILABLE",
                "message": "not ready: "
                + ", ".join(
                    f"{name} {status}" for name, status in services.items() if status != "SERVING"
                ),
                "request_id": request_id(request),
            },
            "services": services,
        },
    )


@router.get("/metrics", summary="Prometheus metrics")
async def metrics() -> Response:
    """Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
