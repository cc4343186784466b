"""End to end: the same launcher as `make run` starts real processes; HTTP -> gateway -> gRPC."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local.launcher import Launcher
from deploy.local.run import ensure_demo_key
from deploy.local.services import SERVICES
from deploy.local.stack import free_port, free_port_offset
from tests.helpers import images

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Launcher, str]]:
    data_dir: Path = tmp_path_factory.mktemp("e2e")
    launcher = Launcher(
        data_dir=data_dir,
        gateway_port=free_port(),
        port_offset=free_port_offset([s.port for s in SERVICES]),
        log_dir=data_dir / "logs",
        startup_timeout=180,
    )
    key = ensure_demo_key(launcher)
    launcher.start()
    yield launcher, key
    launcher.stop()


def test_detect_over_http_through_real_processes(stack: tuple[Launcher, str]) -> None:
    launcher, key = stack
    response = httpx.post(
        f"{launcher.base_url}/api/v1/detect",
        files={"image": ("a.jpg", images.astronaut_jpeg(), "image/jpeg")},
        headers={"x-api-key": key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["faces"]) == 1


def test_readyz_lists_every_started_service(stack: tuple[Launcher, str]) -> None:
    launcher, _ = stack
    body = httpx.get(f"{launcher.base_url}/readyz", timeout=10).json()
    assert set(body["services"]) == {s.name for s in launcher.services}
    assert set(body["services"].values()) == {"SERVING"}


def test_bad_key_and_bad_image_over_http(stack: tuple[Launcher, str]) -> None:
    launcher, key = stack
    wrong = httpx.post(
        f"{launcher.base_url}/api/v1/detect",
        files={"image": ("a.jpg", b"x")},
        headers={"x-api-key": "nope"},
        timeout=10,
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "UNAUTHENTICATED"
    garbage = httpx.post(
        f"{launcher.base_url}/api/v1/detect",
        files={"image": ("a.jpg", b"garbage" * 10)},
        headers={"x-api-key": key},
        timeout=10,
    )
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "INVALID_IMAGE"


def test_children_stop_cleanly_on_sigterm(tmp_path: Path) -> None:
    launcher = Launcher(
        data_dir=tmp_path,
        gateway_port=free_port(),
        port_offset=free_port_offset([s.port for s in SERVICES]),
        log_dir=tmp_path / "logs",
        startup_timeout=180,
    )
    ensure_demo_key(launcher)
    launcher.start()
    children = dict(launcher.children)
    launcher.stop(grace=15)
    codes = {name: child.returncode for name, child in children.items()}
    # gRPC services exit 0; uvicorn re-raises the SIGTERM it handled after a graceful shutdown.
    assert all(codes[s.name] == 0 for s in launcher.services), codes
    assert codes["gateway"] in (0, -signal.SIGTERM), codes
    assert "Application shutdown complete" in (tmp_path / "logs" / "gateway.log").read_text()
