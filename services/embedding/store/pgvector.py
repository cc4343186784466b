"""The server gallery backend: PostgreSQL with pgvector (HNSW index, cosine distance).

Tables live in one PostgreSQL schema (``schema`` option, default ``faceflow``; the DDL is in
``pgvector_schema.py``) so several deployments or test runs can share a database. PostgreSQL
is the only source of truth: the HNSW index (``vector_cosine_ops``) is part of the table, so
deletes leave search at commit. Filtered searches use pgvector's iterative index scan, so a
group's faces are found even when they are a small part of the table; when that scan gives up
(``hnsw.max_scan_tuples``) with fewer faces than asked, an exact scan of the groups' own rows
answers instead (fewer rows is never read as "the groups ran out"). Connections come from a
small pool (one per thread at a time), so the store is safe to share between the gRPC server's
threads. Input checks (``validation.py``) and the mapping of rows to records and of nearest
faces to matches (``records.py``) are shared with the SQLite + FAISS backend.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import errors as pg_errors

from services.embedding.store.base import FaceRecord, Group, Match, User
from services.embedding.store.errors import (
    EmbedderMismatchError,
    FaceNotFoundError,
    GroupExistsError,
)
from services.embedding.store.pgvector_schema import (
    check_schema,
    check_schema_name,
    create_schema,
    vector_literal,
)
from services.embedding.store.records import (
    HitRow,
    best_per_user,
    embeddings_in_order,
    face_exists,
    faces_by_user,
    group_of,
    group_pk_of,
    thumbnail_of,
    user_pk_of,
    users_of,
    widening_search,
)
from services.embedding.store.validation import (
    check_group_ids,
    check_id,
    check_page,
    check_top_k,
    checked_face,
    normalized,
)
from services.shared.postgres import ConnectionPool

log = logging.getLogger(__name__)


class PgvectorStore:
    """PostgreSQL + pgvector gallery (see module docstring)."""

    def __init__(
        self,
        url: str,
        dimension: int,
        *,
        schema: str = "faceflow",
        pool_size: int = 4,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        hnsw_ef_search: int = 100,
        store_images: bool = False,
        connect_timeout: float = 10.0,
        read_url: str = "",
    ) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive")
        self.url = url
        self.dimension = dimension
        self.schema = check_schema_name(schema)
        self.hnsw_ef_search = hnsw_ef_search
        self.store_images = store_images
        self._pool = ConnectionPool(url, size=pool_size, connect_timeout=connect_timeout)
        try:
            with self._pool.connection() as first:
                create_schema(first, schema, dimension, hnsw_m, hnsw_ef_construction)
        except BaseException:
            self._pool.close()
            raise
        # Searches (and the user counts their thresholds need) may go to a read replica;
        # every write, and every read a write depends on, stays on the primary.
        self._read_pool = (
            ConnectionPool(read_url, size=pool_size, connect_timeout=connect_timeout)
            if read_url
            else self._pool
        )
        self.check_consistency()

    # ----------------------------------------------------------------- groups

    def create_group(self, tenant: str, group_id: str) -> Group:
        """Create an empty group; ``GroupExistsError`` when the tenant has it already."""
        check_id(tenant, "tenant")
        check_id(group_id, "group_id")
        created = time.time()
        with self._connection() as db:
            try:
                db.execute(
                    f"INSERT INTO {self.schema}.groups (tenant, group_id, created_at)"
                    " VALUES (%s, %s, %s)",
                    (tenant, group_id, created),
                )
            except pg_errors.UniqueViolation as exc:
                raise GroupExistsError(f"group {group_id!r} exists already") from exc
        return Group(group_id, created, 0, 0)

    def list_groups(self, tenant: str) -> list[Group]:
        """The tenant's groups, ordered by group id."""
        check_id(tenant, "tenant")
        s = self.schema
        with self._connection() as db:
            rows = db.execute(
                f"SELECT g.group_id, g.created_at,"
                f" (SELECT COUNT(*) FROM {s}.users u WHERE u.group_pk = g.id),"
                f" (SELECT COUNT(*) FROM {s}.faces f WHERE f.group_pk = g.id)"
                f' FROM {s}.groups g WHERE g.tenant = %s ORDER BY g.group_id COLLATE "C"',
                (tenant,),
            ).fetchall()
        return [group_of(r) for r in rows]

    def delete_group(self, tenant: str, group_id: str) -> None:
        """Delete a group with its users and faces; they leave search at commit."""
        with self._connection() as db, db.transaction():
            pk = self._group_pk(db, tenant, group_id)
            db.execute(f"DELETE FROM {self.schema}.groups WHERE id = %s", (pk,))

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
        vector = checked_face(user_id, embedding, image_sha256, user_info, self.dimension)
        s = self.schema
        token = uuid.uuid4().hex
        created = time.time()
        with self._connection() as db, db.transaction():
            # the lock holds a concurrent delete_group off (or waits for it: then not found)
            pk = self._group_pk(db, tenant, group_id, lock=True)
            row = db.execute(
                f"INSERT INTO {s}.users (group_pk, user_id, user_info, created_at)"
                " VALUES (%s, %s, COALESCE(%s, ''), %s)"
                " ON CONFLICT (group_pk, user_id) DO UPDATE"
                f" SET user_info = COALESCE(%s, {s}.users.user_info) RETURNING id",
                (pk, user_id, user_info, created, user_info),
            ).fetchone()
            user_pk = int(row[0]) if row else 0
            try:
                with db.transaction():
                    face = db.execute(
                        f"INSERT INTO {s}.faces (face_token, user_pk, group_pk, image_sha256,"
                        " embedding, created_at) VALUES (%s, %s, %s, %s, %s::vector, %s)"
                        " RETURNING id",
                        (token, user_pk, pk, image_sha256, vector_literal(vector), created),
                    ).fetchone()
            except pg_errors.UniqueViolation as exc:
                existing = db.execute(
                    f"SELECT face_token, created_at FROM {s}.faces"
                    " WHERE user_pk = %s AND image_sha256 = %s",
                    (user_pk, image_sha256),
                ).fetchone()
                raise face_exists(user_id, existing) from exc
            if image is not None and self.store_images and face is not None:
                db.execute(
                    f"INSERT INTO {s}.face_images (face_pk, image) VALUES (%s, %s)",
                    (face[0], image),
                )
            if thumbnail and face is not None:
                db.execute(
                    f"INSERT INTO {s}.face_thumbnails (face_pk, jpeg) VALUES (%s, %s)",
                    (face[0], thumbnail),
                )
        return FaceRecord(token, group_id, user_id, created, bool(thumbnail))

    def delete_face(self, tenant: str, group_id: str, user_id: str, face_token: str) -> None:
        """Delete one face of a user; it leaves search at commit."""
        with self._connection() as db, db.transaction():
            pk = self._group_pk(db, tenant, group_id)
            user_pk = self._user_pk(db, pk, user_id)
            deleted = db.execute(
                f"DELETE FROM {self.schema}.faces WHERE user_pk = %s AND face_token = %s",
                (user_pk, face_token),
            ).rowcount
            if deleted == 0:
                raise FaceNotFoundError(f"face {face_token!r} not found for user {user_id!r}")

    def face_thumbnail(self, tenant: str, group_id: str, user_id: str, face_token: str) -> bytes:
        """The thumbnail kept with one face of a user (``ThumbnailNotFoundError`` when none)."""
        s = self.schema
        with self._connection() as db:
            pk = self._group_pk(db, tenant, group_id)
            user_pk = self._user_pk(db, pk, user_id)
            row = db.execute(
                f"SELECT t.jpeg FROM {s}.faces f LEFT JOIN {s}.face_thumbnails t"
                " ON t.face_pk = f.id WHERE f.user_pk = %s AND f.face_token = %s",
                (user_pk, face_token),
            ).fetchone()
        return thumbnail_of(row, user_id, face_token)

    def face_image(self, tenant: str, group_id: str, face_token: str) -> bytes | None:
        """The raw image stored with a face (only when ``store_images`` was on)."""
        s = self.schema
        with self._connection() as db:
            pk = self._group_pk(db, tenant, group_id)
            row = db.execute(
                f"SELECT i.image FROM {s}.faces f JOIN {s}.face_images i ON i.face_pk = f.id"
                " WHERE f.group_pk = %s AND f.face_token = %s",
                (pk, face_token),
            ).fetchone()
        return bytes(row[0]) if row else None

    # ------------------------------------------------------------------ users

    def list_users(
        self, tenant: str, group_id: str, offset: int, limit: int
    ) -> tuple[list[User], int]:
        """One page of a group's users (ordered by user id) and the total user count."""
        check_page(offset, limit)
        s = self.schema
        with self._connection() as db:
            pk = self._group_pk(db, tenant, group_id)
            count = db.execute(
                f"SELECT COUNT(*) FROM {s}.users WHERE group_pk = %s", (pk,)
            ).fetchone()
            rows = db.execute(
                f"SELECT id, user_id, user_info FROM {s}.users WHERE group_pk = %s"
                ' ORDER BY user_id COLLATE "C" LIMIT %s OFFSET %s',
                (pk, limit, offset),
            ).fetchall()
            faces = self._faces_of(db, group_id, [(int(r[0]), str(r[1])) for r in rows])
        return users_of(group_id, rows, faces), int(count[0]) if count else 0

    def get_user(self, tenant: str, group_id: str, user_id: str) -> User:
        """A user with their faces."""
        with self._connection() as db:
            pk = self._group_pk(db, tenant, group_id)
            user_pk = self._user_pk(db, pk, user_id)
            row = db.execute(
                f"SELECT user_info FROM {self.schema}.users WHERE id = %s", (user_pk,)
            ).fetchone()
            faces = self._faces_of(db, group_id, [(user_pk, user_id)])
        return User(group_id, user_id, str(row[0]) if row else "", faces[user_pk])

    def delete_user(self, tenant: str, group_id: str, user_id: str) -> list[str]:
        """Delete a user with their faces; they leave search at commit. The faces' tokens: the
        user row is locked first, so no face can be added between listing and deleting."""
        with self._connection() as db, db.transaction():
            pk = self._group_pk(db, tenant, group_id)
            user_pk = self._user_pk(db, pk, user_id)
            db.execute(f"SELECT id FROM {self.schema}.users WHERE id = %s FOR UPDATE", (user_pk,))
            rows = db.execute(
                f"DELETE FROM {self.schema}.faces WHERE user_pk = %s RETURNING face_token",
                (user_pk,),
            ).fetchall()
            db.execute(f"DELETE FROM {self.schema}.users WHERE id = %s", (user_pk,))
        return [str(row[0]) for row in rows]

    def user_face_embeddings(
        self, tenant: str, group_id: str, user_id: str
    ) -> list[tuple[str, NDArray[np.float32]]]:
        """Each face of the user as (face token, unit-length embedding), from one query."""
        with self._connection() as db:
            pk = self._group_pk(db, tenant, group_id)
            user_pk = self._user_pk(db, pk, user_id)
            rows = db.execute(
                f"SELECT face_token, embedding::real[] FROM {self.schema}.faces"
                " WHERE user_pk = %s ORDER BY id",
                (user_pk,),
            ).fetchall()
        return [(str(r[0]), np.asarray(r[1], dtype=np.float32)) for r in rows]

    def face_embeddings(
        self, tenant: str, group_id: str, face_tokens: list[str]
    ) -> NDArray[np.float32]:
        """The stored embeddings of a group's faces, in the order of ``face_tokens``."""
        with self._connection() as db:
            pk = self._group_pk(db, tenant, group_id)
            rows = db.execute(
                f"SELECT face_token, embedding::real[] FROM {self.schema}.faces"
                " WHERE group_pk = %s AND face_token = ANY(%s)",
                (pk, sorted(set(face_tokens))),
            ).fetchall()
        found = {str(r[0]): np.asarray(r[1], dtype=np.float32) for r in rows}
        return embeddings_in_order(group_id, face_tokens, found, self.dimension)

    # ----------------------------------------------------------------- search

    def search(
        self, tenant: str, group_ids: list[str], embedding: NDArray[np.float32], top_k: int
    ) -> list[Match]:
        """Best face per user over the tenant's groups, most similar first."""
        check_top_k(top_k)
        wanted = check_group_ids(group_ids)
        query = vector_literal(normalized(embedding, self.dimension))
        s = self.schema
        with self._read_pool.connection() as db, db.transaction():
            pks = [self._group_pk(db, tenant, g) for g in wanted]
            names = dict(zip(pks, wanted, strict=True))
            db.execute(f"SET LOCAL hnsw.ef_search = {int(self.hnsw_ef_search)}")
            db.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            in_groups = f"{s}.faces WHERE group_pk = ANY(%(pks)s)"

            def nearest(source: str, prefix: str = "") -> str:
                return (
                    f"{prefix}SELECT n.distance, f.face_token, f.group_pk, u.user_id, u.user_info"
                    f" FROM (SELECT id, embedding <=> %(probe)s::vector AS distance FROM {source}"
                    " ORDER BY distance LIMIT %(faces)s) n"
                    f" JOIN {s}.faces f ON f.id = n.id JOIN {s}.users u ON u.id = f.user_pk"
                    " ORDER BY n.distance"
                )

            def fetch(faces: int) -> tuple[list[Match], bool]:
                params = {"probe": query, "pks": pks, "faces": faces}
                rows = db.execute(nearest(in_groups), params).fetchall()
                if len(rows) < faces:
                    # Fewer than asked: the groups ran out, or the HNSW scan stopped at
                    # hnsw.max_scan_tuples first. An exact scan of the groups' own rows (a
                    # materialised CTE cannot use the HNSW index) tells, and answers.
                    exact = f"WITH g AS MATERIALIZED (SELECT id, embedding FROM {in_groups}) "
                    rows = db.execute(nearest("g", exact), params).fetchall()
                hits: list[HitRow] = [
                    (1.0 - float(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows
                ]
                return best_per_user(hits, names), len(rows) < faces

            return widening_search(top_k, fetch, lambda: self._count_users(db, pks))

    def count_users(self, tenant: str, group_ids: list[str]) -> int:
        """The users with a face in the tenant's groups (GroupNotFoundError for an unknown one)."""
        wanted = check_group_ids(group_ids)
        with self._read_pool.connection() as db:
            return self._count_users(db, [self._group_pk(db, tenant, g) for g in wanted])

    def _count_users(self, db: psycopg.Connection[Any], pks: list[int]) -> int:
        # Users with a face: one whose last face was deleted keeps its row, but no search
        # can find them. An index-only walk of faces_by_group_user, in order.
        row = db.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT group_pk, user_pk"
            f" FROM {self.schema}.faces WHERE group_pk = ANY(%s)) d",
            (pks,),
        ).fetchone()
        return int(row[0]) if row is not None else 0

    # ---------------------------------------------------------------- upkeep

    def claim_embedder(self, key: str) -> None:
        """Record the embedder on first use (the first replica wins); refuse another one."""
        with self._connection() as db, db.transaction():
            db.execute(
                f"INSERT INTO {self.schema}.meta (key, value) VALUES ('embedder', %s) "
                "ON CONFLICT (key) DO NOTHING",
                (key,),
            )
            row = db.execute(f"SELECT value FROM {self.schema}.meta WHERE key = 'embedder'")
            stored = str(row.fetchone()[0])  # type: ignore[index]
        if stored != key:
            raise EmbedderMismatchError(stored, key)

    def check_consistency(self) -> None:
        """Prove the HNSW index exists and is valid and the vector column has our dimension."""
        with self._connection() as db:
            check_schema(db, self.schema, self.dimension)

    def close(self) -> None:
        """Close every pooled connection."""
        if self._read_pool is not self._pool:
            self._read_pool.close()
        self._pool.close()

    # --------------------------------------------------------------- helpers

    def _connection(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._pool.connection()

    def _group_pk(
        self, db: psycopg.Connection[Any], tenant: str, group_id: str, lock: bool = False
    ) -> int:
        """The group's key; with ``lock``, the row is key-share locked until the transaction
        ends, so that rows referring to it can be inserted (a deleted group is not found)."""
        check_id(tenant, "tenant")
        check_id(group_id, "group_id")
        row = db.execute(
            f"SELECT id FROM {self.schema}.groups WHERE tenant = %s AND group_id = %s"
            + (" FOR KEY SHARE" if lock else ""),
            (tenant, group_id),
        ).fetchone()
        return group_pk_of(row, group_id)

    def _user_pk(self, db: psycopg.Connection[Any], group_pk: int, user_id: str) -> int:
        check_id(user_id, "user_id")
        row = db.execute(
            f"SELECT id FROM {self.schema}.users WHERE group_pk = %s AND user_id = %s",
            (group_pk, user_id),
        ).fetchone()
        return user_pk_of(row, user_id)

    def _faces_of(
        self, db: psycopg.Connection[Any], group_id: str, users: list[tuple[int, str]]
    ) -> dict[int, list[FaceRecord]]:
        if not users:
            return {}
        rows = db.execute(
            f"SELECT f.user_pk, f.face_token, f.created_at, t.face_pk IS NOT NULL"
            f" FROM {self.schema}.faces f"
            f" LEFT JOIN {self.schema}.face_thumbnails t ON t.face_pk = f.id"
            " WHERE f.user_pk = ANY(%s) ORDER BY f.id",
            ([pk for pk, _ in users],),
        ).fetchall()
        return faces_by_user(group_id, users, rows)
