"""The gallery store: groups -> users -> faces per tenant, with vector search.

``open_store(url, dimension)`` returns a ``GalleryStore``: SQLite + FAISS for ``sqlite://`` URLs
(embedded default) or PostgreSQL + pgvector for ``postgresql://`` URLs.
"""

from services.embedding.store.base import (
    FaceRecord,
    GalleryStore,
    Group,
    Match,
    User,
    open_store,
)
from services.embedding.store.errors import (
    FaceExistsError,
    FaceNotFoundError,
    GroupExistsError,
    GroupNotFoundError,
    StoreInconsistentError,
    StoreLockedError,
    ThumbnailNotFoundError,
    UserNotFoundError,
)

__all__ = [
    "FaceExistsError",
    "FaceNotFoundError",
    "FaceRecord",
    "GalleryStore",
    "Group",
    "GroupExistsError",
    "GroupNotFoundError",
    "Match",
    "StoreInconsistentError",
    "StoreLockedError",
    "ThumbnailNotFoundError",
    "User",
    "UserNotFoundError",
    "open_store",
]
