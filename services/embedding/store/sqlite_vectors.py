"""What the FAISS side of the embedded store reads from SQLite, and the change log it trims.

The per-group indexes are derived data: ``index_sync.py`` rebuilds them from the stored
embeddings, catches a saved index up from the change log (``face_changes``, appended by triggers
in the same transaction as each face insert or delete) and proves index and database agree.
This module is the SQL for that; it never writes a gallery row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.sqlite_schema import (
    current_sequence,
    read_meta,
    transaction,
    write_meta,
)

IdsAndVectors = tuple[NDArray[np.int64], NDArray[np.float32]]
"""Face ids and their unit embeddings, shape (n,) and (n, dimension)."""

CHUNK = 500
"""Face ids per ``IN (...)`` query (SQLite limits the number of parameters)."""

TRIMMED_KEY = "log_trimmed_through"
"""Meta key: the highest change-log sequence deleted after a save."""


class VectorRows:
    """Face ids, embeddings and change-log rows of one gallery database (see module docstring)."""

    def __init__(self, connection: sqlite3.Connection, dimension: int) -> None:
        self.connection = connection
        self.dimension = dimension

    def group_pks(self) -> list[int]:
        """Every group's primary key, ascending."""
        return [int(r[0]) for r in self.connection.execute("SELECT id FROM groups ORDER BY id")]

    def face_ids(self, group_pk: int) -> set[int]:
        """The ids of a group's faces."""
        return {
            int(r[0])
            for r in self.connection.execute("SELECT id FROM faces WHERE group_pk = ?", (group_pk,))
        }

    def embedding(self, face_id: int) -> NDArray[np.float32]:
        """The stored embedding of one face."""
        blob = self.connection.execute(
            "SELECT embedding FROM faces WHERE id = ?", (face_id,)
        ).fetchone()[0]
        return np.frombuffer(blob, dtype=np.float32)

    def embeddings(self, face_ids: list[int]) -> IdsAndVectors:
        """The embeddings of these faces (those that still exist)."""
        ids: list[int] = []
        blobs: list[bytes] = []
        for start in range(0, len(face_ids), CHUNK):
            chunk = face_ids[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            for face_id, blob in self.connection.execute(
                f"SELECT id, embedding FROM faces WHERE id IN ({marks})", chunk
            ):
                ids.append(int(face_id))
                blobs.append(blob)
        return self._stack(ids, blobs)

    def group_embeddings(self, group_pk: int) -> IdsAndVectors:
        """Every face of a group with its embedding, by id."""
        ids: list[int] = []
        blobs: list[bytes] = []
        for face_id, blob in self.connection.execute(
            "SELECT id, embedding FROM faces WHERE group_pk = ? ORDER BY id", (group_pk,)
        ):
            ids.append(int(face_id))
            blobs.append(blob)
        return self._stack(ids, blobs)

    def changes_since(self, seq: int) -> Iterator[tuple[int, int, int]]:
        """Change-log rows after ``seq``, in order: (face id, group pk, +1 added or -1 deleted)."""
        for face_pk, group_pk, op in self.connection.execute(
            "SELECT face_pk, group_pk, op FROM face_changes WHERE seq > ? ORDER BY seq", (seq,)
        ):
            yield int(face_pk), int(group_pk), int(op)

    def sequence(self) -> int:
        """The highest change-log sequence handed out so far."""
        return current_sequence(self.connection)

    def trimmed_through(self) -> int:
        """The highest change-log sequence deleted by ``trim_log`` (0 when never trimmed)."""
        return int(read_meta(self.connection, TRIMMED_KEY) or 0)

    def trim_log(self, seq: int) -> None:
        """Delete the change-log rows up to ``seq`` (a durable saved index covers them)."""
        with transaction(self.connection):
            self.connection.execute("DELETE FROM face_changes WHERE seq <= ?", (seq,))
            write_meta(self.connection, TRIMMED_KEY, str(seq))

    def no_vectors(self) -> NDArray[np.float32]:
        """An empty (0, dimension) array of embeddings."""
        return np.empty((0, self.dimension), dtype=np.float32)

    def _stack(self, ids: list[int], blobs: list[bytes]) -> IdsAndVectors:
        if not ids:
            return np.empty(0, np.int64), self.no_vectors()
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
        return np.asarray(ids, dtype=np.int64), vectors
