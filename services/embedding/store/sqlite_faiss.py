"""The embedded gallery backend: SQLite (WAL) as the source of truth plus FAISS per group.

Design (docs/gallery-store.md has the reasoning and figures):
- every write commits to SQLite first, in one transaction that also appends to the change log
  (triggers), and then updates the in-memory FAISS index of the group at once;
- each group has its own index (exact ``IndexFlatIP`` up to ``hnsw_threshold`` faces, HNSW
  beyond), so a search only ever touches the groups that the tenant's own group ids resolve to;
- the indexes are saved every ``save_every`` changes and on ``close``, with the change-log
  sequence they cover; opening loads them and replays only the newer log rows, then proves that
  index and database agree (ids, plus a sample of vectors); only a missing or damaged index is
  rebuilt from SQLite;
- one process owns a data folder (an exclusive lock file); inside it a lock serialises access,
  so the store is safe to share between the gRPC server's threads;
- switching a grown group to HNSW, or rebuilding one heavy with tombstones, happens beside the
  live index (``index_builds.py``): searches keep answering from it, writes go to it and to the
  build's journal, and the caught-up new index is swapped in. The lock is never held for a
  build.
"""

from __future__ import annotations

import fcntl
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.base import FaceRecord, Group, Match, User
from services.embedding.store.errors import (
    FaceExistsError,
    FaceNotFoundError,
    GroupExistsError,
    GroupNotFoundError,
    StoreInconsistentError,
    StoreLockedError,
    UserNotFoundError,
)
from services.embedding.store.faiss_index import FLAT, HNSW, GroupIndex, HnswParams, set_threads
from services.embedding.store.index_builds import BuildTarget, IndexBuilds
from services.embedding.store.index_files import IndexFileError, IndexFolder, Manifest, SavedGroup
from services.embedding.store.sqlite_schema import connect, current_sequence, read_meta, write_meta
from services.embedding.store.validation import (
    check_group_ids,
    check_id,
    check_page,
    check_sha256,
    check_top_k,
    check_user_info,
    normalized,
)

log = logging.getLogger(__name__)

DATABASE_NAME = "gallery.sqlite3"
INDEX_FOLDER = "index"
LOCK_NAME = "store.lock"


@dataclass
class OpenReport:
    """How the index was brought up to date when the store opened (for logs and tests)."""

    loaded_groups: int = 0
    replayed_adds: int = 0
    replayed_deletes: int = 0
    rebuilt: bool = False
    rebuild_reason: str = ""
    saves: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IndexStats:
    """What one group's FAISS index holds."""

    kind: str
    vectors: int
    tombstones: int
    building: str | None = None
    """The kind of index being built beside this one, if any."""


@dataclass(frozen=True)
class NewFace:
    """One face of a bulk enrollment (``add_faces``)."""

    user_id: str
    embedding: NDArray[np.float32]
    image_sha256: str
    user_info: str | None = None


