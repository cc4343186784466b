"""``make run``: its watch loop (a child that exits stops the stack with a failure status) and
its ports, from the environment."""

from __future__ import annotations

import threading

import pytest

from deploy.local.launcher import Launcher, LaunchError
from deploy.local.run import watch
from services.shared.topology import GATEWAY_PORT, SERVICE_PORTS


class FakeChild:
    def __init__(self, exits_after: int | None) -> None:
        self.polls, self.exits_after = 0, exits_after
        self.returncode: int | None = None

    def poll(self) -> int | None:
        self.polls += 1
        if self.exits_after is not None and self.polls >= self.exits_after:
            self.returncode = -9
        return self.returncode


def test_a_child_that_exits_is_a_crash() -> None:
    children = {"detection": FakeChild(None), "embedding": FakeChild(exits_after=3)}
    assert watch(children, threading.Event(), every=0.001) is True
    assert children["embedding"].returncode == -9


def test_a_stop_request_is_not_a_crash() -> None:
    stop = threading.Event()
    stop.set()
    assert watch({"gateway": FakeChild(None)}, stop, every=0.001) is False


def test_ports_come_from_the_environment() -> None:
    launcher = Launcher.from_environment(
        {"FACEFLOW_GATEWAY_PORT": "9000", "FACEFLOW_EMBEDDING_PORT": " 60052 "}
    )
    env = launcher._env()  # what every child process is started with
    assert launcher.base_url == "http://127.0.0.1:9000"
    assert (env["FACEFLOW_GATEWAY_HOST"], env["FACEFLOW_GATEWAY_PORT"]) == ("127.0.0.1", "9000")
    assert env["FACEFLOW_EMBEDDING_PORT"] == "60052"
    assert env["FACEFLOW_GATEWAY_EMBEDDING_ADDR"] == "127.0.0.1:60052"
    assert env["FACEFLOW_DETECTION_PORT"] == str(SERVICE_PORTS["detection"])  # the default


def test_unset_ports_are_the_defaults() -> None:
    launcher = Launcher.from_environment({"FACEFLOW_GATEWAY_PORT": ""})
    assert launcher.base_url == f"http://127.0.0.1:{GATEWAY_PORT}"
    assert launcher.service_address("liveness") == f"127.0.0.1:{SERVICE_PORTS['liveness']}"


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1", "80.5"])
def test_a_port_that_is_no_port_is_named(value: str) -> None:
    with pytest.raises(LaunchError, match=r"^FACEFLOW_DETECTION_PORT must be a port number"):
        Launcher.from_environment({"FACEFLOW_DETECTION_PORT": value})
