"""Per-request context as a plain ASGI middleware: request id, start time, the body-size
limit, the ``x-request-id`` and ``x-faceflow-instance`` headers, the security headers and the
HTTP metrics.

Security headers: every answer is ``nosniff`` and ``no-referrer``; the web demo (``/`` and
``/static/``) also gets a Content-Security-Policy that lets it load scripts, styles and data only
from the gateway itself (images also from ``blob:`` previews) and be framed by no other page: the
page holds an API key, so a page of another origin must not run script in it or frame it to
click its Delete buttons.

``x-faceflow-instance`` names the gateway replica that answered (its host name: the container
or pod), so that behind a load balancer an operator, or the Docker e2e, sees where a request went.

A plain ASGI class instead of ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs
the endpoint in a separate task and streams the response through a memory channel, which cost
a measurable share of the gateway's CPU per request (docs/detection.md).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_LATENCY = Histogram(
    "faceflow_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_RESPONSES = Counter(
    "faceflow_http_responses_total", "HTTP responses by status", ["method", "route", "status"]
)

TooLargeResponse = Callable[[Request, int], Response]

INSTANCE = socket.gethostname().encode()
EVERY_RESPONSE = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
DEMO_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:;"
    " media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)
DEMO_PAGE = ((b"content-security-policy", DEMO_PAGE_CSP.encode()), (b"x-frame-options", b"DENY"))


def security_headers(path: str) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers of an answer to ``path``."""
    if path == "/" or path.startswith("/static/"):
        return EVERY_RESPONSE + DEMO_PAGE
    return EVERY_RESPONSE


class RequestContextMiddleware:
    """Sets ``request.state.started`` / ``request_id``, answers an over-limit
    ``content-length`` with ``too_large`` before reading the body, and records metrics.

    A body without a content-length (chunked) is counted as the app reads it: once it passes
    the limit, ``too_large`` is answered (unless the app answered already), the app is told
    the client went away (its reads raise ``ClientDisconnect``) and whatever it sends after
    that is dropped."""

    def __init__(self, app: ASGIApp, max_request_bytes: int, too_large: TooLargeResponse) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["started"], state["request_id"] = started, request_id
        status = 500
        started_response = over_limit = rejected = False
        received = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-faceflow-instance", INSTANCE))
                headers.extend(security_headers(scope.get("path", "")))
                message = {**message, "headers": headers}
            await send(message)

        async def counted_receive() -> Message:
            nonlocal received, over_limit, rejected
            if over_limit:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_request_bytes:
                    over_limit = True
                    if not started_response:
                        rejected = True
                        response = self.too_large(Request(scope), self.max_request_bytes)
                        await response(scope, receive, send_with_id)
                    return {"type": "http.disconnect"}
            return message

        async def app_send(message: Message) -> None:
            if not rejected:  # after the 413 the app's own answer is dropped
                await send_with_id(message)

        try:
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.max_request_bytes:
                response = self.too_large(Request(scope), self.max_request_bytes)
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, counted_receive, app_send)
        except ClientDisconnect:
            if not over_limit:
                raise
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
            HTTP_RESPONSES.labels(method, route, str(status)).inc()
