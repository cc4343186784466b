"""A call waiting beside its service's health watch: 503 when the service goes down, and the
RPC cancelled with its caller (it kept the model service busy until its deadline)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.core.clients import HealthWatch, ServiceClients
from gateway.core.errors import ApiError


class Reply:
    """An RPC's reply that never comes; remembers whether it was cancelled."""

    def __init__(self) -> None:
        self.cancelled = False

    async def wait(self) -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return "never"


def test_a_cancelled_caller_cancels_its_rpc() -> None:
    async def scenario() -> bool:
        reply = Reply()
        caller = asyncio.create_task(
            ServiceClients._unless_down("embedding", reply.wait(), HealthWatch())
        )
        await asyncio.sleep(0.01)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        await asyncio.sleep(0)
        return reply.cancelled  # asked before asyncio.run cancels what is left

    assert asyncio.run(scenario())


def test_a_service_going_down_is_a_503_and_cancels_the_rpc() -> None:
    async def scenario() -> tuple[ApiError, bool]:
        reply, watch = Reply(), HealthWatch()
        caller = asyncio.create_task(ServiceClients._unless_down("embedding", reply.wait(), watch))
        await asyncio.sleep(0.01)
        watch.went_down.set()
        with pytest.raises(ApiError) as caught:
            await caller
        await asyncio.sleep(0)
        return caught.value, reply.cancelled

    error, cancelled = asyncio.run(scenario())
    assert (error.status, error.code) == (503, "SERVICE_UNAVAILABLE")
    assert error.message == "the embedding service stopped answering"
    assert cancelled
