"""Run slots shared fairly between tenants: the queue of video jobs waiting to run.

A plain semaphore serves waiters first come, first served, so a tenant that queues its 8 long
videos ahead of another tenant's one holds every slot until all 8 are done. ``FairSlots`` lets
at most ``capacity`` holders run; when a slot frees it goes to the waiting tenant that holds the
fewest slots now, then to the one that started a job least recently (so tenants take turns),
then to the earliest waiter of that tenant (each tenant's own jobs keep their order).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Waiter:
    order: int
    tenant: str
    ready: asyncio.Future[None] = field(compare=False)


class FairSlots:
    """At most ``capacity`` slots held at once, handed out fairly between tenants."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._held: Counter[str] = Counter()
        self._last_start: dict[str, int] = {}
        self._waiting: list[_Waiter] = []
        self._counter = itertools.count()

    @property
    def held(self) -> int:
        """Slots held now."""
        return sum(self._held.values())

    @asynccontextmanager
    async def slot(self, tenant: str) -> AsyncIterator[None]:
        """Hold one slot for the block (waiting for it, in the tenants' turn, when all are held)."""
        await self._acquire(tenant)
        try:
            yield
        finally:
            self._release(tenant)

    async def _acquire(self, tenant: str) -> None:
        if self.held < self.capacity and not self._waiting:
            self._take(tenant)
            return
        waiter = _Waiter(next(self._counter), tenant, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        try:
            await waiter.ready
        except asyncio.CancelledError:
            if waiter.ready.done() and not waiter.ready.cancelled():
                self._release(tenant)  # handed a slot just as it was cancelled: pass it on
            elif waiter in self._waiting:  # (a release may have dropped it already)
                self._waiting.remove(waiter)
            raise

    def _take(self, tenant: str) -> None:
        self._held[tenant] += 1
        self._last_start[tenant] = next(self._counter)

    def _release(self, tenant: str) -> None:
        self._held[tenant] -= 1
        if not self._held[tenant]:
            del self._held[tenant]
        while self._waiting and self.held < self.capacity:
            waiter = min(
                self._waiting,
                key=lambda w: (self._held[w.tenant], self._last_start.get(w.tenant, -1), w.order),
            )
            self._waiting.remove(waiter)
            if waiter.ready.done():  # cancelled, its task not run yet: it takes no slot
                continue
            self._take(waiter.tenant)
            waiter.ready.set_result(None)
