"""Per-request context (request id, timing) and the fields every success response ends with."""

from __future__ import annotations

import time
import uuid
from typing import TypedDict

from fastapi import Request


def request_id(request: Request) -> str:
    """The request's id (set by middleware; generated if missing)."""
    value = getattr(request.state, "request_id", None)
    if value is None:
        value = uuid.uuid4().hex
        request.state.request_id = value
    return str(value)


def took_ms(request: Request) -> float:
    """Milliseconds since the request started."""
    started = getattr(request.state, "started", None) or time.perf_counter()
    return round((time.perf_counter() - started) * 1000.0, 2)


class Envelope(TypedDict):
    """``request_id`` and ``took_ms``: the last fields of every success response."""

    request_id: str
    took_ms: float


def envelope(request: Request) -> Envelope:
    """The request's id and its time so far, for a response model: ``Out(..., **envelope(r))``."""
    return {"request_id": request_id(request), "took_ms": took_ms(request)}
