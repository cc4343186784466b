"""The embedded gallery backend: SQLite (WAL) as the source of truth plus FAISS per group.

``SqliteFaissStore`` implements ``GalleryStore`` by composing one-job modules (the design, with
its reasoning and figures, is in docs/gallery-store.md):
- ``sqlite_gallery.py``: the SQL of groups, users and faces (triggers log each face change);
- ``index_set.py``: the live FAISS index of each group (exact, HNSW beyond ``hnsw_threshold``
  faces), and the builds that convert or purge one beside it (``index_builds.py``);
- ``index_sync.py``: saving the indexes every ``save_every`` changes and on ``close``, catching
  a saved index up from the change log at open (or rebuilding a missing or damaged one), and
  proving index and database agree;
- ``folder_lock.py``: one process per data folder.
This class validates input, serialises access with one re-entrant lock (so the gRPC server's
threads can share a store; the lock is never held for an index build) and orders every write:
the SQLite transaction commits first, then the group's index follows at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.base import FaceRecord, Group, Match, User
from services.embedding.store.faiss_index import HnswParams, set_threads
from services.embedding.store.folder_lock import FolderLock
from services.embedding.store.index_files import IndexFolder
from services.embedding.store.index_set import GroupIndexes, IndexStats
from services.embedding.store.index_sync import IndexSync, OpenReport
from services.embedding.store.records import embeddings_in_order, widening_search
from services.embedding.store.sqlite_gallery import NewFace, SqliteGallery
from services.embedding.store.sqlite_vectors import VectorRows
from services.embedding.store.validation import (
    check_group_ids,
    check_id,
    check_page,
    check_top_k,
    checked_face,
    normalized,
)

__all__ = ["IndexStats", "NewFace", "OpenReport", "SqliteFaissStore"]

DATABASE_NAME = "gallery.sqlite3"
INDEX_FOLDER = "index"
LOCK_NAME = "store.lock"


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
        self.store_images = store_images
        self.search_threads = search_threads
        self._lock = threading.RLock()
        self._folder_lock = FolderLock(self.folder / LOCK_NAME)
        self._tables = SqliteGallery(
            self.folder / DATABASE_NAME, dimension, synchronous, store_images
        )
        self._indexes = GroupIndexes(
            dimension,
            HnswParams(hnsw_m, hnsw_ef_construction, hnsw_ef_search),
            lock=self._lock,
            closed=lambda: self._tables.closed,
            hnsw_threshold=hnsw_threshold,
            rebuild_tombstone_fraction=rebuild_tombstone_fraction,
            build_threads=build_threads,
        )
        self._sync = IndexSync(
            self._indexes,
            VectorRows(self._tables.connection, dimension),
            IndexFolder(self.folder / INDEX_FOLDER),
            save_every=save_every,
            consistency_sample=consistency_sample,
        )
        try:
            self._tables.check_dimension()
            self._sync.open()
        except BaseException:
            self._release()
            raise

    @property
    def report(self) -> OpenReport:
        """How the index was brought up to date when the store opened, and saves since."""
        return self._sync.report

    @property
    def hnsw(self) -> HnswParams:
        """The HNSW parameters of new graphs and searches (``set_ef_search`` changes them)."""
        return self._indexes.hnsw

    @property
    def hnsw_threshold(self) -> int:
        """A group with more faces than this switches to HNSW at the next save."""
        return self._indexes.hnsw_threshold

    @hnsw_threshold.setter
    def hnsw_threshold(self, faces: int) -> None:
        with self._lock:
            self._indexes.hnsw_threshold = faces

    # ----------------------------------------------------------------- groups

    def create_group(self, tenant: str, group_id: str) -> Group:
        """Create an empty group; ``GroupExistsError`` when the tenant has it already."""
        check_id(tenant, "tenant")
        check_id(group_id, "group_id")
        created = time.time()
        # One lock hold for the row and its index: an enroll in between would find no index.
        with self._lock:
            with self._tables.transaction():
                pk = self._tables.insert_group(tenant, group_id, created)
            self._sync.apply(pk, 1, lambda: self._indexes.empty(pk))
        return Group(group_id, created, 0, 0)

    def list_groups(self, tenant: str) -> list[Group]:
        """The tenant's groups, ordered by group id."""
        check_id(tenant, "tenant")
        with self._lock:
            return self._tables.list_groups(tenant)

    def delete_group(self, tenant: str, group_id: str) -> None:
        """Delete a group with its users and faces; they leave search at once."""
        with self._lock:
            with self._tables.transaction():
                pk = self._tables.group_pk(tenant, group_id)
                removed = self._tables.delete_group(pk)
            self._sync.apply(pk, max(removed, 1), lambda: self._indexes.drop(pk))

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
        thumbnail: bytes | None = None,
    ) -> FaceRecord:
        """Enroll one face (creating the user); ``FaceExistsError`` for the same image twice."""
        records = self.add_faces(
            tenant,
            group_id,
            [NewFace(user_id, embedding, image_sha256, user_info, thumbnail)],
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
            vectors[row] = checked_face(
                face.user_id, face.embedding, face.image_sha256, face.user_info, self.dimension
            )
        images = list(images) if images is not None else [None] * len(faces)
        with self._lock:
            with self._tables.transaction():
                pk = self._tables.group_pk(tenant, group_id)
                ids, records = self._tables.insert_faces(pk, group_id, faces, vectors, images)
            # Committed: the index follows at once (a crash here is repaired by the log replay,
            # a failure by ``apply``, which never fails the enroll).
            self._sync.apply(pk, len(faces), lambda: self._indexes.add(pk, ids, vectors))
        return records

    def face_image(self, tenant: str, group_id: str, face_token: str) -> bytes | None:
        """The raw image stored with a face (only when ``store_images`` was on)."""
        with self._lock:
            pk = self._tables.group_pk(tenant, group_id)
            return self._tables.face_image(pk, face_token)

    def face_thumbnail(self, tenant: str, group_id: str, user_id: str, face_token: str) -> bytes:
        """The thumbnail kept with one face of a user (``ThumbnailNotFoundError`` when none)."""
        with self._lock:
            pk = self._tables.group_pk(tenant, group_id)
            user_pk = self._tables.user_pk(pk, user_id)
            return self._tables.face_thumbnail(user_pk, user_id, face_token)

    def delete_face(self, tenant: str, group_id: str, user_id: str, face_token: str) -> None:
        """Delete one face of a user; it leaves search at once."""
        with self._lock:
            with self._tables.transaction():
                pk = self._tables.group_pk(tenant, group_id)
                user_pk = self._tables.user_pk(pk, user_id)
                face_id = self._tables.delete_face(user_pk, user_id, face_token)
            self._remove_from_index(pk, [face_id])

    # ------------------------------------------------------------------ users

    def list_users(
        self, tenant: str, group_id: str, offset: int, limit: int
    ) -> tuple[list[User], int]:
        """One page of a group's users (ordered by user id) and the total user count."""
        check_page(offset, limit)
        with self._lock:
            pk = self._tables.group_pk(tenant, group_id)
            return self._tables.users_page(pk, group_id, offset, limit)

    def get_user(self, tenant: str, group_id: str, user_id: str) -> User:
        """A user with their faces."""
        with self._lock:
            pk = self._tables.group_pk(tenant, group_id)
            user_pk = self._tables.user_pk(pk, user_id)
            return self._tables.user(user_pk, group_id, user_id)

    def delete_user(self, tenant: str, group_id: str, user_id: str) -> list[str]:
        """Delete a user with their faces; they leave search at once. The faces' tokens."""
        with self._lock:
            with self._tables.transaction():
                pk = self._tables.group_pk(tenant, group_id)
                faces = self._tables.delete_user(self._tables.user_pk(pk, user_id))
            self._remove_from_index(pk, list(faces))
        return list(faces.values())

    def user_face_embeddings(
        self, tenant: str, group_id: str, user_id: str
    ) -> list[tuple[str, NDArray[np.float32]]]:
        """Each face of the user as (face token, unit-length embedding), read together."""
        with self._lock:
            pk = self._tables.group_pk(tenant, group_id)
            return self._tables.user_face_embeddings(self._tables.user_pk(pk, user_id))

    def face_embeddings(
        self, tenant: str, group_id: str, face_tokens: list[str]
    ) -> NDArray[np.float32]:
        """The stored embeddings of a group's faces, in the order of ``face_tokens``."""
        with self._lock:
            pk = self._tables.group_pk(tenant, group_id)
            found = self._tables.face_embeddings(pk, face_tokens)
        return embeddings_in_order(group_id, face_tokens, found, self.dimension)

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
            pks = [self._tables.group_pk(tenant, group_id) for group_id in wanted]
            names = dict(zip(pks, wanted, strict=True))

            def fetch(faces: int) -> tuple[list[Match], bool]:
                hits, exhausted = self._indexes.search(pks, query, faces)
                return self._tables.matches(hits, names), exhausted

            return widening_search(top_k, fetch, lambda: self._tables.count_users(pks))

    def count_users(self, tenant: str, group_ids: list[str]) -> int:
        """The users with a face in the tenant's groups (GroupNotFoundError for an unknown one)."""
        wanted = check_group_ids(group_ids)
        with self._lock:
            pks = [self._tables.group_pk(tenant, group_id) for group_id in wanted]
            return self._tables.count_users(pks)

    # ------------------------------------------------------- index upkeep

    def claim_embedder(self, key: str) -> None:
        """Record the embedder on first use; refuse a store filled by another one."""
        self._tables.claim_embedder(key)

    def check_consistency(self) -> None:
        """Prove that each group's index holds exactly the database's faces, same vectors."""
        with self._lock:
            self._sync.check_consistency()

    def save_index(self, maintain: bool = True) -> None:
        """Persist the changed groups' indexes and the manifest, then trim the change log.

        ``maintain``: also start the index builds that grown or tombstone-heavy groups need.
        """
        with self._lock:
            self._sync.save(maintain)

    def wait_for_index_builds(self, timeout: float | None = None) -> bool:
        """Wait until no index build runs (True), or ``timeout`` seconds pass (False)."""
        return self._indexes.builds.wait(timeout)

    def set_ef_search(self, ef_search: int) -> None:
        """Change the HNSW search beam width (recall against latency) without a rebuild."""
        if ef_search < 1:
            raise ValueError("ef_search must be positive")
        with self._lock:
            self._indexes.set_ef_search(ef_search)

    def index_stats(self, tenant: str, group_id: str) -> IndexStats:
        """Kind and size of a group's index (for operators and tests)."""
        with self._lock:
            return self._indexes.stats(self._tables.group_pk(tenant, group_id))

    def close(self) -> None:
        """Save what changed and release the folder."""
        with self._lock:
            if self._tables.closed:
                return
            # the live indexes are complete and get saved
            stopping = self._indexes.builds.cancel_all()
        for thread in stopping:  # a cancelled build stops at its next chunk (off the lock)
            thread.join()
        with self._lock:
            if self._tables.closed:
                return
            try:
                if self._sync.unsaved:
                    self._sync.save(maintain=False)
            finally:
                self._release()

    # ------------------------------------------------------------- helpers

    def _remove_from_index(self, pk: int, face_ids: list[int]) -> None:
        self._sync.apply(pk, len(face_ids), lambda: self._indexes.remove(pk, face_ids))

    def _release(self) -> None:
        self._tables.close()
        self._folder_lock.release()
