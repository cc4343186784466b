"""The gateway's state: tenants, API keys and rate-limit buckets, in SQLite or PostgreSQL.

With ``FACEFLOW_GATEWAY_DATABASE_URL`` set every replica keeps them in one PostgreSQL (schema
created and migrated at start), so the gateway itself holds nothing and any number of replicas
can run; without it they live in SQLite under the data folder and in the process (one gateway,
the embedded default of ``make run``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.config import GatewaySettings
from gateway.core.ratelimit import Limiter, PostgresRateLimiter, RateLimiter
from gateway.core.tenants import Tenants, TenantStore
from gateway.core.tenants_pg import PostgresTenantStore, migrate_gateway_schema
from gateway.core.video_state import VideoState
from services.shared.postgres import ConnectionPool


@dataclass
class GatewayState:
    """Tenants with their keys, the rate limiter, and video jobs and streams."""

    tenants: Tenants
    limiter: Limiter
    video: VideoState
    pool: ConnectionPool | None = None

    def close(self) -> None:
        """Close the stores (and the PostgreSQL pool)."""
        self.tenants.close()
        self.video.close()
        if self.pool is not None:
            self.pool.close()


def open_gateway_state(settings: GatewaySettings) -> GatewayState:
    """PostgreSQL when a database URL is set, else SQLite and in-process buckets."""
    if settings.database_url:
        pool = ConnectionPool(settings.database_url, size=settings.database_pool_size)
        try:
            migrate_gateway_schema(pool)
        except BaseException:
            pool.close()
            raise
        try:
            video = VideoState.postgres(pool)
        except BaseException:
            pool.close()
            raise
        return GatewayState(
            PostgresTenantStore(pool),
            PostgresRateLimiter(pool, settings.rate_limit_per_minute),
            video,
            pool,
        )
    return GatewayState(
        TenantStore(settings.tenants_db),
        RateLimiter(settings.rate_limit_per_minute),
        VideoState.sqlite(settings.video_db),
    )
