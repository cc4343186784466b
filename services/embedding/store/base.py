"""The gallery store interface: groups -> users -> faces of one tenant, and vector search.

Two backends implement ``GalleryStore``: SQLite + FAISS in a data folder (the embedded default)
and PostgreSQL + pgvector (server deployments). ``open_store`` picks one from a URL.
Every method is scoped by tenant: a tenant can never see, search or delete another's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Group:
    """A named gallery of one tenant."""

    group_id: str
    created_at: float
    user_count: int
    face_count: int


@dataclass(frozen=True)
class FaceRecord:
    """One enrolled face, identified by its stable ``face_token``."""

    face_token: str
    group_id: str
    user_id: str
    created_at: float
    has_thumbnail: bool = False


@dataclass(frozen=True)
class User:
    """A person (subject) in a group with the faces enrolled for them."""

    group_id: str
    user_id: str
    user_info: str
    faces: list[FaceRecord]


@dataclass(frozen=True)
class Match:
    """A search hit: the best face of one user and its cosine similarity to the probe."""

    group_id: str
    user_id: str
    user_info: str
    face_token: str
    similarity: float


@runtime_checkable
class GalleryStore(Protocol):
    """What the embedding service needs from a gallery backend (see module docstring)."""

    def create_group(self, tenant: str, group_id: str) -> Group:
        """Create an empty group; ``GroupExistsError`` when the tenant has it already."""
        ...

    def list_groups(self, tenant: str) -> list[Group]:
        """The tenant's groups, ordered by group id."""
        ...

    def delete_group(self, tenant: str, group_id: str) -> None:
        """Delete a group with its users and faces (gone from search at once)."""
        ...

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
        """Enroll a face, creating the user; ``FaceExistsError`` for the same image twice.
        ``thumbnail`` (a small JPEG) is kept with the face and deleted with it."""
        ...

    def face_thumbnail(self, tenant: str, group_id: str, user_id: str, face_token: str) -> bytes:
        """The thumbnail kept with one face of a user; ``GroupNotFoundError``,
        ``UserNotFoundError``, ``FaceNotFoundError``, or ``ThumbnailNotFoundError`` when none."""
        ...

    def face_image(self, tenant: str, group_id: str, face_token: str) -> bytes | None:
        """The raw image kept with a face, when the store was opened with ``store_images``."""
        ...

    def list_users(
        self, tenant: str, group_id: str, offset: int, limit: int
    ) -> tuple[list[User], int]:
        """One page of a group's users (ordered by user id) and the total user count."""
        ...

    def get_user(self, tenant: str, group_id: str, user_id: str) -> User:
        """A user with their faces; ``UserNotFoundError`` when absent."""
        ...

    def delete_user(self, tenant: str, group_id: str, user_id: str) -> list[str]:
        """Delete a user with their faces (gone from search at once); the tokens of the faces
        deleted, read in the same transaction (a face enrolled just before is among them)."""
        ...

    def delete_face(self, tenant: str, group_id: str, user_id: str, face_token: str) -> None:
        """Delete one face of a user; ``FaceNotFoundError`` when it is not theirs."""
        ...

    def user_face_embeddings(
        self, tenant: str, group_id: str, user_id: str
    ) -> list[tuple[str, NDArray[np.float32]]]:
        """Each face of the user as (face token, stored embedding), oldest first, read in one
        step so the pairs always belong together; ``UserNotFoundError`` when absent."""
        ...

    def face_embeddings(
        self, tenant: str, group_id: str, face_tokens: list[str]
    ) -> NDArray[np.float32]:
        """The stored embeddings of faces of a group, in the order of ``face_tokens``;
        ``GroupNotFoundError``, or ``FaceNotFoundError`` naming a token the group lacks."""
        ...

    def search(
        self, tenant: str, group_ids: list[str], embedding: NDArray[np.float32], top_k: int
    ) -> list[Match]:
        """Best face per user over the groups, most similar first, at most ``top_k`` users."""
        ...

    def count_users(self, tenant: str, group_ids: list[str]) -> int:
        """The users of the groups with at least one face: the candidates a search over them
        compares against (a user whose last face was deleted is not one)."""
        ...

    def check_consistency(self) -> None:
        """Raise ``StoreInconsistentError`` when the index and the database disagree."""
        ...

    def claim_embedder(self, key: str) -> None:
        """Record the embedder (``name:version``) whose vectors fill this store on first use (a
        store from before the record adopts it); ``EmbedderMismatchError`` for another one."""
        ...

    def close(self) -> None:
        """Persist what needs persisting and release the store."""
        ...


def open_store(url: str, dimension: int, **options: Any) -> GalleryStore:
    """Open the backend a URL names.

    ``sqlite:///path/to/dir`` (or ``sqlite://relative/dir``) opens SQLite + FAISS in that folder;
    ``postgresql://...`` opens PostgreSQL + pgvector. ``options`` go to the backend's constructor.
    """
    if url.startswith("sqlite://"):
        from services.embedding.store.sqlite_faiss import SqliteFaissStore

        folder = url.removeprefix("sqlite://")
        if not folder:
            raise ValueError("sqlite store URL needs a folder: sqlite:///path/to/dir")
        return SqliteFaissStore(folder, dimension, **options)
    if url.startswith(("postgresql://", "postgres://")):
        from services.embedding.store.pgvector import PgvectorStore

        return PgvectorStore(url, dimension, **options)
    raise ValueError(f"unsupported gallery store URL scheme: {url.split(':', 1)[0]!r}")
