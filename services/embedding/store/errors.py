"""Errors of the gallery store, each with the stable public code the gateway returns."""

from __future__ import annotations

from services.shared.errors import AlreadyExistsError, FaceflowError, NotFoundError


class GroupNotFoundError(NotFoundError):
    """No group of that id exists for the tenant."""

    code = "GROUP_NOT_FOUND"


class UserNotFoundError(NotFoundError):
    """No user of that id exists in the group."""

    code = "USER_NOT_FOUND"


class FaceNotFoundError(NotFoundError):
    """No face of that token belongs to the user."""

    code = "FACE_NOT_FOUND"


class ThumbnailNotFoundError(NotFoundError):
    """The face exists but no thumbnail was kept with it (the tenant's setting was off)."""

    code = "THUMBNAIL_NOT_FOUND"


class GroupExistsError(AlreadyExistsError):
    """The tenant has a group of that id already."""

    code = "ALREADY_EXISTS"


class FaceExistsError(AlreadyExistsError):
    """The same image (by sha256) is enrolled for that user already: ``existing_face_token``."""

    code = "ALREADY_EXISTS"

    def __init__(self, message: str, existing_face_token: str, existing_created_at: float) -> None:
        super().__init__(message)
        self.existing_face_token = existing_face_token
        self.existing_created_at = existing_created_at


class StoreInconsistentError(FaceflowError):
    """The vector index and the database disagree (a bug or a damaged index file)."""

    code = "INTERNAL"


class StoreLockedError(FaceflowError):
    """Another process has the store's data folder open (one writer process per folder)."""

    code = "INTERNAL"


class DimensionMismatchError(ValueError):
    """The store holds embeddings of another length than the served embedder's: it was filled
    by another embedder (a start-up error; the vectors of two embedders cannot be compared)."""

    def __init__(self, stored: int, served: int) -> None:
        super().__init__(f"gallery stores {stored}-d embeddings, not {served}-d")
        self.stored = stored
        self.served = served


class EmbedderMismatchError(ValueError):
    """The store was filled by another embedder (``name:version``) than the one served."""

    def __init__(self, stored: str, served: str) -> None:
        super().__init__(f"gallery holds {stored} embeddings, not {served}")
        self.stored = stored
        self.served = served
