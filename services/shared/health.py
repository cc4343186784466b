"""Which answers to a grpc.health.v1 check mean the service is alive.

A service's concurrency limit (``maximum_concurrent_rpcs`` in ``services/shared/server.py``)
refuses every RPC once its queue is full, health checks included, with RESOURCE_EXHAUSTED: the
service answered at once, so it is busy, not dead. UNIMPLEMENTED is a live server without a
health service. The gateway's background checks and /readyz, and the container health check
(``deploy/docker/healthcheck.py``, also the Kubernetes liveness probe) all use this one set.
"""

from __future__ import annotations

import grpc

ALIVE_CODES = frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNIMPLEMENTED})
"""A health check that failed with one of these still reached a live server."""
