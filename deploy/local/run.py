"""``make run``: start FaceFlow locally, print the URL and the demo key, serve until Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Protocol

from deploy.local.launcher import Launcher, LaunchError
from gateway.core.config import GatewaySettings
from gateway.core.state import open_gateway_state

log = logging.getLogger("faceflow.run")

DEMO_KEY_FILE = "demo-api-key.txt"


def ensure_demo_key(launcher: Launcher) -> str:
    """Create the demo tenant and its key once; the key is kept in var/demo-api-key.txt."""
    key_file = launcher.data_dir / DEMO_KEY_FILE
    settings = GatewaySettings(data_dir=launcher.data_dir / "gateway")
    state = open_gateway_state(settings)
    store = state.tenants
    try:
        store.ensure_tenant(settings.demo_tenant)
        if key_file.is_file():
            key = key_file.read_text().strip()
            if store.resolve(key) is not None:
                return key
        key = store.create_key(settings.demo_tenant, label="local demo")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        return key
    finally:
        state.close()


class Child(Protocol):
    """What :func:`watch` needs of a child process (``subprocess.Popen``)."""

    returncode: int | None

    def poll(self) -> int | None: ...


def watch(children: Mapping[str, Child], stop: threading.Event, every: float = 1.0) -> bool:
    """Wait until ``stop`` is set (Ctrl-C, SIGTERM) or a child exits; True for a child exit."""
    while not stop.wait(every):
        for name, child in children.items():
            if child.poll() is not None:
                log.error("%s exited with code %s; stopping", name, child.returncode)
                return True
    return False


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        launcher = Launcher.from_environment(os.environ)
    except LaunchError as error:
        log.error("%s", error)
        return 2
    key = ensure_demo_key(launcher)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        launcher.start()
    except LaunchError as error:
        log.error("start-up failed: %s", error)
        return 1
    sys.stdout.write(
        f"\nFaceFlow is running at {launcher.base_url}  (web demo: {launcher.base_url}/ , "
        f"API docs: {launcher.base_url}/docs)\n"
        f"Demo tenant API key: {key}  (also in {launcher.data_dir / DEMO_KEY_FILE})\n"
        "Press Ctrl-C to stop.\n\n"
    )
    sys.stdout.flush()
    try:
        crashed = watch(launcher.children, stop)
    finally:
        log.info("stopping all processes")
        launcher.stop()
    return 1 if crashed else 0  # a supervisor can tell a crash from Ctrl-C


if __name__ == "__main__":
    raise SystemExit(main())
