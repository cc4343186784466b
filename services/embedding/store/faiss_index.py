"""The FAISS index of one gallery group: exact inner product, or HNSW for large groups.

Vectors are L2-normalised, so inner product is cosine similarity. FAISS ids are the SQLite row
ids of the faces (never reused). An exact index (``IndexFlatIP``) removes vectors at once; HNSW
cannot remove, so deleted ids become tombstones that every search filters out with an id
selector, and the group is rebuilt without them once they pass a fraction of the index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

# Not in faiss's bundled type hints, present in its SWIG module.
_SEARCH_PARAMETERS_HNSW: Any = faiss.SearchParametersHNSW  # type: ignore[attr-defined]

FLAT = "flat"
HNSW = "hnsw"


@dataclass(frozen=True)
class HnswParams:
    """HNSW graph parameters: links per node, build and search beam widths."""

    m: int = 32
    ef_construction: int = 120  # 40 gave recall@1 0.63-0.83 at 1M faces (docs/gallery-store.md)
    ef_search: int = 256


def set_threads(threads: int) -> None:
    """OpenMP threads for the FAISS calls of the calling thread (0: all cores).

    OpenMP keeps this setting per calling thread, so a search thread of the gRPC pool asking for
    one thread does not slow down an index build running in another thread.
    """
    faiss.omp_set_num_threads(threads if threads > 0 else (os.cpu_count() or 1))


class GroupIndex:
    """All vectors of one group, searchable by cosine similarity."""

    def __init__(
        self,
        index: Any,
        kind: str,
        hnsw: HnswParams,
        tombstones: set[int] | None = None,
    ) -> None:
        self.index = index
        self.kind = kind
        self.hnsw = hnsw
        self.tombstones: set[int] = set(tombstones or ())
        self._selector: Any = None
        self._selector_inner: Any = None
        if kind == HNSW:
            graph: Any = faiss.downcast_index(index.index)
            graph.hnsw.efSearch = hnsw.ef_search

    @classmethod
    def build(
        cls,
        dimension: int,
        ids: NDArray[np.int64],
        vectors: NDArray[np.float32],
        kind: str,
        hnsw: HnswParams,
        threads: int = 0,
    ) -> GroupIndex:
        """A new index of ``kind`` holding ``vectors`` under ``ids``.

        ``threads`` is how many OpenMP threads the HNSW build may use (0: all cores).
        """
        set_threads(threads)
        inner: Any
        if kind == HNSW:
            inner = faiss.IndexHNSWFlat(dimension, hnsw.m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = hnsw.ef_construction
        else:
            inner = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIDMap2(inner)
        group = cls(index, kind, hnsw)
        if len(ids):
            group.add(ids, vectors)
        return group

    @classmethod
    def load(cls, path: Path, kind: str, hnsw: HnswParams, tombstones: set[int]) -> GroupIndex:
        """Read an index written by ``save``."""
        index = faiss.read_index(str(path))
        return cls(index, kind, hnsw, tombstones)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (the caller makes it durable and atomic)."""
        faiss.write_index(self.index, str(path))

    @property
    def dimension(self) -> int:
        """Vector length."""
        return int(self.index.d)

    @property
    def live_count(self) -> int:
        """How many vectors a search can return."""
        return int(self.index.ntotal) - len(self.tombstones)

    @property
    def tombstone_fraction(self) -> float:
        """Share of the index taken by deleted vectors (HNSW only)."""
        total = int(self.index.ntotal)
        return len(self.tombstones) / total if total else 0.0

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add vectors (shape (n, d), unit length) under their face row ids."""
        self.index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32),
            np.ascontiguousarray(ids, dtype=np.int64),
        )

    def remove(self, ids: list[int]) -> None:
        """Make these ids unsearchable at once."""
        if not ids:
            return
        if self.kind == HNSW:
            self.tombstones.update(ids)
            self._selector = None
        else:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def all_ids(self) -> NDArray[np.int64]:
        """Every id stored in the index, tombstoned ones included."""
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def live_ids(self) -> set[int]:
        """Ids a search can return."""
        return {int(i) for i in self.all_ids()} - self.tombstones

    def vector(self, face_id: int) -> NDArray[np.float32]:
        """The stored vector of one id."""
        return np.asarray(self.index.reconstruct(int(face_id)), dtype=np.float32)

    def live_vectors(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Ids and vectors of everything searchable (to rebuild or convert the index)."""
        ids = self.all_ids()
        vectors = self.index.index.reconstruct_n(0, int(self.index.ntotal))
        if self.tombstones:
            keep = np.array([int(i) not in self.tombstones for i in ids], dtype=bool)
            ids, vectors = ids[keep], vectors[keep]
        return ids, np.asarray(vectors, dtype=np.float32)

    def search(self, query: NDArray[np.float32], k: int) -> tuple[list[int], list[float]]:
        """The ``k`` most similar live ids and their similarities, best first."""
        if self.live_count == 0:
            return [], []
        k = min(k, self.live_count)
        params: Any = None
        if self.kind == HNSW:
            params = _SEARCH_PARAMETERS_HNSW(efSearch=max(self.hnsw.ef_search, k))
            if self.tombstones:
                params.sel = self._tombstone_selector()
        scores, ids = self.index.search(query.reshape(1, -1), k, params=params)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        return [i for i, _ in found], [s for _, s in found]

    def _tombstone_selector(self) -> Any:
        if self._selector is None:
            self._selector_inner = faiss.IDSelectorBatch(
                np.fromiter(self.tombstones, dtype=np.int64, count=len(self.tombstones))
            )
            self._selector = faiss.IDSelectorNot(self._selector_inner)
        return self._selector
