"""Run the real local stack (the launcher of ``make run``) on free ports, for tests, benchmarks
and evaluations: the same processes a user gets, a fresh data folder and the demo tenant's key.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.local.launcher import Launcher
from deploy.local.run import ensure_demo_key
from deploy.local.services import SERVICES


@dataclass(frozen=True)
class Stack:
    """A running stack: its URL, the demo key, where its data lives, and its launcher."""

    url: str
    api_key: str
    data_dir: Path
    service_names: frozenset[str]
    launcher: Launcher


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_offset(ports: Sequence[int]) -> int:
    """An offset that moves every default service port onto a port that is free now."""
    for _ in range(100):
        offset = random.randint(1000, 65000 - max(ports))
        if all(_is_free(port + offset) for port in ports):
            return offset
    raise RuntimeError("no free port range for the services")


EMBEDDING_MODEL_ENV = "FACEFLOW_EMBEDDING_EMBEDDING_MODEL"


def embedder_env(model: str) -> dict[str, str]:
    """The environment that makes the embedding service serve this embedder."""
    return {EMBEDDING_MODEL_ENV: model}


@contextmanager
def running_stack(
    data_dir: Path,
    services: Sequence[str] | None = None,
    startup_timeout: float = 300.0,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """The named services (default: all) plus the gateway as real processes; stopped on exit.

    extra_env is added to every process's environment (a service's settings, e.g.
    ``FACEFLOW_ATTRIBUTES_AGE_FROM``)."""
    chosen = [s for s in SERVICES if services is None or s.name in services]
    launcher = Launcher(
        data_dir=data_dir,
        gateway_port=free_port(),
        port_offset=free_port_offset([s.port for s in chosen]),
        services=chosen,
        log_dir=data_dir / "logs",
        startup_timeout=startup_timeout,
        extra_env=dict(extra_env or {}),
    )
    key = ensure_demo_key(launcher)
    launcher.start()
    try:
        yield Stack(launcher.base_url, key, data_dir, frozenset(s.name for s in chosen), launcher)
    finally:
        launcher.stop()