class SqliteFaissStore:
    """SQLite + FAISS gallery in one folder (see module docstring)."""

    def __init__(
        self,
        folder: str | Path,
        dimension: int,
        *,
        hnsw_threshold: int = 50_000,
        hnsw_m: int = 32,
        hnsw_ef_construction: int = HnswParams.ef_construction,
        hnsw_ef_search: int = HnswParams.ef_search,
        save_every: int = 10_000,
        rebuild_tombstone_fraction: float = 0.2,
        synchronous: str = "FULL",
        consistency_sample: int = 64,
        store_images: bool = False,
        search_threads: int = 1,
        build_threads: int = 0,
    ) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dimension = dimension
        self.hnsw_threshold = hnsw_threshold
        self.hnsw = HnswParams(hnsw_m, hnsw_ef_construction, hnsw_ef_search)
        self.save_every = save_every
        self.rebuild_tombstone_fraction = rebuild_tombstone_fraction
        self.consistency_sample = consistency_sample
        self.store_images = store_images
        self.search_threads = search_threads
        self.build_threads = build_threads
        self._lock = threading.RLock()
        self._lock_file = self._acquire_folder_lock()
        self._db = connect(self.folder / DATABASE_NAME, synchronous)
        self._files = IndexFolder(self.folder / INDEX_FOLDER)
        self._groups: dict[int, GroupIndex] = {}
        self._builds = IndexBuilds(
            BuildTarget(
                lock=self._lock,
                indexes=self._groups,
                dimension=dimension,
                hnsw=lambda: self.hnsw,
                threads=build_threads,
                swapped=lambda pk: self._dirty.add(pk),
                closed=lambda: self._closed,
            )
        )
        self._dirty: set[int] = set()
        self._unsaved_changes = 0
        self._manifest: Manifest | None = None
        self._closed = False
        self.report = OpenReport()
        try:
            self._check_dimension()
            self._bring_index_up_to_date()
        except BaseException:
            self._release()
            raise

    # ----------------------------------------------------------------- groups

    def create_group(self, tenant: str, group_id: str) -> Group:
        """Create an empty group; ``GroupExistsError`` when the tenant has it already."""
        check_id(tenant, "tenant")
        check_id(group_id, "group_id")
        created = time.time()
        with self._lock, self._transaction():
            try:
                cursor = self._db.execute(
                    "INSERT INTO groups (tenant, group_id, created_at) VALUES (?, ?, ?)",
                    (tenant, group_id, created),
                )
            except sqlite3.IntegrityError as exc:
                raise GroupExistsError(f"group {group_id!r} exists already") from exc
            pk = int(cursor.lastrowid or 0)
        with self._lock:
            self._groups[pk] = GroupIndex.build(
                self.dimension, np.empty(0, np.int64), self._no_vectors(), FLAT, self.hnsw
            )
            self._dirty.add(pk)
            self._note_changes(1)
        return Group(group_id, created, 0, 0)

    def list_groups(self, tenant: str) -> list[Group]:
        """The tenant's groups, ordered by group id."""
        check_id(tenant, "tenant")
        with self._lock:
            rows = self._db.execute(
                "SELECT g.group_id, g.created_at,"
                " (SELECT COUNT(*) FROM users u WHERE u.group_pk = g.id),"
                " (SELECT COUNT(*) FROM faces f WHERE f.group_pk = g.id)"
                " FROM groups g WHERE g.tenant = ? ORDER BY g.group_id",
                (tenant,),
            ).fetchall()
        return [Group(str(r[0]), float(r[1]), int(r[2]), int(r[3])) for r in rows]

    def delete_group(self, tenant: str, group_id: str) -> None:
        """Delete a group with its users and faces; they leave search at once."""
        with self._lock:
            with self._transaction():
                pk = self._group_pk(tenant, group_id)
                removed = self._db.execute("DELETE FROM groups WHERE id = ?", (pk,)).rowcount
            self._groups.pop(pk, None)
            self._builds.cancel(pk)
            self._dirty.discard(pk)
            self._note_changes(max(removed, 1))

    # ------------------------------------------------------------------ faces

    def add_face(
        self,
        tenant: str,
        group_id: str,
        user_id: str,
        embedding: NDArray[np.float32],
        image_sha256: str,
        user_info: str | None = None,
        image: bytes | None = None,
    ) -> FaceRecord:
        """Enroll one face (creating the user); ``FaceExistsError`` for the same image twice."""
        records = self.add_faces(
            tenant,
            group_id,
            [NewFace(user_id, embedding, image_sha256, user_info)],
            images=[image],
        )
        return records[0]

    def add_faces(
        self,
        tenant: str,
        group_id: str,
        faces: Sequence[NewFace],
        images: Sequence[bytes | None] | None = None,
    ) -> list[FaceRecord]:
        """Enroll several faces of one group in one transaction (all or none)."""
        check_id(tenant, "tenant")
        check_id(group_id, "group_id")
        vectors = np.empty((len(faces), self.dimension), dtype=np.float32)
        for row, face in enumerate(faces):
            check_id(face.user_id, "user_id")
            check_sha256(face.image_sha256)
            check_user_info(face.user_info)
            vectors[row] = normalized(face.embedding, self.dimension)
        images = list(images) if images is not None else [None] * len(faces)
        records: list[FaceRecord] = []
        ids = np.empty(len(faces), dtype=np.int64)
        with self._lock:
            with self._transaction():
                pk = self._group_pk(tenant, group_id)
                user_pks: dict[str, int] = {}
                for row, face in enumerate(faces):
                    user_pk = user_pks.get(face.user_id)
                    if user_pk is None or face.user_info is not None:
                        user_pk = self._upsert_user(pk, face.user_id, face.user_info)
                        user_pks[face.user_id] = user_pk
                    token = uuid.uuid4().hex
                    created = time.time()
                    try:
                        cursor = self._db.execute(
                            "INSERT INTO faces (face_token, user_pk, group_pk, image_sha256,"
                            " embedding, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                            (
                                token,
                                user_pk,
                                pk,
                                face.image_sha256,
                                vectors[row].tobytes(),
                                created,
                            ),
                        )
                    except sqlite3.IntegrityError as exc:
                        token, created = self._db.execute(
                            "SELECT face_token, created_at FROM faces"
                            " WHERE user_pk = ? AND image_sha256 = ?",
                            (user_pk, face.image_sha256),
                        ).fetchone()
                        raise FaceExistsError(
                            f"this image is enrolled for user {face.user_id!r} already",
                            str(token),
                            float(created),
                        ) from exc
                    ids[row] = int(cursor.lastrowid or 0)
                    image = images[row]
                    if image is not None and self.store_images:
                        self._db.execute(
                            "INSERT INTO face_images (face_pk, image) VALUES (?, ?)",
                            (int(ids[row]), image),
                        )
                    records.append(FaceRecord(token, group_id, face.user_id, created))
            # Committed: the index follows at once (a crash here is repaired by the log replay).
            self._group_index(pk).add(ids, vectors)
            self._builds.journal(pk, ids, vectors)
            self._dirty.add(pk)
            self._note_changes(len(faces))
        return records

    def face_image(self, tenant: str, group_id: str, face_token: str) -> bytes | None:
        """The raw image stored with a face (only when ``store_images`` was on)."""
        with self._lock:
            pk = self._group_pk(tenant, group_id)
            row = self._db.execute(
                "SELECT i.image FROM faces f JOIN face_images i ON i.face_pk = f.id"
                " WHERE f.group_pk = ? AND f.face_token = ?",
                (pk, face_token),
            ).fetchone()
        return bytes(row[0]) if row else None

    def delete_face(self, tenant: str, group_id: str, user_id: str, face_token: str) -> None:
        """Delete one face of a user; it leaves search at once."""
        with self._lock:
            with self._transaction():
                pk = self._group_pk(tenant, group_id)
                user_pk = self._user_pk(pk, user_id)
                row = self._db.execute(
                    "SELECT id FROM faces WHERE user_pk = ? AND face_token = ?",
                    (user_pk, face_token),
                ).fetchone()
                if row is None:
                    raise FaceNotFoundError(f"face {face_token!r} not found for user {user_id!r}")
                self._db.execute("DELETE FROM faces WHERE id = ?", (row[0],))
            self._remove_from_index(pk, [int(row[0])])

    # ------------------------------------------------------------------ users

    def list_users(
        self, tenant: str, group_id: str, offset: int, limit: int
    ) -> tuple[list[User], int]:
        """One page of a group's users (ordered by user id) and the total user count."""
        check_page(offset, limit)
        with self._lock:
            pk = self._group_pk(tenant, group_id)
            total = int(
                self._db.execute("SELECT COUNT(*) FROM users WHERE group_pk = ?", (pk,)).fetchone()[
                    0
                ]
            )
            rows = self._db.execute(
                "SELECT id, user_id, user_info FROM users WHERE group_pk = ?"
                " ORDER BY user_id LIMIT ? OFFSET ?",
                (pk, limit, offset),
            ).fetchall()
            faces = self._faces_of(group_id, [(int(r[0]), str(r[1])) for r in rows])
        users = [User(group_id, str(r[1]), str(r[2]), faces[int(r[0])]) for r in rows]
        return users, total

    def get_user(self, tenant: str, group_id: str, user_id: str) -> User:
        """A user with their faces."""
        with self._lock:
            pk = self._group_pk(tenant, group_id)
            user_pk = self._user_pk(pk, user_id)
            info = self._db.execute(
                "SELECT user_info FROM users WHERE id = ?", (user_pk,)
            ).fetchone()[0]
            faces = self._faces_of(group_id, [(user_pk, user_id)])
        return User(group_id, user_id, str(info), faces[user_pk])

    def delete_user(self, tenant: str, group_id: str, user_id: str) -> None:
        """Delete a user with their faces; they leave search at once."""
        with self._lock:
            with self._transaction():
                pk = self._group_pk(tenant, group_id)
                user_pk = self._user_pk(pk, user_id)
                face_ids = [
                    int(r[0])
                    for r in self._db.execute("SELECT id FROM faces WHERE user_pk = ?", (user_pk,))
                ]
                self._db.execute("DELETE FROM users WHERE id = ?", (user_pk,))
            self._remove_from_index(pk, face_ids)

    def user_embeddings(self, tenant: str, group_id: str, user_id: str) -> NDArray[np.float32]:
        """The user's stored unit-length embeddings, shape (n, dimension)."""
        with self._lock:
            pk = self._group_pk(tenant, group_id)
            user_pk = self._user_pk(pk, user_id)
            blobs = [
                r[0]
                for r in self._db.execute(
                    "SELECT embedding FROM faces WHERE user_pk = ? ORDER BY id", (user_pk,)
                )
            ]
        if not blobs:
            return self._no_vectors()
        return np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])

    # ----------------------------------------------------------------- search

    def search(
        self, tenant: str, group_ids: list[str], embedding: NDArray[np.float32], top_k: int
    ) -> list[Match]:
        """Best face per user over the tenant's groups, most similar first."""
        check_top_k(top_k)
        wanted = check_group_ids(group_ids)
        query = normalized(embedding, self.dimension)
        # One query at a time: OpenMP threads only add hand-over cost (and spin under load).
        set_threads(self.search_threads)
        with self._lock:
            pks = self._group_pks(tenant, wanted)
            names = dict(zip(pks, wanted, strict=True))
            fetch = top_k * 4
            while True:
                hits: dict[int, float] = {}
                exhausted = True
                for pk in pks:
                    index = self._group_index(pk)
                    ids, scores = index.search(query, fetch)
                    hits.update(zip(ids, scores, strict=True))
                    if len(ids) == fetch and index.live_count > fetch:
                        exhausted = False
                matches = self._best_per_user(hits, names)
                if len(matches) >= top_k or exhausted:
                    return matches[:top_k]
                fetch *= 4

    def count_users(self, tenant: str, group_ids: list[str]) -> int:
        """The users of the tenant's groups (GroupNotFoundError for an unknown one)."""
        wanted = check_group_ids(group_ids)
        with self._lock:
            pks = self._group_pks(tenant, wanted)
            marks = ",".join("?" * len(pks))
            row = self._db.execute(
                f"SELECT COUNT(*) FROM users WHERE group_pk IN ({marks})", pks
            ).fetchone()
        return int(row[0])

    def _best_per_user(self, hits: dict[int, float], names: dict[int, str]) -> list[Match]:
        if not hits:
            return []
        marks = ",".join("?" * len(hits))
        group_marks = ",".join("?" * len(names))
        rows = self._db.execute(
            "SELECT f.id, f.face_token, f.group_pk, u.user_id, u.user_info"
            " FROM faces f JOIN users u ON u.id = f.user_pk"
            f" WHERE f.id IN ({marks}) AND f.group_pk IN ({group_marks})",
            (*hits.keys(), *names.keys()),
        ).fetchall()
        best: dict[tuple[int, str], Match] = {}
        for face_id, token, group_pk, user_id, info in rows:
            similarity = min(1.0, max(-1.0, hits[int(face_id)]))
            key = (int(group_pk), str(user_id))
            current = best.get(key)
            if current is None or similarity > current.similarity:
                best[key] = Match(
                    names[int(group_pk)], str(user_id), str(info), str(token), similarity
                )
        return sorted(best.values(), key=lambda m: (-m.similarity, m.group_id, m.user_id))

    # ------------------------------------------------------- index upkeep

    def check_consistency(self) -> None:
        """Prove that each group's index holds exactly the database's faces, same vectors."""
        with self._lock:
            db_groups = {int(r[0]) for r in self._db.execute("SELECT id FROM groups")}
            if db_groups != set(self._groups):
                raise StoreInconsistentError(
                    f"index groups {sorted(set(self._groups) ^ db_groups)} disagree with database"
                )
            rng = random.Random(0)
            for pk in sorted(db_groups):
                self._check_group(pk, self._groups[pk], rng)

    def _check_group(self, pk: int, index: GroupIndex, rng: random.Random) -> None:
        db_ids = {
            int(r[0]) for r in self._db.execute("SELECT id FROM faces WHERE group_pk = ?", (pk,))
        }
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
            blob = self._db.execute(
                "SELECT embedding FROM faces WHERE id = ?", (face_id,)
            ).fetchone()[0]
            stored = np.frombuffer(blob, dtype=np.float32)
            if not np.allclose(index.vector(face_id), stored, atol=1e-5):
                raise StoreInconsistentError(f"group {pk}: vector of face {face_id} differs")

    def save_index(self, maintain: bool = True) -> None:
        """Persist the changed groups' indexes and the manifest, then trim the change log.

        ``maintain``: also start the index builds that grown or tombstone-heavy groups need.
        """
        with self._lock:
            if maintain:
                self._maintain_indexes()
            seq = current_sequence(self._db)
            previous = self._manifest
            generation = (previous.generation if previous else 0) + 1
            manifest = Manifest(self.dimension, seq, generation)
            for pk, index in self._groups.items():
                saved = previous.groups.get(pk) if previous else None
                if saved is None or pk in self._dirty:
                    name = f"g{pk}-{generation}.faiss"
                    index.save(self._files.temp_path(name))
                    size = self._files.commit_file(name)
                    saved = SavedGroup(
                        name, index.kind, int(index.index.ntotal), size, sorted(index.tombstones)
                    )
                manifest.groups[pk] = saved
            self._files.write_manifest(manifest)
            self._files.remove_unreferenced(manifest)
            with self._transaction():
                self._db.execute("DELETE FROM face_changes WHERE seq <= ?", (seq,))
                write_meta(self._db, "log_trimmed_through", str(seq))
            self._manifest = manifest
            self._dirty.clear()
            self._unsaved_changes = 0
            self.report.saves += 1

    def _maintain_indexes(self) -> None:
        """Start building HNSW for grown groups and rebuilding HNSW groups heavy with tombstones.

        Called under the lock; the builds run beside the live indexes (``index_builds.py``).
        """
        for pk, index in list(self._groups.items()):
            if pk in self._builds:
                continue
            grow = index.kind == FLAT and index.live_count > self.hnsw_threshold
            purge = (
                index.kind == HNSW and index.tombstone_fraction > self.rebuild_tombstone_fraction
            )
            if grow or purge:
                self._builds.start(pk, HNSW if index.live_count > self.hnsw_threshold else FLAT)

    def wait_for_index_builds(self, timeout: float | None = None) -> bool:
        """Wait until no index build runs (True), or ``timeout`` seconds pass (False)."""
        return self._builds.wait(timeout)

    def set_ef_search(self, ef_search: int) -> None:
        """Change the HNSW search beam width (recall against latency) without a rebuild."""
        if ef_search < 1:
            raise ValueError("ef_search must be positive")
        with self._lock:
            self.hnsw = HnswParams(self.hnsw.m, self.hnsw.ef_construction, ef_search)
            for index in self._groups.values():
                index.hnsw = self.hnsw

    def index_stats(self, tenant: str, group_id: str) -> IndexStats:
        """Kind and size of a group's index (for operators and tests)."""
        with self._lock:
            pk = self._group_pk(tenant, group_id)
            index = self._group_index(pk)
            return IndexStats(
                index.kind, index.live_count, len(index.tombstones), self._builds.building(pk)
            )

    def close(self) -> None:
        """Save what changed and release the folder."""
        with self._lock:
            if self._closed:
                return
            stopping = self._builds.cancel_all()  # the live indexes are complete and get saved
        for thread in stopping:  # a cancelled build stops at its next chunk (off the lock)
            thread.join()
        with self._lock:
            if self._closed:
                return
            try:
                if self._unsaved_changes or self._dirty:
                    self.save_index(maintain=False)
            finally:
                self._release()

    def _release(self) -> None:
        self._closed = True
        self._db.close()
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    # ------------------------------------------------------------ start-up

    def _bring_index_up_to_date(self) -> None:
        try:
            manifest = self._files.read_manifest()
            if manifest is None:
                self._rebuild("no saved index")
                return
            if manifest.dimension != self.dimension:
                raise IndexFileError(f"index dimension {manifest.dimension} != {self.dimension}")
            trimmed = int(read_meta(self._db, "log_trimmed_through") or 0)
            if trimmed > manifest.seq:
                raise IndexFileError("change log was trimmed past the saved index")
            for pk, saved in manifest.groups.items():
                path = self._files.path(saved.file)
                self._groups[pk] = GroupIndex.load(
                    path, saved.kind, self.hnsw, set(saved.tombstones)
                )
                if self._groups[pk].dimension != self.dimension:
                    raise IndexFileError(f"{saved.file} has the wrong dimension")
            self._manifest = manifest
            self.report.loaded_groups = len(manifest.groups)
            self._replay(manifest.seq)
            self.check_consistency()
        except (IndexFileError, StoreInconsistentError, RuntimeError) as exc:
            log.warning("gallery index not usable (%s); rebuilding it from SQLite", exc)
            self._rebuild(str(exc))

    def _replay(self, since: int) -> None:
        """Apply the change-log rows newer than the saved index."""
        added: dict[int, int] = {}
        deleted: dict[int, list[int]] = {}
        rows = self._db.execute(
            "SELECT face_pk, group_pk, op FROM face_changes WHERE seq > ? ORDER BY seq", (since,)
        )
        for face_pk, group_pk, op in rows:
            if op > 0:
                added[int(face_pk)] = int(group_pk)
            elif added.pop(int(face_pk), None) is None:
                deleted.setdefault(int(group_pk), []).append(int(face_pk))
        existing = {int(r[0]) for r in self._db.execute("SELECT id FROM groups")}
        for pk in list(self._groups):
            if pk not in existing:
                del self._groups[pk]
                self._dirty.discard(pk)
        for pk in existing - set(self._groups):
            self._groups[pk] = GroupIndex.build(
                self.dimension, np.empty(0, np.int64), self._no_vectors(), FLAT, self.hnsw
            )
            self._dirty.add(pk)
        for pk, face_ids in deleted.items():
            if pk in self._groups:
                self._groups[pk].remove(face_ids)
                self._dirty.add(pk)
                self.report.replayed_deletes += len(face_ids)
        by_group: dict[int, list[int]] = {}
        for face_pk, group_pk in added.items():
            by_group.setdefault(group_pk, []).append(face_pk)
        for pk, face_ids in by_group.items():
            if pk not in self._groups:
                continue
            ids, vectors = self._embeddings_of(face_ids)
            self._groups[pk].add(ids, vectors)
            self._dirty.add(pk)
            self.report.replayed_adds += len(ids)
        self._unsaved_changes += self.report.replayed_adds + self.report.replayed_deletes

    def _rebuild(self, reason: str) -> None:
        """Build every group's index from SQLite (first start, or a damaged index)."""
        self._groups.clear()
        self._manifest = None
        self.report.replayed_adds = self.report.replayed_deletes = 0
        for (pk,) in self._db.execute("SELECT id FROM groups").fetchall():
            ids, vectors = self._group_embeddings(int(pk))
            kind = HNSW if len(ids) > self.hnsw_threshold else FLAT
            self._groups[int(pk)] = GroupIndex.build(
                self.dimension, ids, vectors, kind, self.hnsw, self.build_threads
            )
        self.report.rebuilt = True
        self.report.rebuild_reason = reason
        self.save_index()
        self.check_consistency()

    # ------------------------------------------------------------- helpers

    def _acquire_folder_lock(self) -> IO[str]:
        handle = open(self.folder / LOCK_NAME, "a+")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise StoreLockedError(
                f"gallery folder {self.folder} is open in another process"
            ) from exc
        return handle

    def _check_dimension(self) -> None:
        stored = read_meta(self._db, "dimension")
        if stored is None:
            with self._transaction():
                write_meta(self._db, "dimension", str(self.dimension))
        elif int(stored) != self.dimension:
            raise ValueError(f"gallery stores {stored}-d embeddings, not {self.dimension}-d")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._closed:
            raise RuntimeError("gallery store is closed")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _group_pk(self, tenant: str, group_id: str) -> int:
        check_id(tenant, "tenant")
        check_id(group_id, "group_id")
        row = self._db.execute(
            "SELECT id FROM groups WHERE tenant = ? AND group_id = ?", (tenant, group_id)
        ).fetchone()
        if row is None:
            raise GroupNotFoundError(f"group {group_id!r} not found")
        return int(row[0])

    def _group_pks(self, tenant: str, group_ids: list[str]) -> list[int]:
        return [self._group_pk(tenant, group_id) for group_id in group_ids]

    def _user_pk(self, group_pk: int, user_id: str) -> int:
        check_id(user_id, "user_id")
        row = self._db.execute(
            "SELECT id FROM users WHERE group_pk = ? AND user_id = ?", (group_pk, user_id)
        ).fetchone()
        if row is None:
            raise UserNotFoundError(f"user {user_id!r} not found")
        return int(row[0])

    def _upsert_user(self, group_pk: int, user_id: str, user_info: str | None) -> int:
        row = self._db.execute(
            "SELECT id FROM users WHERE group_pk = ? AND user_id = ?", (group_pk, user_id)
        ).fetchone()
        if row is None:
            cursor = self._db.execute(
                "INSERT INTO users (group_pk, user_id, user_info, created_at) VALUES (?, ?, ?, ?)",
                (group_pk, user_id, user_info or "", time.time()),
            )
            return int(cursor.lastrowid or 0)
        if user_info is not None:
            self._db.execute("UPDATE users SET user_info = ? WHERE id = ?", (user_info, row[0]))
        return int(row[0])

    def _faces_of(self, group_id: str, users: list[tuple[int, str]]) -> dict[int, list[FaceRecord]]:
        faces: dict[int, list[FaceRecord]] = {pk: [] for pk, _ in users}
        if not users:
            return faces
        names = dict(users)
        marks = ",".join("?" * len(users))
        for user_pk, token, created in self._db.execute(
            f"SELECT user_pk, face_token, created_at FROM faces WHERE user_pk IN ({marks})"
            " ORDER BY id",
            list(names),
        ):
            faces[int(user_pk)].append(
                FaceRecord(str(token), group_id, names[int(user_pk)], float(created))
            )
        return faces

    def _group_index(self, pk: int) -> GroupIndex:
        index = self._groups.get(pk)
        if index is None:
            raise StoreInconsistentError(f"group {pk} has no index")
        return index

    def _remove_from_index(self, pk: int, face_ids: list[int]) -> None:
        self._group_index(pk).remove(face_ids)
        self._builds.journal(pk, np.asarray(face_ids, dtype=np.int64), None)
        self._dirty.add(pk)
        self._note_changes(len(face_ids))

    def _note_changes(self, count: int) -> None:
        self._unsaved_changes += count
        if self._unsaved_changes >= self.save_every:
            self.save_index()

    def _embeddings_of(self, face_ids: list[int]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        ids: list[int] = []
        blobs: list[bytes] = []
        for start in range(0, len(face_ids), 500):
            chunk = face_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for face_id, blob in self._db.execute(
                f"SELECT id, embedding FROM faces WHERE id IN ({marks})", chunk
            ):
                ids.append(int(face_id))
                blobs.append(blob)
        return self._stack(ids, blobs)

    def _group_embeddings(self, pk: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        ids: list[int] = []
        blobs: list[bytes] = []
        for face_id, blob in self._db.execute(
            "SELECT id, embedding FROM faces WHERE group_pk = ? ORDER BY id", (pk,)
        ):
            ids.append(int(face_id))
            blobs.append(blob)
        return self._stack(ids, blobs)

    def _stack(
        self, ids: list[int], blobs: list[bytes]
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        if not ids:
            return np.empty(0, np.int64), self._no_vectors()
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
        return np.asarray(ids, dtype=np.int64), vectors

    def _no_vectors(self) -> NDArray[np.float32]:
        return np.empty((0, self.dimension), dtype=np.float32)
