"""Group indexes built beside the live ones, so the store never holds its lock for a build.

Switching a grown group to HNSW (tens of seconds at 50,000 faces, minutes at a million) or
rebuilding one heavy with tombstones would stop every search and enroll of the service if it
ran under the store's lock. Instead ``IndexBuilds.start`` takes a snapshot of the group's
vectors (under the lock, a copy), builds the new index in a background thread (FAISS releases
the GIL, so searches keep running on the live index), and every write to the group meanwhile
goes to the live index and to the build's journal (``journal``). When the new index is built
the journal is replayed into it off the lock until at most ``SWAP_JOURNAL_LIMIT`` writes are
left; those are replayed under the lock and the new index replaces the live one. A cancelled
build (the group deleted, the store closed) is dropped; the live index stays complete
throughout, so nothing depends on a build finishing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.faiss_index import GroupIndex, HnswParams

log = logging.getLogger(__name__)

Change = tuple[NDArray[np.int64], NDArray[np.float32] | None]
"""One journalled write: (ids, vectors) of an add, (ids, None) of a removal."""

BUILD_CHUNK = 10_000
"""Vectors added to the new index per FAISS call: a cancelled build (closing, the group deleted)
stops after the chunk in hand instead of finishing the whole graph."""

SWAP_JOURNAL_LIMIT = 32
"""Writes made during a build are replayed into the new index off the lock until at most this
many are left; those are replayed under the lock, just before the swap."""


def replay(index: GroupIndex, journal: list[Change]) -> None:
    """Apply journalled writes (adds with vectors, removals without) to an index, in order."""
    for changed_ids, changed_vectors in journal:
        if changed_vectors is None:
            index.remove([int(i) for i in changed_ids])
        else:
            index.add(changed_ids, changed_vectors)


@dataclass
class IndexBuild:
    """A group index being built beside the live one, and the writes it must catch up on."""

    kind: str
    faces: int
    journal: list[Change] = field(default_factory=list)
    """The writes to the group since the snapshot the build started from."""
    cancelled: bool = False
    thread: threading.Thread | None = None


@dataclass
class BuildTarget:
    """What the builds need of the store: its lock, live indexes and build settings."""

    lock: threading.RLock
    indexes: dict[int, GroupIndex]
    dimension: int
    hnsw: Callable[[], HnswParams]
    """The store's current HNSW parameters (efSearch may change during a build)."""
    threads: int
    swapped: Callable[[int], None]
    """Called under the lock once a group's new index is live (the store marks it unsaved)."""
    closed: Callable[[], bool]


class IndexBuilds:
    """The builds in progress, at most one per group (see module docstring)."""

    def __init__(self, target: BuildTarget) -> None:
        self.target = target
        self._builds: dict[int, IndexBuild] = {}

    def __contains__(self, pk: int) -> bool:
        return pk in self._builds

    def building(self, pk: int) -> str | None:
        """The kind of index being built for a group, or None."""
        build = self._builds.get(pk)
        return build.kind if build is not None else None

    def start(self, pk: int, kind: str) -> None:
        """Snapshot the group's live vectors and build a ``kind`` index of them (under the lock)."""
        ids, vectors = self.target.indexes[pk].live_vectors()
        build = IndexBuild(kind, len(ids))
        build.thread = threading.Thread(
            target=self._build_and_swap,
            args=(pk, build, ids, vectors),
            name=f"index-build-g{pk}",
            daemon=True,
        )
        self._builds[pk] = build
        log.info("building index of group %d as %s (%d faces)", pk, kind, len(ids))
        build.thread.start()

    def journal(self, pk: int, ids: NDArray[np.int64], vectors: NDArray[np.float32] | None) -> None:
        """Record a write for the group's build in progress, if any (under the lock)."""
        build = self._builds.get(pk)
        if build is not None:
            build.journal.append((ids.copy(), None if vectors is None else vectors.copy()))

    def cancel(self, pk: int) -> None:
        """Drop the group's build (under the lock): its result will not be swapped in."""
        build = self._builds.pop(pk, None)
        if build is not None:
            build.cancelled = True

    def cancel_all(self) -> list[threading.Thread]:
        """Drop every build (closing); returns their threads, which stop within one chunk."""
        threads = [b.thread for b in self._builds.values() if b.thread is not None]
        for pk in list(self._builds):
            self.cancel(pk)
        return threads

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no build runs (True), or ``timeout`` seconds pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.target.lock:
                threads = [b.thread for b in self._builds.values() if b.thread is not None]
            if not threads:
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            threads[0].join(remaining)

    def _build_and_swap(
        self, pk: int, build: IndexBuild, ids: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> None:
        """Build off the lock, catch up on the journal, then swap the new index in under it."""
        target = self.target
        started = time.perf_counter()
        try:
            built = GroupIndex.build(
                target.dimension, ids[:0], vectors[:0], build.kind, target.hnsw(), target.threads
            )
            for start in range(0, len(ids), BUILD_CHUNK):
                if build.cancelled:
                    return
                end = start + BUILD_CHUNK
                built.add(ids[start:end], vectors[start:end])
        except Exception:
            log.exception("building the index of group %d failed; the live index stays", pk)
            with target.lock:
                if self._builds.get(pk) is build:
                    del self._builds[pk]
            return
        replayed = 0
        while True:
            with target.lock:
                if build.cancelled or target.closed() or self._builds.get(pk) is not build:
                    return
                pending, build.journal = build.journal, []
                if len(pending) <= SWAP_JOURNAL_LIMIT:
                    replay(built, pending)
                    built.hnsw = target.hnsw()
                    target.indexes[pk] = built
                    del self._builds[pk]
                    target.swapped(pk)
                    break
            replay(built, pending)
            replayed += len(pending)
        log.info(
            "index of group %d is %s now (%d faces, built in %.1f s, %d writes replayed)",
            pk,
            build.kind,
            build.faces,
            time.perf_counter() - started,
            replayed + len(pending),
        )
