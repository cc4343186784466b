"""The live FAISS indexes of the embedded store, one per group, and what changed since a save.

Each group has its own ``GroupIndex`` (exact up to ``hnsw_threshold`` faces, HNSW beyond), so a
search only ever touches the indexes of the groups it names. Every write reaches its group's
index right after it commits to SQLite, and the build in progress for that group, if any, gets
it in its journal (``index_builds.py``). ``maintain`` starts the builds that grown or
tombstone-heavy groups need; they run beside the live indexes. Callers hold the store's lock.
Persistence is ``index_sync.py``'s job: this module only tracks which groups changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.errors import StoreInconsistentError
from services.embedding.store.faiss_index import FLAT, HNSW, GroupIndex, HnswParams
from services.embedding.store.index_builds import BuildTarget, IndexBuilds


@dataclass(frozen=True)
class IndexStats:
    """What one group's FAISS index holds."""

    kind: str
    vectors: int
    tombstones: int
    building: str | None = None
    """The kind of index being built beside this one, if any."""


class GroupIndexes:
    """The per-group indexes of one store (see module docstring)."""

    def __init__(
        self,
        dimension: int,
        hnsw: HnswParams,
        *,
        lock: threading.RLock,
        closed: Callable[[], bool],
        hnsw_threshold: int,
        rebuild_tombstone_fraction: float,
        build_threads: int,
    ) -> None:
        self.dimension = dimension
        self.hnsw = hnsw
        self.hnsw_threshold = hnsw_threshold
        """A group with more live faces than this gets an HNSW index (at the next save)."""
        self.rebuild_tombstone_fraction = rebuild_tombstone_fraction
        """An HNSW group whose deleted share passes this is rebuilt (at the next save)."""
        self.build_threads = build_threads
        self.groups: dict[int, GroupIndex] = {}
        """Group primary key -> its live index (the builds swap new ones into this dict)."""
        self.dirty: set[int] = set()
        """Groups changed since their index was last saved."""
        self.unsaved_changes = 0
        """Faces added or deleted since the last save."""
        self.builds = IndexBuilds(
            BuildTarget(
                lock=lock,
                indexes=self.groups,
                dimension=dimension,
                hnsw=lambda: self.hnsw,
                threads=build_threads,
                swapped=lambda pk: self.dirty.add(pk),
                closed=closed,
            )
        )

    def get(self, pk: int) -> GroupIndex:
        """A group's live index; ``StoreInconsistentError`` when the group has none."""
        index = self.groups.get(pk)
        if index is None:
            raise StoreInconsistentError(f"group {pk} has no index")
        return index

    def empty(self, pk: int) -> None:
        """Give a new group an empty exact index, marked unsaved."""
        self.groups[pk] = GroupIndex.build(
            self.dimension, np.empty(0, np.int64), self._no_vectors(), FLAT, self.hnsw
        )
        self.dirty.add(pk)

    def build(
        self,
        pk: int,
        ids: NDArray[np.int64],
        vectors: NDArray[np.float32],
        kind: str | None = None,
    ) -> None:
        """Give a group a new index of these faces (``kind``, else exact or HNSW by its size),
        marked unsaved.

        Built at once with ``build_threads`` OpenMP threads (at start-up, under the caller's
        lock); a live group is converted beside its index by ``maintain`` instead.
        """
        kind = kind or (HNSW if len(ids) > self.hnsw_threshold else FLAT)
        self.groups[pk] = GroupIndex.build(
            self.dimension, ids, vectors, kind, self.hnsw, self.build_threads
        )
        self.dirty.add(pk)

    def clear(self) -> None:
        """Forget every index (before a rebuild from SQLite)."""
        self.groups.clear()
        self.dirty.clear()

    def drop(self, pk: int) -> None:
        """Forget a deleted group's index and any build of it."""
        self.groups.pop(pk, None)
        self.builds.cancel(pk)
        self.dirty.discard(pk)

    def add(self, pk: int, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Make committed faces searchable in their group."""
        self.get(pk).add(ids, vectors)
        self.builds.journal(pk, ids, vectors)
        self.dirty.add(pk)

    def remove(self, pk: int, face_ids: list[int]) -> None:
        """Make deleted faces unsearchable in their group at once."""
        self.get(pk).remove(face_ids)
        self.builds.journal(pk, np.asarray(face_ids, dtype=np.int64), None)
        self.dirty.add(pk)

    def search(
        self, pks: list[int], query: NDArray[np.float32], fetch: int
    ) -> tuple[dict[int, float], bool]:
        """The ``fetch`` nearest faces of the groups together (face id -> similarity), and
        whether that was every live face of them all.

        Each group gives its own ``fetch`` nearest; only the best ``fetch`` of them all are
        kept, as one search over the groups (pgvector's single LIMIT) would: a user filling one
        group's share must not let a weaker face of another group in ahead of that group's next
        best user, and the caller's lookup of the hits stays at ``fetch`` ids.
        """
        found: list[tuple[float, int]] = []
        live = 0
        for pk in pks:
            index = self.get(pk)
            ids, scores = index.search(query, fetch)
            found.extend(zip(scores, ids, strict=True))
            live += index.live_count
        found.sort(key=lambda hit: (-hit[0], hit[1]))
        hits = {face_id: score for score, face_id in found[:fetch]}
        return hits, live <= fetch

    def maintain(self) -> None:
        """Start building HNSW for grown groups and rebuilding HNSW groups heavy with tombstones.

        The builds run beside the live indexes (``index_builds.py``).
        """
        for pk, index in list(self.groups.items()):
            if pk in self.builds:
                continue
            grow = index.kind == FLAT and index.live_count > self.hnsw_threshold
            purge = (
                index.kind == HNSW and index.tombstone_fraction > self.rebuild_tombstone_fraction
            )
            if grow or purge:
                self.builds.start(pk, HNSW if index.live_count > self.hnsw_threshold else FLAT)

    def set_ef_search(self, ef_search: int) -> None:
        """Change the HNSW search beam width of every index, present and future."""
        self.hnsw = HnswParams(self.hnsw.m, self.hnsw.ef_construction, ef_search)
        for index in self.groups.values():
            index.hnsw = self.hnsw

    def stats(self, pk: int) -> IndexStats:
        """Kind and size of a group's index, and the kind being built beside it."""
        index = self.get(pk)
        return IndexStats(
            index.kind, index.live_count, len(index.tombstones), self.builds.building(pk)
        )

    def saved(self) -> None:
        """Every index is saved as it stands: nothing is dirty or unsaved."""
        self.dirty.clear()
        self.unsaved_changes = 0

    def _no_vectors(self) -> NDArray[np.float32]:
        return np.empty((0, self.dimension), dtype=np.float32)
