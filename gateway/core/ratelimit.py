"""A per-API-key token bucket: RATE_LIMITED with 429 when a key exceeds its rate.

``RateLimiter`` keeps the buckets in the process (one gateway); ``PostgresRateLimiter`` keeps
them in PostgreSQL, so every gateway replica draws on the same bucket of a key.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from gateway.core.tenants import hash_key
from services.shared.postgres import ConnectionPool

GATEWAY_SCHEMA = "faceflow_gateway"  # created by gateway/core/tenants_pg.py's migrations


class Limiter(Protocol):
    """Takes one request's token for a key."""

    def take(self, key: str) -> float:
        """0.0 when granted, else the seconds until a token is available."""
        ...


class RateLimiter:
    """Allows ``per_minute`` requests per key, refilled continuously; 0 disables it."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for key: 0.0 when granted, else the seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        with self._lock:  # the clock read inside too: callers run on several threads
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0


class PostgresRateLimiter:
    """The same bucket per key, in one row of ``faceflow_gateway.rate_buckets``.

    One statement refills the bucket by the time since its last use (the database's clock, so
    replicas on different machines agree), takes a token when there is one, and says whether
    it did; concurrent requests on the same key serialise on the row.
    """

    def __init__(self, pool: ConnectionPool, per_minute: int) -> None:
        self.pool = pool
        self.per_minute = per_minute

    def take(self, key: str) -> float:
        """Take one token for key: 0.0 when granted, else the seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        refilled = "LEAST(%(cap)s, b.tokens + (EXCLUDED.updated_at - b.updated_at) * %(rate)s)"
        with self.pool.connection() as db:
            row = db.execute(
                f"INSERT INTO {GATEWAY_SCHEMA}.rate_buckets AS b"
                " (key_hash, tokens, updated_at, granted)"
                " SELECT %(key)s, %(cap)s - 1, extract(epoch FROM clock_timestamp()), TRUE"
                " ON CONFLICT (key_hash) DO UPDATE SET"
                f" tokens = CASE WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END,"
                f" granted = {refilled} >= 1,"
                " updated_at = EXCLUDED.updated_at"
                " RETURNING tokens, granted",
                {"key": hash_key(key), "cap": float(self.per_minute), "rate": rate},
            ).fetchone()
        if row is None or row[1]:
            return 0.0
        return (1.0 - float(row[0])) / rate
