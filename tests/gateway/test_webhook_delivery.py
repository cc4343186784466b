"""Webhook attempts are bounded as a whole, report only the kind of failure, and never reach an
address that is not public unless its network is allowed (scripted receivers: the bound, the
wording and the destination check are the sender's own logic)."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, cast

import httpx
import pytest

from gateway.core.video_state import VideoState
from gateway.core.webhook_destinations import (
    NOT_ALLOWED,
    DestinationRefusedError,
    Network,
    check_destination,
    parse_networks,
)
from gateway.orchestration.webhooks import Message, RetryPolicy, WebhookSender

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


class Recorded:
    """Stands in for VideoState: keeps the attempts the sender records."""

    def __init__(self) -> None:
        self.attempts: list[dict[str, Any]] = []
        self.delivered = False

    def record_attempt(self, delivery_id: str, attempts: list[dict[str, Any]], ok: bool) -> None:
        self.attempts, self.delivered = list(attempts), ok


PUBLIC_URL = "http://93.184.215.14/hook"  # a public address: no name to resolve


def deliver(
    handler: Handler, url: str = PUBLIC_URL, allowed: tuple[Network, ...] = ()
) -> tuple[bool, Recorded, float]:
    async def run() -> tuple[bool, Recorded, float]:
        state = Recorded()
        policy = RetryPolicy(attempts=2, first_delay=0.01, timeout=0.3, allowed_networks=allowed)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            recorder = cast(VideoState, state)
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


def test_a_destination_that_is_not_public_is_never_sent_to() -> None:
    """Checked before every attempt (a name may resolve elsewhere by then): no request, one
    attempt recorded as refused, no retry."""
    sent: list[httpx.Request] = []

    async def receiving(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://[::1]/x"):
        ok, state, _ = deliver(receiving, url)
        assert not ok and not sent
        assert [a["error"] for a in state.attempts] == ["destination not allowed"]
        assert state.attempts[0]["status_code"] is None
    ok, state, _ = deliver(receiving, "http://127.0.0.1:9/hook", parse_networks("127.0.0.0/8"))
    assert ok and len(sent) == 1  # the operator allowed this machine's loopback


def refusal(url: str, allowed: str = "") -> str | None:
    """Why url is refused (None: it may be reached)."""
    try:
        asyncio.run(check_destination(url, parse_networks(allowed)))
    except DestinationRefusedError as refused:
        return str(refused)
    return None


def test_which_addresses_a_webhook_may_reach() -> None:
    for url in (
        "http://127.0.0.1/x",
        "http://localhost:8080/x",  # a name: resolved
        "http://2130706433/x",  # 127.0.0.1 as one number: the resolver reads it so
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://172.16.5.5/x",
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://0.0.0.0/x",
        "http://240.0.0.1/x",  # reserved
        "http://224.0.0.1/x",  # multicast
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped loopback
        "http://[::7f00:1]/x",  # IPv4-compatible loopback
        "http://[64:ff9b::a00:5]/x",  # NAT64 to 10.0.0.5
        "http://[64:ff9b:1:a00:0:500:808:808]/x",  # a local translator's prefix: unknown target
        "http://[2002:a00:5::]/x",  # 6to4 of 10.0.0.5
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/x",  # Teredo, client 10.0.0.1
        "http://[fe80::1]/x",
        "http://[fec0::1]/x",  # site-local
        "http://[fd00::5]/x",
        "http://no-such-host.invalid/x",  # no answer: refused, same words (no name oracle)
    ):
        assert refusal(url) == NOT_ALLOWED, url
    assert refusal("https://93.184.215.14/hook") is None
    assert refusal("http://[2606:4700:4700::1111]/x") is None
    assert refusal("http://[64:ff9b::808:808]/x") is None  # NAT64 to a public address
    assert refusal("http://10.1.2.3/x", "10.0.0.0/8, 192.168.0.0/16") is None
    assert refusal("http://192.168.0.10/x", "10.0.0.0/8") == NOT_ALLOWED
    assert refusal("http://127.0.0.1:99999/x") == "webhook_url has an invalid host or port"


def test_an_attempt_connects_to_the_address_it_checked() -> None:
    """The name is resolved once per attempt and the POST goes to that address, the name in
    the Host header and (https) in SNI: a DNS answer that changes later is not used."""
    seen: list[httpx.Request] = []

    async def receiving(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    loopback = parse_networks("127.0.0.0/8, ::1")  # localhost may be either
    for url in ("http://localhost:9/hook?x=1", "https://user@localhost:9/hook"):
        ok, _, _ = deliver(receiving, url, loopback)
        assert ok
    plain, tls = seen
    assert (plain.url.host, plain.url.port, plain.url.path) in {
        ("127.0.0.1", 9, "/hook"),
        ("::1", 9, "/hook"),
    }
    assert plain.url.query == b"x=1" and plain.headers["host"] == "localhost:9"
    assert "sni_hostname" not in plain.extensions
    assert tls.url.host in ("127.0.0.1", "::1") and tls.headers["host"] == "localhost:9"
    assert tls.extensions["sni_hostname"] == "localhost"
    destination = asyncio.run(check_destination("http://[::1]:8080/h", parse_networks("::1")))
    assert destination.url == "http://[::1]:8080/h" and destination.host_header == "[::1]:8080"
    port_zero = asyncio.run(check_destination("http://127.0.0.1:0/h", loopback))
    assert port_zero.url == "http://127.0.0.1:0/h"  # kept, not turned into the default port


def test_through_a_proxy_the_address_is_checked_not_pinned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With HTTPS_PROXY the proxy resolves the name (a pinned IP would fail its certificate)."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    destination = asyncio.run(check_destination("https://93.184.215.14/h", ()))
    assert destination.url == "https://93.184.215.14/h" and destination.sni_hostname is None
    assert refusal("https://10.1.2.3/h") == NOT_ALLOWED  # still checked


def test_a_name_that_does_not_resolve_is_a_retried_connection_failure() -> None:
    sent: list[httpx.Request] = []

    async def receiving(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    ok, state, _ = deliver(receiving, "http://no-such-host.invalid/hook")
    assert not ok and not sent
    assert [a["error"] for a in state.attempts] == ["connection failed"] * 2


def test_allowed_networks_must_parse() -> None:
    from pydantic import ValidationError

    from gateway.core.config import GatewaySettings

    assert parse_networks(" 10.0.0.0/8 ,, 127.0.0.1") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
    )
    with pytest.raises(ValidationError, match="'intranet' is not an IP network"):
        GatewaySettings(webhook_allowed_networks="10.0.0.0/8,intranet")
