"""Assertions on the gateway's HTTP answers, shared by every HTTP test."""

from __future__ import annotations

from typing import Any

import httpx


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error envelope with this status and code (message and request id present)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"] and body["error"]["request_id"]
    return body


def error_message(response: httpx.Response, status: int, code: str) -> str:
    """The message of an error envelope with this status and code."""
    message: str = assert_error(response, status, code)["error"]["message"]
    return message
