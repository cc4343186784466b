"""Check that a webhook request really comes from your FaceFlow server.

Each delivery of a video job's events carries ``X-FaceFlow-Timestamp`` (Unix seconds) and
``X-FaceFlow-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"{timestamp}.{raw body}"`` keyed
with the ``webhook_secret`` you gave. Verify it over the raw bytes of the body (before any JSON
parsing), and refuse old timestamps so a recorded request cannot be replayed:

>>> from faceflow_sdk.webhooks import verify_webhook
>>> if not verify_webhook(secret, body, request.headers):
...     return 401

The body's ``delivery_id`` (also sent as ``X-FaceFlow-Delivery``) is the same on every retry
of one message: use the body's, which the signature covers, to ignore repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "x-faceflow-signature"
TIMESTAMP_HEADER = "x-faceflow-timestamp"
DELIVERY_HEADER = "x-faceflow-delivery"
EVENT_HEADER = "x-faceflow-event"
DEFAULT_TOLERANCE_SECONDS = 300.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for this body and timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when the signature matches the body and the timestamp is recent enough."""
    lowered = {key.lower(): value for key, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER, "")
    given = lowered.get(SIGNATURE_HEADER, "")
    # headers are the sender's to choose: "²" is a digit to isdigit() but not to int(), and
    # compare_digest refuses non-ASCII text, so anything but ASCII is simply not a match
    if not (timestamp.isascii() and timestamp.isdigit()) or not given or not given.isascii():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), given.encode())
