"""The SQL of the embedded gallery: groups, users and faces in SQLite, and nothing else.

No FAISS and no locking here: the store (``sqlite_faiss.py``) calls these methods under its lock,
writes inside ``transaction()``, and updates the FAISS indexes after the commit. The change-log
triggers of ``sqlite_schema.py`` record every face inserted or deleted in the same transaction.
Rows become records through ``records.py``, exactly as in the pgvector backend.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.base import FaceRecord, Group, Match, User
from services.embedding.store.errors import (
    DimensionMismatchError,
    EmbedderMismatchError,
    FaceNotFoundError,
    GroupExistsError,
)
from services.embedding.store.records import (
    best_per_user,
    face_exists,
    faces_by_user,
    group_of,
    group_pk_of,
    thumbnail_of,
    user_pk_of,
    users_of,
)
from services.embedding.store.sqlite_schema import connect, read_meta, transaction, write_meta
from services.embedding.store.validation import check_id


@dataclass(frozen=True)
class NewFace:
    """One face of a bulk enrollment (``add_faces``)."""

    user_id: str
    embedding: NDArray[np.float32]
    image_sha256: str
    user_info: str | None = None
    thumbnail: bytes | None = None


EMBEDDER_META_KEY = "embedder"
# at most this many values bound in one IN (...) list: SQLite builds before 3.32 refuse more
# than 999 variables per statement, later ones 32,766 (or what the distribution set)
SQL_CHUNK = 500


class SqliteGallery:
    """The gallery tables of one SQLite database (see module docstring)."""

    def __init__(self, path: Path, dimension: int, synchronous: str, store_images: bool) -> None:
        self.connection = connect(path, synchronous)
        self.dimension = dimension
        self.store_images = store_images
        """Whether ``insert_faces`` keeps the raw images it is given."""
        self.closed = False

    def close(self) -> None:
        """Close the connection; later transactions raise ``RuntimeError``."""
        self.closed = True
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``), rolled back when the block raises."""
        if self.closed:
            raise RuntimeError("gallery store is closed")
        with transaction(self.connection):
            yield

    def check_dimension(self) -> None:
        """Record the embedding dimension on first use; refuse a database of another one."""
        stored = read_meta(self.connection, "dimension")
        if stored is None:
            with self.transaction():
                write_meta(self.connection, "dimension", str(self.dimension))
        elif int(stored) != self.dimension:
            raise DimensionMismatchError(int(stored), self.dimension)

    def claim_embedder(self, key: str) -> None:
        """Record the embedder on first use; refuse a database filled by another one."""
        stored = read_meta(self.connection, EMBEDDER_META_KEY)
        if stored is None:
            with self.transaction():
                write_meta(self.connection, EMBEDDER_META_KEY, key)
        elif stored != key:
            raise EmbedderMismatchError(stored, key)

    # --------------------------------------------------------------- lookups

    def group_pk(self, tenant: str, group_id: str) -> int:
        """The tenant's group's primary key; ``GroupNotFoundError`` when it has none of that id."""
        check_id(tenant, "tenant")
        check_id(group_id, "group_id")
        row = self.connection.execute(
            "SELECT id FROM groups WHERE tenant = ? AND group_id = ?", (tenant, group_id)
        ).fetchone()
        return group_pk_of(row, group_id)

    def user_pk(self, group_pk: int, user_id: str) -> int:
        """The user's primary key in a group; ``UserNotFoundError`` when absent."""
        check_id(user_id, "user_id")
        row = self.connection.execute(
            "SELECT id FROM users WHERE group_pk = ? AND user_id = ?", (group_pk, user_id)
        ).fetchone()
        return user_pk_of(row, user_id)

    # ---------------------------------------------------------------- groups

    def insert_group(self, tenant: str, group_id: str, created: float) -> int:
        """Add a group; its primary key. ``GroupExistsError`` when the tenant has it already."""
        try:
            cursor = self.connection.execute(
                "INSERT INTO groups (tenant, group_id, created_at) VALUES (?, ?, ?)",
                (tenant, group_id, created),
            )
        except sqlite3.IntegrityError as exc:
            raise GroupExistsError(f"group {group_id!r} exists already") from exc
        return int(cursor.lastrowid or 0)

    def list_groups(self, tenant: str) -> list[Group]:
        """The tenant's groups with their user and face counts, ordered by group id."""
        rows = self.connection.execute(
            "SELECT g.group_id, g.created_at,"
            " (SELECT COUNT(*) FROM users u WHERE u.group_pk = g.id),"
            " (SELECT COUNT(*) FROM faces f WHERE f.group_pk = g.id)"
            " FROM groups g WHERE g.tenant = ? ORDER BY g.group_id",
            (tenant,),
        ).fetchall()
        return [group_of(r) for r in rows]

    def delete_group(self, group_pk: int) -> int:
        """Delete a group (its users and faces cascade); how many faces it held.

        Counted first: ``rowcount`` counts the group row only, never the cascaded ones.
        """
        faces = self.connection.execute(
            "SELECT COUNT(*) FROM faces WHERE group_pk = ?", (group_pk,)
        ).fetchone()[0]
        self.connection.execute("DELETE FROM groups WHERE id = ?", (group_pk,))
        return int(faces)

    # ----------------------------------------------------------------- faces

    def insert_faces(
        self,
        group_pk: int,
        group_id: str,
        faces: Sequence[NewFace],
        vectors: NDArray[np.float32],
        images: Sequence[bytes | None],
    ) -> tuple[NDArray[np.int64], list[FaceRecord]]:
        """Add faces (creating their users) with their unit ``vectors``; their ids and records.

        ``FaceExistsError`` when an image is enrolled for its user already. Call inside a
        transaction, so that a failure leaves nothing behind.
        """
        ids = np.empty(len(faces), dtype=np.int64)
        records: list[FaceRecord] = []
        user_pks: dict[str, int] = {}
        for row, face in enumerate(faces):
            user_pk = user_pks.get(face.user_id)
            if user_pk is None or face.user_info is not None:
                user_pk = self._upsert_user(group_pk, face.user_id, face.user_info)
                user_pks[face.user_id] = user_pk
            token = uuid.uuid4().hex
            created = time.time()
            try:
                cursor = self.connection.execute(
                    "INSERT INTO faces (face_token, user_pk, group_pk, image_sha256,"
                    " embedding, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (token, user_pk, group_pk, face.image_sha256, vectors[row].tobytes(), created),
                )
            except sqlite3.IntegrityError as exc:
                existing = self.connection.execute(
                    "SELECT face_token, created_at FROM faces"
                    " WHERE user_pk = ? AND image_sha256 = ?",
                    (user_pk, face.image_sha256),
                ).fetchone()
                raise face_exists(face.user_id, existing) from exc
            ids[row] = int(cursor.lastrowid or 0)
            image = images[row]
            if image is not None and self.store_images:
                self.connection.execute(
                    "INSERT INTO face_images (face_pk, image) VALUES (?, ?)", (int(ids[row]), image)
                )
            if face.thumbnail:
                self.connection.execute(
                    "INSERT INTO face_thumbnails (face_pk, jpeg) VALUES (?, ?)",
                    (int(ids[row]), face.thumbnail),
                )
            records.append(FaceRecord(token, group_id, face.user_id, created, bool(face.thumbnail)))
        return ids, records

    def face_image(self, group_pk: int, face_token: str) -> bytes | None:
        """The raw image kept with a face of the group, if any."""
        row = self.connection.execute(
            "SELECT i.image FROM faces f JOIN face_images i ON i.face_pk = f.id"
            " WHERE f.group_pk = ? AND f.face_token = ?",
            (group_pk, face_token),
        ).fetchone()
        return bytes(row[0]) if row else None

    def face_thumbnail(self, user_pk: int, user_id: str, face_token: str) -> bytes:
        """The thumbnail kept with a face of the user (see ``records.thumbnail_of``)."""
        row = self.connection.execute(
            "SELECT t.jpeg FROM faces f LEFT JOIN face_thumbnails t ON t.face_pk = f.id"
            " WHERE f.user_pk = ? AND f.face_token = ?",
            (user_pk, face_token),
        ).fetchone()
        return thumbnail_of(row, user_id, face_token)

    def delete_face(self, user_pk: int, user_id: str, face_token: str) -> int:
        """Delete one face of a user; its id. ``FaceNotFoundError`` when it is not theirs."""
        row = self.connection.execute(
            "SELECT id FROM faces WHERE user_pk = ? AND face_token = ?", (user_pk, face_token)
        ).fetchone()
        if row is None:
            raise FaceNotFoundError(f"face {face_token!r} not found for user {user_id!r}")
        self.connection.execute("DELETE FROM faces WHERE id = ?", (row[0],))
        return int(row[0])

    # ----------------------------------------------------------------- users

    def users_page(
        self, group_pk: int, group_id: str, offset: int, limit: int
    ) -> tuple[list[User], int]:
        """One page of a group's users (ordered by user id) and the total user count."""
        total = self.connection.execute(
            "SELECT COUNT(*) FROM users WHERE group_pk = ?", (group_pk,)
        ).fetchone()[0]
        rows = self.connection.execute(
            "SELECT id, user_id, user_info FROM users WHERE group_pk = ?"
            " ORDER BY user_id LIMIT ? OFFSET ?",
            (group_pk, limit, offset),
        ).fetchall()
        faces = self._faces_of(group_id, [(int(r[0]), str(r[1])) for r in rows])
        return users_of(group_id, rows, faces), int(total)

    def user(self, user_pk: int, group_id: str, user_id: str) -> User:
        """A user with their faces."""
        info = self.connection.execute(
            "SELECT user_info FROM users WHERE id = ?", (user_pk,)
        ).fetchone()[0]
        faces = self._faces_of(group_id, [(user_pk, user_id)])
        return User(group_id, user_id, str(info), faces[user_pk])

    def delete_user(self, user_pk: int) -> dict[int, str]:
        """Delete a user (their faces cascade); the faces deleted, token by id."""
        faces = {
            int(face_id): str(token)
            for face_id, token in self.connection.execute(
                "SELECT id, face_token FROM faces WHERE user_pk = ?", (user_pk,)
            )
        }
        self.connection.execute("DELETE FROM users WHERE id = ?", (user_pk,))
        return faces

    def user_face_embeddings(self, user_pk: int) -> list[tuple[str, NDArray[np.float32]]]:
        """Each face of the user as (face token, stored embedding), by id, from one query."""
        return [
            (str(token), np.frombuffer(blob, dtype=np.float32))
            for token, blob in self.connection.execute(
                "SELECT face_token, embedding FROM faces WHERE user_pk = ? ORDER BY id", (user_pk,)
            )
        ]

    def face_embeddings(
        self, group_pk: int, face_tokens: list[str]
    ) -> dict[str, NDArray[np.float32]]:
        """The embeddings of those of ``face_tokens`` the group holds, by token."""
        found: dict[str, NDArray[np.float32]] = {}
        unique = sorted(set(face_tokens))
        for start in range(0, len(unique), SQL_CHUNK):
            chunk = unique[start : start + SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            for token, blob in self.connection.execute(
                f"SELECT face_token, embedding FROM faces WHERE group_pk = ?"
                f" AND face_token IN ({marks})",
                (group_pk, *chunk),
            ):
                found[str(token)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def count_users(self, group_pks: list[int]) -> int:
        """How many users of the groups have a face (a user whose last face was deleted
        keeps its row but is no search candidate)."""
        # One count per group (a user is in one group): each walks the covering index
        # faces_by_group_user in order, with no temporary B-tree for the DISTINCT.
        total = 0
        for pk in set(group_pks):
            total += self.connection.execute(
                "SELECT COUNT(DISTINCT user_pk) FROM faces WHERE group_pk = ?", (pk,)
            ).fetchone()[0]
        return int(total)

    # ---------------------------------------------------------------- search

    def matches(self, hits: dict[int, float], names: dict[int, str]) -> list[Match]:
        """The best face per user among ``hits`` (face id -> similarity), best first.

        ``names`` maps the searched groups' primary keys to their ids; a hit in no such group
        (deleted meanwhile) is dropped.
        """
        ids = list(hits)
        group_marks = ",".join("?" * len(names))
        rows = []
        for start in range(0, len(ids), SQL_CHUNK):  # a widened search can pass any limit
            chunk = ids[start : start + SQL_CHUNK]
            rows += self.connection.execute(
                "SELECT f.id, f.face_token, f.group_pk, u.user_id, u.user_info"
                " FROM faces f JOIN users u ON u.id = f.user_pk"
                f" WHERE f.id IN ({','.join('?' * len(chunk))}) AND f.group_pk IN ({group_marks})",
                (*chunk, *names.keys()),
            ).fetchall()
        return best_per_user(
            ((hits[int(r[0])], str(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows), names
        )

    # --------------------------------------------------------------- helpers

    def _upsert_user(self, group_pk: int, user_id: str, user_info: str | None) -> int:
        row = self.connection.execute(
            "SELECT id FROM users WHERE group_pk = ? AND user_id = ?", (group_pk, user_id)
        ).fetchone()
        if row is None:
            cursor = self.connection.execute(
                "INSERT INTO users (group_pk, user_id, user_info, created_at) VALUES (?, ?, ?, ?)",
                (group_pk, user_id, user_info or "", time.time()),
            )
            return int(cursor.lastrowid or 0)
        if user_info is not None:
            self.connection.execute(
                "UPDATE users SET user_info = ? WHERE id = ?", (user_info, row[0])
            )
        return int(row[0])

    def _faces_of(self, group_id: str, users: list[tuple[int, str]]) -> dict[int, list[FaceRecord]]:
        rows = []
        for start in range(0, len(users), SQL_CHUNK):  # a page may hold 1000 users
            chunk = [pk for pk, _ in users[start : start + SQL_CHUNK]]
            rows += self.connection.execute(
                "SELECT user_pk, face_token, created_at,"
                " EXISTS (SELECT 1 FROM face_thumbnails t WHERE t.face_pk = faces.id)"
                f" FROM faces WHERE user_pk IN ({','.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            ).fetchall()
        return faces_by_user(group_id, users, rows)
