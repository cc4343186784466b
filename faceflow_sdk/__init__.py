"""FaceFlow Python SDK: a typed sync client for the HTTP API v1 and the ``faceflow`` CLI.

Every API error code is an exception class (``NoFaceError``, ``GroupNotFoundError``, ...), all
subclasses of :class:`FaceflowError`.
"""

from faceflow_sdk.client import FaceflowClient, ImageInput
from faceflow_sdk.enroll_folder import EnrollSummary, enroll_folder
from faceflow_sdk.errors import (
    ERROR_CLASSES,
    AlreadyExistsError,
    ConnectionFailedError,
    DeadlineExceededError,
    FaceflowError,
    FaceNotFoundError,
    GroupNotFoundError,
    ImageTooLargeError,
    InternalError,
    InvalidArgumentError,
    InvalidImageError,
    LowQualityError,
    NoFaceError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    SessionAlreadyUsedError,
    SessionExpiredError,
    SessionNotFoundError,
    TooManyFacesError,
    UnauthenticatedError,
    UserNotFoundError,
)

__all__ = [
    "ERROR_CLASSES",
    "AlreadyExistsError",
    "ConnectionFailedError",
    "DeadlineExceededError",
    "EnrollSummary",
    "FaceNotFoundError",
    "FaceflowClient",
    "FaceflowError",
    "GroupNotFoundError",
    "ImageInput",
    "ImageTooLargeError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidImageError",
    "LowQualityError",
    "NoFaceError",
    "NotFoundError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "SessionAlreadyUsedError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "TooManyFacesError",
    "UnauthenticatedError",
    "UserNotFoundError",
    "enroll_folder",
]
__version__ = "0.1.0"
