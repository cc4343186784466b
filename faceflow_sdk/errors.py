"""Every FaceFlow API error code as an exception class.

The gateway answers failures with one envelope,
``{"error": {"code": "NO_FACE", "message": "...", "request_id": "..."}}``; the client raises the
class registered for ``code`` (a :class:`FaceflowError` subclass), so callers can write
``except NoFaceError:``. Unknown codes (a newer server) raise :class:`FaceflowError` itself, and
transport failures (connection refused, timeout) raise :class:`ConnectionFailedError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class FaceflowError(Exception):
    """An error answered by the FaceFlow API (or a failure to reach it).

    ``body``: the whole JSON answer, for the fields some endpoints send beside the envelope
    (``/readyz``'s ``services``); empty when there was none."""

    code: ClassVar[str] = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | None = None,
        request_id: str = "",
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.body: dict[str, Any] = dict(body or {})
        if code is not None:
            self.code = code  # type: ignore[misc]  # an unknown code on the base class

    def __str__(self) -> str:
        where = f" (HTTP {self.status}, request {self.request_id})" if self.request_id else ""
        return f"{self.code}: {self.message}{where}"


class ConnectionFailedError(FaceflowError):
    """The server could not be reached or did not answer in time (no HTTP response)."""

    code = "CONNECTION_FAILED"


class InvalidImageError(FaceflowError):
    """The image is empty or not a readable JPEG, PNG, WebP or BMP."""

    code = "INVALID_IMAGE"


class ImageTooLargeError(FaceflowError):
    """The image is over the byte or pixel limit."""

    code = "IMAGE_TOO_LARGE"


class NoFaceError(FaceflowError):
    """No face was found where one is needed."""

    code = "NO_FACE"


class TooManyFacesError(FaceflowError):
    """The photos of one request hold more faces than the server takes at once (a clustering
    request: 256 by default): send fewer photos per request."""

    code = "TOO_MANY_FACES"


class LowQualityError(FaceflowError):
    """The face is below the requested quality (blur, size, pose, light)."""

    code = "LOW_QUALITY"


class GroupNotFoundError(FaceflowError):
    """No such group for this tenant."""

    code = "GROUP_NOT_FOUND"


class ThumbnailNotFoundError(FaceflowError):
    """The face has no thumbnail (it was enrolled while the tenant's thumbnails were off)."""

    code = "THUMBNAIL_NOT_FOUND"


class UserNotFoundError(FaceflowError):
    """No such user in the group."""

    code = "USER_NOT_FOUND"


class FaceNotFoundError(FaceflowError):
    """No such face token."""

    code = "FACE_NOT_FOUND"


class AlreadyExistsError(FaceflowError):
    """The group (or other resource) exists already."""

    code = "ALREADY_EXISTS"


class UnauthenticatedError(FaceflowError):
    """The API key is missing or not valid."""

    code = "UNAUTHENTICATED"


class RateLimitedError(FaceflowError):
    """Too many requests for this API key."""

    code = "RATE_LIMITED"


class SessionNotFoundError(FaceflowError):
    """No such liveness session (or it was used already)."""

    code = "SESSION_NOT_FOUND"


class SessionAlreadyUsedError(FaceflowError):
    """The liveness session was verified before (sessions are single use)."""

    code = "SESSION_ALREADY_USED"


class SessionExpiredError(FaceflowError):
    """The liveness session expired before it was verified."""

    code = "SESSION_EXPIRED"


class ClusterJobNotFoundError(FaceflowError):
    """No such clustering job for this API key's tenant (or it was deleted)."""

    code = "CLUSTER_JOB_NOT_FOUND"


class InvalidVideoError(FaceflowError):
    """The video is empty, neither mp4 nor webm, or holds no decodable frame."""

    code = "INVALID_VIDEO"


class VideoTooLargeError(FaceflowError):
    """The video has more bytes than the server accepts."""

    code = "VIDEO_TOO_LARGE"


class VideoTooLongError(FaceflowError):
    """The video lasts longer than the server accepts."""

    code = "VIDEO_TOO_LONG"


class VideoJobNotFoundError(FaceflowError):
    """No such video job for this API key's tenant (or it was deleted)."""

    code = "VIDEO_JOB_NOT_FOUND"


class VideoStreamNotFoundError(FaceflowError):
    """No such open stream (unknown, closed, or idle too long)."""

    code = "VIDEO_STREAM_NOT_FOUND"


class VideoStreamBusyError(FaceflowError):
    """Another batch of the stream is being processed: send batches one at a time."""

    code = "VIDEO_STREAM_BUSY"


class FramesOutOfOrderError(FaceflowError):
    """A batch's frames are not after the stream's last frame."""

    code = "FRAMES_OUT_OF_ORDER"


class ServiceUnavailableError(FaceflowError):
    """A model service is not deployed or not reachable."""

    code = "SERVICE_UNAVAILABLE"


class DeadlineExceededError(FaceflowError):
    """A model service did not answer in time."""

    code = "DEADLINE_EXCEEDED"


class InvalidArgumentError(FaceflowError):
    """A parameter is missing or not valid."""

    code = "INVALID_ARGUMENT"


class NotFoundError(FaceflowError):
    """The path or resource does not exist."""

    code = "NOT_FOUND"


class MethodNotAllowedError(FaceflowError):
    """The path exists but not with this HTTP method."""

    code = "METHOD_NOT_ALLOWED"


class InternalError(FaceflowError):
    """The server failed unexpectedly; the request id is in its logs."""

    code = "INTERNAL"


ERROR_CLASSES: dict[str, type[FaceflowError]] = {
    cls.code: cls
    for cls in (
        InvalidImageError,
        ImageTooLargeError,
        NoFaceError,
        TooManyFacesError,
        LowQualityError,
        GroupNotFoundError,
        UserNotFoundError,
        FaceNotFoundError,
        ThumbnailNotFoundError,
        AlreadyExistsError,
        UnauthenticatedError,
        RateLimitedError,
        SessionNotFoundError,
        SessionExpiredError,
        SessionAlreadyUsedError,
        ClusterJobNotFoundError,
        InvalidVideoError,
        VideoTooLargeError,
        VideoTooLongError,
        VideoJobNotFoundError,
        VideoStreamNotFoundError,
        VideoStreamBusyError,
        FramesOutOfOrderError,
        ServiceUnavailableError,
        DeadlineExceededError,
        InvalidArgumentError,
        NotFoundError,
        MethodNotAllowedError,
        InternalError,
    )
}


def error_for(
    status: int,
    code: str,
    message: str,
    request_id: str = "",
    *,
    body: Mapping[str, Any] | None = None,
) -> FaceflowError:
    """The exception for an error envelope: the class registered for code, else the base."""
    cls = ERROR_CLASSES.get(code)
    if cls is None:
        return FaceflowError(message, status=status, code=code, request_id=request_id, body=body)
    return cls(message, status=status, request_id=request_id, body=body)
