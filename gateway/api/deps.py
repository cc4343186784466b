"""FastAPI dependencies as ``Annotated`` aliases: settings, clients, the caller's tenant.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
and three thread hops per request cost more than the work they do (an in-memory lookup and
one indexed SQLite read).
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from gateway.core.clients import ServiceClients
from gateway.core.config import GatewaySettings
from gateway.core.errors import ApiError
from gateway.core.ratelimit import Limiter
from gateway.core.tenants import Tenant, Tenants

api_key_header = APIKeyHeader(name="x-api-key", auto_error=False, description="Your app's API key")


async def get_settings(request: Request) -> GatewaySettings:
    """The app's settings."""
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_clients(request: Request) -> ServiceClients:
    """The gRPC clients opened in the lifespan."""
    clients: ServiceClients = request.app.state.clients
    return clients


async def get_tenant(
    request: Request, key: Annotated[str | None, Depends(api_key_header)]
) -> Tenant:
    """Authenticate the x-api-key header; UNAUTHENTICATED 401, RATE_LIMITED 429."""
    if not key:
        raise ApiError(401, "UNAUTHENTICATED", "missing API key: send it in the x-api-key header")
    tenants: Tenants = request.app.state.tenants
    # off the event loop: with PostgreSQL these are network round trips, which must not stall
    # every other request while the database is slow or unreachable
    tenant = await run_in_threadpool(tenants.resolve, key)
    if tenant is None:
        raise ApiError(401, "UNAUTHENTICATED", "the API key is not valid")
    limiter: Limiter = request.app.state.rate_limiter
    wait = await run_in_threadpool(limiter.take, key)
    if wait > 0.0:
        raise ApiError(
            429,
            "RATE_LIMITED",
            "too many requests for this API key; slow down",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    request.state.tenant = tenant
    return tenant


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
ClientsDep = Annotated[ServiceClients, Depends(get_clients)]
TenantDep = Annotated[Tenant, Depends(get_tenant)]
