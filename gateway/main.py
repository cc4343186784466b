"""The FastAPI application: lifespan (tenants, gRPC channels), middleware, error handlers,
routers under /api/v1, operations endpoints and the web demo at /.

Run with ``python -m gateway`` (uvicorn) or build with ``create_app(settings)`` in tests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gateway.api.openapi import openapi_document
from gateway.api.params.messages import describe
from gateway.api.routes import clusters, detect, groups, health, liveness, search, verify, videos
from gateway.core.clients import ServiceClients
from gateway.core.config import GatewaySettings
from gateway.core.context import request_id
from gateway.core.errors import ApiError
from gateway.core.middleware import RequestContextMiddleware
from gateway.core.state import open_gateway_state
from gateway.orchestration.video_jobs import VideoJobs
from services.shared.errors import DatabaseUnavailableError

log = logging.getLogger("faceflow.gateway")

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).resolve().parent / "static"

HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
HTTP_STATUS_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "IMAGE_TOO_LARGE"}


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error envelope (with the headers its status needs: Retry-After, Allow)."""
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "request_id": request_id(request)}},
        headers=dict(headers or {}),
    )


def allowed_methods(request: Request) -> str:
    """Every method served at the request's path, for a 405's ``Allow`` (Starlette names only
    the first route that matched the path, and a path may have one route per method)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the app; channels and the tenant store open in the lifespan."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        state = open_gateway_state(settings)
        app.state.tenants = state.tenants
        app.state.rate_limiter = state.limiter
        app.state.clients = ServiceClients(settings)
        app.state.clients.open()
        app.state.clients.start_watching()
        app.state.video_jobs = VideoJobs(settings, app.state.clients, state.video)
        app.state.video_jobs.recover()
        try:
            yield
        finally:
            await app.state.video_jobs.close()
            await app.state.clients.close()
            state.close()

    app = FastAPI(
        title="FaceFlow API",
        version="1.0.0",
        description="Self-hosted face detection, verification, search, attributes and liveness.",
        lifespan=lifespan,
    )

    def too_large(request: Request, limit: int) -> Response:
        if request.url.path.startswith(f"{API_PREFIX}/videos"):
            return error_response(
                request,
                413,
                "VIDEO_TOO_LARGE",
                f"the request body is over {limit} bytes (base64 makes a video a third "
                "larger: send it as a multipart file)",
            )
        return error_response(
            request, 413, "IMAGE_TOO_LARGE", f"the request body is over {limit} bytes"
        )

    app.add_middleware(
        RequestContextMiddleware,
        max_request_bytes=settings.max_request_bytes,
        too_large=too_large,
    )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(request, error.status, error.code, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        """A bad path parameter (the others are read by the routes' parameter models)."""
        if not error.errors():
            return error_response(request, 400, "INVALID_ARGUMENT", "invalid request")
        first = cast(ErrorDetails, error.errors()[0])
        answer = describe(first, first["loc"][1:], None)  # loc: ("path", name)
        return error_response(request, answer.status, answer.code, answer.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_STATUS_CODES.get(error.status_code, "INVALID_ARGUMENT")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return error_response(request, error.status_code, code, str(error.detail), headers)

    @app.exception_handler(DatabaseUnavailableError)
    async def database_unavailable(
        request: Request, error: DatabaseUnavailableError
    ) -> JSONResponse:
        """The tenants' and rate limits' PostgreSQL is down (a restart, a fail-over): 503."""
        return error_response(request, 503, error.code, error.message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "INTERNAL", "internal error")

    for router in (
        detect.router,
        verify.router,
        search.router,
        groups.router,
        liveness.router,
        videos.router,
        clusters.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def openapi() -> dict[str, Any]:
        return openapi_document(app)

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/", include_in_schema=False)
    async def demo_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
