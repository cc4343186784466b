"""Video jobs waiting for a run slot take turns between tenants (``FairSlots``)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.orchestration.fair_slots import FairSlots


async def _run_in_order(slots: FairSlots, queued: list[tuple[str, str]]) -> list[str]:
    """Queue jobs (tenant, name) while the slots are busy; the order in which they start."""
    started: list[str] = []
    gate = asyncio.Event()

    async def job(tenant: str, name: str) -> None:
        async with slots.slot(tenant):
            started.append(name)
            if name.startswith("hold"):
                await gate.wait()

    holders = [asyncio.create_task(job("a", f"hold{i}")) for i in range(slots.capacity)]
    await asyncio.sleep(0)
    waiting = []
    for tenant, name in queued:
        waiting.append(asyncio.create_task(job(tenant, name)))
        await asyncio.sleep(0)  # queued in this order
    assert slots.held == slots.capacity
    gate.set()
    await asyncio.gather(*holders, *waiting)
    assert slots.held == 0
    return started[slots.capacity :]


def test_a_tenant_with_a_long_queue_does_not_hold_up_the_others() -> None:
    queued = [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1"), ("b", "b2")]
    order = asyncio.run(_run_in_order(FairSlots(1), queued))
    # a's four-job queue came first, but b and c take their turns in between; each tenant's
    # own jobs keep their order
    assert order == ["b1", "c1", "a1", "b2", "a2", "a3"]


def test_with_two_slots_the_tenant_holding_fewer_goes_first() -> None:
    queued = [("a", "a1"), ("b", "b1"), ("a", "a2")]
    order = asyncio.run(_run_in_order(FairSlots(2), queued))
    assert order[0] == "b1" and order.index("a1") < order.index("a2")


def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    async def scenario() -> list[str]:
        slots = FairSlots(1)
        started: list[str] = []
        release = asyncio.Event()

        async def job(tenant: str, name: str) -> None:
            async with slots.slot(tenant):
                started.append(name)
                if name == "first":
                    await release.wait()

        first = asyncio.create_task(job("a", "first"))
        await asyncio.sleep(0)
        dropped = asyncio.create_task(job("b", "dropped"))
        kept = asyncio.create_task(job("c", "kept"))
        await asyncio.sleep(0)
        dropped.cancel()
        release.set()
        await asyncio.gather(first, kept)
        with pytest.raises(asyncio.CancelledError):
            await dropped
        assert slots.held == 0
        return started

    assert asyncio.run(scenario()) == ["first", "kept"]


def test_a_waiter_cancelled_just_before_a_release_loses_no_slot() -> None:
    """Cancelling a waiting task cancels its future at once, but the task runs later: a slot
    freed in between must go to the next waiter, not to the cancelled one (a lost slot would
    stop every job after it)."""

    async def scenario() -> tuple[list[str], int]:
        slots = FairSlots(1)
        started: list[str] = []

        async def job(tenant: str, name: str) -> None:
            async with slots.slot(tenant):
                started.append(name)

        async with slots.slot("a"):
            dropped = asyncio.create_task(job("b", "dropped"))
            kept = asyncio.create_task(job("c", "kept"))
            await asyncio.sleep(0)  # both wait
            dropped.cancel()  # its future is cancelled now, its task runs later
        # leaving the block released the slot in this same step, before "dropped" ran
        await asyncio.gather(kept, dropped, return_exceptions=True)
        await asyncio.wait_for(job("d", "after"), 1.0)  # the slot is still there
        return started, slots.held

    started, held = asyncio.run(scenario())
    assert started == ["kept", "after"] and held == 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FairSlots(0)
