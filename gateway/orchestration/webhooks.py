"""Webhook delivery of a video job's events: signed, retried with backoff, every attempt recorded.

Each message is one POST with a JSON body and these headers:

- ``X-FaceFlow-Event``: ``video.track`` (a track ended) or ``video.job`` (the job is over);
- ``X-FaceFlow-Delivery``: the message's id (the same on every attempt: deduplicate on it);
- ``X-FaceFlow-Timestamp``: Unix seconds of this attempt;
- ``X-FaceFlow-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed
  with the job's ``webhook_secret``. A receiver recomputes it over the raw body, compares in
  constant time and refuses old timestamps (replays); ``faceflow_sdk.webhooks`` does this.

A 2xx answer delivers the message; anything else (another status, a refused connection, no
complete answer within the timeout: the whole exchange is bounded, not each read, and the
receiver's body is never read) is retried after ``first_delay``, then twice as long each time,
up to ``attempts`` tries. Before each try the URL's host is resolved and checked again, and
the try connects to the address checked (``gateway.core.webhook_destinations``): a host that
now resolves to an address webhooks may not reach ends the message's tries with "destination
not allowed", nothing sent; one that does not resolve is a failed try ("connection failed"),
retried. Messages go out one at a time in their order, from a task of the job, so a slow
receiver never holds up the video's processing. Each attempt (time, status or error) is stored
with the message and shown by ``GET /videos/jobs/{id}``: its status code, or only the
kind of failure ("timed out", "connection failed"), never the network error's text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.core.video_state import VideoState
from gateway.core.webhook_destinations import (
    Destination,
    DestinationRefusedError,
    Network,
    NoAddressError,
    check_destination,
)

log = logging.getLogger("faceflow.gateway.webhooks")

SIGNATURE_HEADER = "X-FaceFlow-Signature"
TIMESTAMP_HEADER = "X-FaceFlow-Timestamp"
DELIVERY_HEADER = "X-FaceFlow-Delivery"
EVENT_HEADER = "X-FaceFlow-Event"
DESTINATION_REFUSED = "destination not allowed"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``timestamp.body`` with the secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a message is pushed."""

    attempts: int = 5
    first_delay: float = 1.0
    max_delay: float = 60.0
    timeout: float = 5.0
    allowed_networks: tuple[Network, ...] = ()  # beyond public addresses (webhook_destinations)

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after this many failed attempts."""
        return float(min(self.max_delay, self.first_delay * 2 ** (failed_attempts - 1)))


@dataclass(frozen=True)
class Message:
    """One thing to tell the receiver."""

    kind: str
    track_id: int | None
    payload: dict[str, Any]


class WebhookSender:
    """Delivers one job's messages in order (``send``; ``close`` waits for the rest)."""

    def __init__(
        self,
        job_id: str,
        url: str,
        secret: str,
        state: VideoState,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
    ) -> None:
        self.job_id = job_id
        self.url = url
        self.secret = secret
        self.state = state
        self.http = http
        self.policy = policy
        self._queue: asyncio.Queue[tuple[str, Message] | None] = asyncio.Queue()
        self._seq = 0
        self._task = asyncio.create_task(self._deliver_all(), name=f"webhooks-{job_id}")

    def send(self, message: Message) -> None:
        """Queue a message (recorded now, delivered in order)."""
        delivery_id = self.state.add_delivery(
            self.job_id, self._seq, message.kind, message.track_id
        )
        self._seq += 1
        self._queue.put_nowait((delivery_id, message))

    async def close(self) -> None:
        """Deliver what is queued (with its retries), then stop."""
        self._queue.put_nowait(None)
        await self._task

    def cancel(self) -> None:
        """Stop now (the gateway is shutting down); undelivered messages stay recorded."""
        self._task.cancel()

    async def _deliver_all(self) -> None:
        while (item := await self._queue.get()) is not None:
            delivery_id, message = item
            try:
                await self.deliver(delivery_id, message)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the other messages
                log.exception("webhook delivery %s failed unexpectedly", delivery_id)

    async def _post(self, to: Destination, body: bytes, headers: dict[str, str]) -> int:
        """One POST to the checked address; its status. The response body is never read (a
        receiver could send an endless one), and the caller bounds the whole exchange, not
        each read."""
        async with self.http.stream(
            "POST",
            to.url,
            content=body,
            headers={**headers, "Host": to.host_header},
            timeout=self.policy.timeout,
            extensions={"sni_hostname": to.sni_hostname} if to.sni_hostname else None,
        ) as response:
            return response.status_code

    async def deliver(self, delivery_id: str, message: Message) -> bool:
        """Try until a 2xx or the attempts run out; True when delivered."""
        # the delivery id inside the signed body too: a receiver deduplicating on it cannot be
        # fooled by a captured delivery resent under another X-FaceFlow-Delivery header
        payload = {**message.payload, "delivery_id": delivery_id}
        body = json.dumps(payload, separators=(",", ":")).encode()
        attempts: list[dict[str, Any]] = []
        for number in range(1, self.policy.attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: message.kind,
                DELIVERY_HEADER: delivery_id,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(self.secret, timestamp, body),
                "User-Agent": "FaceFlow-Webhooks/1",
            }
            started = time.time()
            attempt: dict[str, Any] = {"at": round(started, 3), "status_code": None, "error": None}
            delivered = refused = False
            try:
                to = await check_destination(self.url, self.policy.allowed_networks)
                status = await asyncio.wait_for(self._post(to, body, headers), self.policy.timeout)
                attempt["status_code"] = status
                delivered = 200 <= status < 300
                if not delivered:
                    attempt["error"] = f"HTTP {status}"
            except NoAddressError:  # DNS did not answer: like a refused connection, retried
                attempt["error"] = "connection failed"
            except DestinationRefusedError:  # an address it may not reach: nothing sent
                attempt["error"] = DESTINATION_REFUSED
                refused = True
            except (TimeoutError, httpx.TimeoutException):
                attempt["error"] = "timed out"
            except httpx.HTTPError:
                # the class of failure only: the tenant reads this back, and an exception's
                # text ("connection refused" to 10.0.0.5:5432) would map the internal network
                attempt["error"] = "connection failed"
            attempt["duration_ms"] = round((time.time() - started) * 1000.0, 1)
            attempts.append(attempt)
            self.state.record_attempt(delivery_id, attempts, delivered)
            if delivered:
                return True
            if refused:  # no retry: the next check would refuse it too
                break
            if number < self.policy.attempts:
                await asyncio.sleep(self.policy.delay(number))
        log.warning(
            "webhook %s of job %s not delivered after %d attempts: %s",
            delivery_id,
            self.job_id,
            len(attempts),
            attempts[-1]["error"],
        )
        return False
