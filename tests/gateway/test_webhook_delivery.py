"""Webhook attempts are bounded as a whole and report only the kind of failure (scripted
receivers: the bound and the wording are the sender's own logic)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, cast

import httpx

from gateway.core.video_state import VideoState
from gateway.orchestration.webhooks import Message, RetryPolicy, WebhookSender

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


class Recorded:
    """Stands in for VideoState: keeps the attempts the sender records."""

    def __init__(self) -> None:
        self.attempts: list[dict[str, Any]] = []
        self.delivered = False

    def record_attempt(self, delivery_id: str, attempts: list[dict[str, Any]], ok: bool) -> None:
        self.attempts, self.delivered = list(attempts), ok


def deliver(handler: Handler) -> tuple[bool, Recorded, float]:
    async def run() -> tuple[bool, Recorded, float]:
        state = Recorded()
        policy = RetryPolicy(attempts=2, first_delay=0.01, timeout=0.3)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            recorder = cast(VideoState, state)
            url = "http://receiver.test/hook"
            sender = WebhookSender("job", url, "s" * 16, recorder, http, policy)
            started = time.monotonic()
            ok = await sender.deliver("d1", Message("video.job", None, {"type": "video.job"}))
            took = time.monotonic() - started
            sender.cancel()
        return ok, state, took

    return asyncio.run(run())


def test_a_receiver_that_never_answers_is_a_timeout_per_attempt() -> None:
    async def silent(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    ok, state, took = deliver(silent)
    assert not ok and took < 2.0  # two attempts of 0.3 s, not 30 s each
    assert [a["error"] for a in state.attempts] == ["timed out", "timed out"]


def test_an_endless_body_is_never_read() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536
            await asyncio.sleep(0)

    async def streaming(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    ok, state, took = deliver(streaming)
    assert ok and state.delivered and took < 2.0
    assert state.attempts[0]["status_code"] == 200 and state.attempts[0]["error"] is None


def test_a_network_error_is_reported_without_its_text() -> None:
    async def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused (10.0.0.5:5432)")

    ok, state, _ = deliver(refused)
    assert not ok
    assert [a["error"] for a in state.attempts] == ["connection failed"] * 2
    assert "10.0.0.5" not in str(state.attempts)
