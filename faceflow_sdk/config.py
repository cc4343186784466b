"""Where the server is and which API key to use: argument, then environment, then defaults.

URL: ``--url`` / ``FACEFLOW_URL`` / ``http://127.0.0.1:8000`` (the local run).
Key: ``--api-key`` / ``FACEFLOW_API_KEY`` / the demo key that ``make run`` writes to
``var/demo-api-key.txt`` (looked up in the current directory, then in the checkout that holds
this package).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
DEMO_KEY_PATH = Path("var") / "demo-api-key.txt"


def resolve_url(url: str | None = None) -> str:
    """The server's base URL (without a trailing slash)."""
    return (url or os.environ.get("FACEFLOW_URL") or DEFAULT_URL).rstrip("/")


def demo_key_candidates() -> list[Path]:
    """Files that may hold the local demo key, first match wins."""
    checkout = Path(__file__).resolve().parent.parent
    return [Path.cwd() / DEMO_KEY_PATH, checkout / DEMO_KEY_PATH]


def resolve_api_key(api_key: str | None = None) -> str | None:
    """The API key, or None when none is configured anywhere."""
    if api_key:
        return api_key
    from_env = os.environ.get("FACEFLOW_API_KEY")
    if from_env:
        return from_env
    for candidate in demo_key_candidates():
        if candidate.is_file():
            key = candidate.read_text().strip()
            if key:
                return key
    return None
