"""Keeps the embedded store's FAISS indexes, in memory and on disk, in step with SQLite.

- ``apply`` makes a committed write reach the live index, counts it and saves every
  ``save_every`` changes. It never raises: the write is committed, so its RPC has succeeded. A
  failed save is logged and retried by a later write once a back-off has passed (5 s, doubling
  to 5 min), not by every write; a failed index update marks the group stale, and a stale
  group is rebuilt from SQLite at once or, failing that, before the next save, which refuses
  to run (and so to trim the change log) until it is.
- ``save`` writes each changed group's index to a new file, then the manifest with the highest
  change-log sequence the files cover (``index_files.py``: temporary file, fsync, rename); only
  once the manifest is durable are older files and the covered log rows deleted, so a crash at
  any point leaves a manifest that points at complete files.
- ``open`` loads the manifest and files, replays only the change-log rows newer than the saved
  sequence, then runs ``check_consistency``. It rebuilds every index from SQLite when there is
  no saved index, a file is missing or damaged, the log was trimmed past the manifest (an older
  index restored), or the check fails; ``report`` says which.
- ``check_consistency`` proves, per group, that the ids searchable in the index are exactly the
  face ids in SQLite and that a sample of vectors equals the stored embeddings.
Callers hold the store's lock.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from services.embedding.store.errors import StoreInconsistentError
from services.embedding.store.faiss_index import FLAT, GroupIndex
from services.embedding.store.index_files import IndexFileError, IndexFolder, Manifest, SavedGroup
from services.embedding.store.index_set import GroupIndexes
from services.embedding.store.sqlite_vectors import VectorRows

log = logging.getLogger(__name__)

SAVE_RETRY_FIRST_S = 5.0
"""After a failed save, writes wait this long before the next try; it doubles per failure."""
SAVE_RETRY_MAX_S = 300.0


@dataclass
class OpenReport:
    """How the index was brought up to date when the store opened (for logs and tests)."""

    loaded_groups: int = 0
    replayed_adds: int = 0
    replayed_deletes: int = 0
    rebuilt: bool = False
    rebuild_reason: str = ""
    saves: int = 0
    failed_saves: int = 0
    """Saves that raised since the store opened (logged; retried after a back-off)."""
    notes: list[str] = field(default_factory=list)


class IndexSync:
    """Persistence, start-up catch-up and checks of one store's indexes (see module docstring)."""

    def __init__(
        self,
        indexes: GroupIndexes,
        rows: VectorRows,
        files: IndexFolder,
        *,
        save_every: int,
        consistency_sample: int,
    ) -> None:
        self.indexes = indexes
        self.rows = rows
        self.files = files
        self.save_every = save_every
        self.consistency_sample = consistency_sample
        """Vectors per group compared with the stored embeddings by ``check_consistency``."""
        self.report = OpenReport()
        self._manifest: Manifest | None = None
        self._generation = 0
        """The last generation a save tried (failed tries too: their file names are not reused)."""
        self.stale: set[int] = set()
        """Groups whose live index missed a committed write (rebuilt from SQLite by ``repair``)."""
        self.clock: Callable[[], float] = time.monotonic
        self._retry_at = 0.0
        self._backoff = SAVE_RETRY_FIRST_S

    # ---------------------------------------------------------------- writes

    def apply(self, pk: int, count: int, update: Callable[[], None]) -> None:
        """After a commit: run ``update`` on group ``pk``'s live index, count ``count`` changed
        faces, save when due. Never raises (see module docstring)."""
        try:
            update()
        except Exception:
            log.exception("group %d: index update after commit failed; rebuilding it", pk)
            self.stale.add(pk)
            try:
                self.repair()
            except Exception:
                log.exception("group %d: index rebuild failed; retried before the next save", pk)
        self.indexes.unsaved_changes += count
        due = self.stale or self.indexes.unsaved_changes >= self.save_every
        if due and self.clock() >= self._retry_at:
            try:
                self.save()
            except Exception:
                self.report.failed_saves += 1
                self._retry_at = self.clock() + self._backoff
                log.exception("gallery index save failed; next try in %.0f s", self._backoff)
                self._backoff = min(self._backoff * 2, SAVE_RETRY_MAX_S)

    def repair(self) -> None:
        """Rebuild each stale group's index from SQLite (exact; ``maintain`` converts it)."""
        existing = set(self.rows.group_pks())
        for pk in sorted(self.stale):
            self.indexes.drop(pk)
            if pk in existing:
                ids, vectors = self.rows.group_embeddings(pk)
                self.indexes.build(pk, ids, vectors, FLAT)
            self.stale.discard(pk)

    @property
    def unsaved(self) -> bool:
        """Whether anything changed since the last save."""
        return bool(self.indexes.unsaved_changes or self.indexes.dirty or self.stale)

    def save(self, maintain: bool = True) -> None:
        """Persist the changed groups' indexes and the manifest, then trim the change log.

        ``maintain``: also start the index builds that grown or tombstone-heavy groups need.
        """
        self.repair()  # never save (and trim the log past) an index that missed a write
        if maintain:
            self.indexes.maintain()
        seq = self.rows.sequence()
        previous = self._manifest
        self._generation += 1
        generation = self._generation
        manifest = Manifest(self.indexes.dimension, seq, generation)
        for pk, index in self.indexes.groups.items():
            saved = previous.groups.get(pk) if previous else None
            if saved is None or pk in self.indexes.dirty:
                saved = self._write(pk, index, generation)
            manifest.groups[pk] = saved
        self.files.write_manifest(manifest)
        self.files.remove_unreferenced(manifest)
        self.rows.trim_log(seq)
        self._manifest = manifest
        self.indexes.saved()
        self.report.saves += 1
        self._retry_at, self._backoff = 0.0, SAVE_RETRY_FIRST_S

    # -------------------------------------------------------------- start-up

    def open(self) -> None:
        """Bring the indexes up to date with SQLite: load and catch up, or rebuild."""
        try:
            manifest = self.files.read_manifest()
            if manifest is None:
                self._rebuild("no saved index")
                return
            self._generation = manifest.generation
            self._load(manifest)
            self._manifest = manifest
            self.report.loaded_groups = len(manifest.groups)
            self._replay(manifest.seq)
            self.check_consistency()
        except (IndexFileError, StoreInconsistentError, RuntimeError) as exc:
            log.warning("gallery index not usable (%s); rebuilding it from SQLite", exc)
            self._rebuild(str(exc))

    def check_consistency(self) -> None:
        """Prove that each group's index holds exactly the database's faces, same vectors."""
        db_groups = set(self.rows.group_pks())
        index_groups = set(self.indexes.groups)
        if db_groups != index_groups:
            raise StoreInconsistentError(
                f"index groups {sorted(index_groups ^ db_groups)} disagree with database"
            )
        rng = random.Random(0)
        for pk in sorted(db_groups):
            self._check_group(pk, self.indexes.groups[pk], rng)

    # --------------------------------------------------------------- helpers

    def _write(self, pk: int, index: GroupIndex, generation: int) -> SavedGroup:
        name = f"g{pk}-{generation}.faiss"
        index.save(self.files.temp_path(name))
        size = self.files.commit_file(name)
        return SavedGroup(name, index.kind, int(index.index.ntotal), size, sorted(index.tombstones))

    def _load(self, manifest: Manifest) -> None:
        dimension = self.indexes.dimension
        if manifest.dimension != dimension:
            raise IndexFileError(f"index dimension {manifest.dimension} != {dimension}")
        if self.rows.trimmed_through() > manifest.seq:
            raise IndexFileError("change log was trimmed past the saved index")
        for pk, saved in manifest.groups.items():
            index = GroupIndex.load(
                self.files.path(saved.file), saved.kind, self.indexes.hnsw, set(saved.tombstones)
            )
            self.indexes.groups[pk] = index
            if index.dimension != dimension:
                raise IndexFileError(f"{saved.file} has the wrong dimension")

    def _replay(self, since: int) -> None:
        """Apply the change-log rows newer than the saved index (net of adds deleted since)."""
        added: dict[int, int] = {}
        deleted: dict[int, list[int]] = {}
        for face_pk, group_pk, op in self.rows.changes_since(since):
            if op > 0:
                added[face_pk] = group_pk
            elif added.pop(face_pk, None) is None:
                deleted.setdefault(group_pk, []).append(face_pk)
        indexes = self.indexes
        existing = set(self.rows.group_pks())
        for pk in list(indexes.groups):
            if pk not in existing:
                indexes.drop(pk)
        for pk in existing - set(indexes.groups):
            indexes.empty(pk)
        for pk, face_ids in deleted.items():
            if pk in indexes.groups:
                indexes.remove(pk, face_ids)
                self.report.replayed_deletes += len(face_ids)
        by_group: dict[int, list[int]] = {}
        for face_pk, group_pk in added.items():
            by_group.setdefault(group_pk, []).append(face_pk)
        for pk, face_ids in by_group.items():
            if pk not in indexes.groups:
                continue
            ids, vectors = self.rows.embeddings(face_ids)
            indexes.add(pk, ids, vectors)
            self.report.replayed_adds += len(ids)
        indexes.unsaved_changes += self.report.replayed_adds + self.report.replayed_deletes

    def _rebuild(self, reason: str) -> None:
        """Build every group's index from SQLite (first start, or a damaged index)."""
        self.indexes.clear()
        self._manifest = None
        self.report.replayed_adds = self.report.replayed_deletes = 0
        for pk in self.rows.group_pks():
            ids, vectors = self.rows.group_embeddings(pk)
            self.indexes.build(pk, ids, vectors)
        self.report.rebuilt = True
        self.report.rebuild_reason = reason
        self.save()
        self.check_consistency()

    def _check_group(self, pk: int, index: GroupIndex, rng: random.Random) -> None:
        db_ids = self.rows.face_ids(pk)
        index_ids = index.live_ids()
        if index_ids != db_ids:
            missing, extra = len(db_ids - index_ids), len(index_ids - db_ids)
            raise StoreInconsistentError(
                f"group {pk}: index lacks {missing} faces of the database and has {extra} others"
            )
        if index.live_count != len(db_ids):
            raise StoreInconsistentError(f"group {pk}: index holds duplicate ids")
        sample = rng.sample(sorted(db_ids), min(self.consistency_sample, len(db_ids)))
        for face_id in sample:
            if not np.allclose(index.vector(face_id), self.rows.embedding(face_id), atol=1e-5):
                raise StoreInconsistentError(f"group {pk}: vector of face {face_id} differs")
