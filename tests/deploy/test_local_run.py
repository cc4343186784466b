"""``make run``'s watch loop: a child that exits stops the stack with a failure status."""

from __future__ import annotations

import threading

from deploy.local.run import watch


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
