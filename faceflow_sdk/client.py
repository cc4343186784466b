"""The synchronous FaceFlow client: one method per endpoint of the HTTP API v1.

>>> from faceflow_sdk import FaceflowClient, NoFaceError
>>> with FaceflowClient("http://127.0.0.1:8000", api_key="ff_...") as client:
...     faces = client.detect("photo.jpg", fields=["age", "gender"])["faces"]

Images may be a path, bytes or a binary file object. Failures raise the
:mod:`faceflow_sdk.errors` class of the error code (``NoFaceError``, ``GroupNotFoundError``...).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeAlias, cast
from urllib.parse import quote

import httpx

from faceflow_sdk.config import resolve_api_key, resolve_url
from faceflow_sdk.errors import (
    ConnectionFailedError,
    DeadlineExceededError,
    FaceflowError,
    ImageTooLargeError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    error_for,
)
from faceflow_sdk.types import (
    ClusterJob,
    DetectResult,
    EnrollResult,
    GroupList,
    LivenessCheck,
    LivenessSession,
    LivenessVerdict,
    SearchResult,
    User,
    UserList,
    VerifyResult,
    VideoJob,
    VideoResult,
    VideoStream,
    VideoStreamBatch,
)

ImageInput: TypeAlias = str | os.PathLike[str] | bytes | IO[bytes]
NamedImage: TypeAlias = tuple[str, bytes]
"""A photo under a name of the caller's choosing (``faceflow cluster`` sends relative paths)."""
FileTuple: TypeAlias = tuple[str, tuple[str, bytes, str]]

API_PREFIX = "/api/v1"
READ = frozenset({429, 503})
"""Retried answers of a call that changes nothing: rate limited (429), a service down or
restarting (503)."""
WRITE = frozenset({429})
"""Retried answers of a call that changes state: only 429, refused before any work was done. A
503 may come after the service committed the write, and a resent write is a new request
(ALREADY_EXISTS, a second job, faces added twice, SESSION_ALREADY_USED), so it is raised."""
PROBE: frozenset[int] = frozenset()
"""Never retried: the answer now is the point (``readyz``)."""
RETRY_STATUSES: dict[str, frozenset[int]] = {
    # reads: GETs, and the POSTs that only compute (checked against gateway/api/routes)
    "healthz": READ,
    "detect": READ,
    "verify": READ,
    "verify_user": READ,
    "search": READ,
    "liveness_check": READ,
    "list_groups": READ,
    "list_users": READ,
    "get_user": READ,
    "get_cluster_job": READ,
    "get_video_job": READ,
    # writes
    "create_group": WRITE,
    "delete_group": WRITE,
    "enroll": WRITE,
    "delete_user": WRITE,
    "delete_face": WRITE,
    "create_cluster_job": WRITE,
    "add_cluster_photos": WRITE,
    "delete_cluster_job": WRITE,
    "recognize_video": WRITE,  # a long video (or mode=async, a webhook) creates a job
    "delete_video_job": WRITE,
    "create_video_stream": WRITE,
    "send_video_frames": WRITE,
    "close_video_stream": WRITE,
    "create_liveness_session": WRITE,
    "verify_liveness_session": WRITE,  # sessions are single use
    "readyz": PROBE,
}
"""Per client method (its name is the key), the HTTP statuses that are retried."""
QUALITY_LEVELS = ("NONE", "LOW", "NORMAL", "HIGH")
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
}


def read_image(image: ImageInput, default_name: str = "image.jpg") -> tuple[str, bytes, str]:
    """(file name, bytes, content type) of a path, bytes or binary file object."""
    if isinstance(image, bytes):
        name, data = default_name, image
    elif isinstance(image, str | os.PathLike):
        path = Path(image)
        name, data = path.name, path.read_bytes()
    else:
        name = Path(str(getattr(image, "name", default_name))).name
        data = image.read()
    content_type = CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
    return name, data, content_type


def _params(**values: object) -> dict[str, str]:
    """Form/query parameters without the unset ones, as strings."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(item) for item in value)
        else:
            out[key] = str(value)
    return out


DEFAULT_TIMEOUT_SECONDS = 120.0
"""Per request: over the gateway's longest deadline (60 s for a liveness verification or a
clustering request, after the upload), so the client does not give up on an answer that is
coming (and retry a session that is by then used)."""


class FaceflowClient:
    """A typed client for one FaceFlow server and API key (a tenant)."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retries: int = 3,
        max_backoff: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``retries``: how many times a 429 answer (or a 503 answer to a call that changes
        nothing, see :data:`RETRY_STATUSES`) is retried, waiting as its ``Retry-After`` says,
        else 0.5 s, 1 s, 2 s, ... (at most ``max_backoff``); then its error is raised
        (``RateLimitedError``, ``ServiceUnavailableError``). A ``Retry-After`` longer than
        ``max_backoff`` is not waited for: the error is raised at once. ``timeout``: seconds for
        each request."""
        if retries < 0 or max_backoff < 0:
            raise ValueError("retries and max_backoff must not be negative")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout}")
        self.retries = retries
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.url = checked_url(resolve_url(url))
        self.api_key = resolve_api_key(api_key)
        headers = {"x-api-key": self.api_key} if self.api_key else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> FaceflowClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- transport ---------------------------------------------------------------------------

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[FileTuple] | None = None,
        json: Mapping[str, Any] | None = None,
        prefix: str = API_PREFIX,
    ) -> dict[str, Any]:
        """``operation``: the calling method's name, its key in :data:`RETRY_STATUSES`."""
        retried = RETRY_STATUSES[operation]
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(
                    method, prefix + path, params=params, data=data, files=files, json=json
                )
            except httpx.TimeoutException as error:
                raise ConnectionFailedError(
                    f"{self.url} did not answer in time: {error}"
                ) from error
            except httpx.TransportError as error:
                raise ConnectionFailedError(f"cannot reach {self.url}: {error}") from error
            except httpx.HTTPError as error:  # e.g. a body its Content-Encoding cannot decode
                raise FaceflowError(
                    f"unreadable answer from {self.url}: {error}", code="BAD_RESPONSE"
                ) from error
            if response.status_code not in retried or attempt == self.retries:
                break
            wait = self._backoff(response, attempt)
            if wait is None:  # the server asks for a longer wait than we keep a call waiting
                break
            self._sleep(wait)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success:
            if not isinstance(body, dict):
                raise FaceflowError(
                    f"the server answered HTTP {response.status_code} without a JSON object",
                    status=response.status_code,
                    code="BAD_RESPONSE",
                )
            return body
        envelope = body.get("error") if isinstance(body, dict) else None
        if isinstance(envelope, dict) and "code" in envelope:
            raise error_for(
                response.status_code,
                str(envelope["code"]),
                str(envelope.get("message", "")),
                str(envelope.get("request_id", "")),
                body=body,
            )
        raise error_without_envelope(response)

    def _backoff(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying: the server's ``Retry-After``, else exponential (at
        most ``max_backoff``); None when ``Retry-After`` asks for longer than ``max_backoff``
        (e.g. a tenant at its clustering job limit: retrying sooner would be refused again)."""
        after = str(response.headers.get("retry-after", ""))
        if after.isascii() and after.isdigit():
            return float(after) if float(after) <= self.max_backoff else None
        return min(0.5 * float(2**attempt), self.max_backoff)

    # -- operations --------------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        """``GET /healthz``: the gateway process is up."""
        return self._request("healthz", "GET", "/healthz", prefix="")

    def readyz(self) -> dict[str, Any]:
        """``GET /readyz``: every model service is reachable and SERVING (``services``: each
        one's gRPC health status). Not ready raises ``ServiceUnavailableError`` at once (never
        retried); its ``body["services"]`` says which service is not SERVING."""
        return self._request("readyz", "GET", "/readyz", prefix="")

    # -- detection ---------------------------------------------------------------------------

    def detect(
        self,
        image: ImageInput,
        *,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        fields: str | Iterable[str] = (),
    ) -> DetectResult:
        """Faces (box, 5 landmarks, score), largest first; ``fields``: mesh, age, gender,
        emotion, pose, quality."""
        form = _params(
            max_faces=max_faces, min_face_size=min_face_size, fields=_names(fields) or None
        )
        body = self._request(
            "detect", "POST", "/detect", data=form, files=[("image", read_image(image))]
        )
        return cast(DetectResult, body)

    # -- verification ------------------------------------------------------------------------

    def verify(self, image_a: ImageInput, image_b: ImageInput) -> VerifyResult:
        """1:1 — are the main faces of two photos the same person?"""
        files = [
            ("image_a", read_image(image_a, "a.jpg")),
            ("image_b", read_image(image_b, "b.jpg")),
        ]
        return cast(VerifyResult, self._request("verify", "POST", "/verify", files=files))

    def verify_user(self, image: ImageInput, group_id: str, user_id: str) -> VerifyResult:
        """1:1 against an enrolled user's faces."""
        form = _params(group_id=group_id, user_id=user_id)
        body = self._request(
            "verify_user", "POST", "/verify", data=form, files=[("image", read_image(image))]
        )
        return cast(VerifyResult, body)

    # -- gallery -----------------------------------------------------------------------------

    def create_group(self, group_id: str) -> dict[str, Any]:
        """``POST /groups``."""
        return self._request("create_group", "POST", "/groups", json={"group_id": group_id})

    def list_groups(self) -> GroupList:
        """``GET /groups``."""
        return cast(GroupList, self._request("list_groups", "GET", "/groups"))

    def delete_group(self, group_id: str) -> dict[str, Any]:
        """``DELETE /groups/{group_id}`` with its users and faces."""
        return self._request("delete_group", "DELETE", f"/groups/{_segment(group_id)}")

    def enroll(
        self,
        group_id: str,
        user_id: str,
        image: ImageInput,
        *,
        user_info: str | None = None,
        quality_control: str | None = None,
    ) -> EnrollResult:
        """Enroll the photo's face for user_id (the user is created on first use)."""
        if quality_control is not None and quality_control.upper() not in QUALITY_LEVELS:
            raise ValueError(f"quality_control must be one of {', '.join(QUALITY_LEVELS)}")
        form = _params(
            user_info=user_info,
            quality_control=quality_control.upper() if quality_control else None,
        )
        body = self._request(
            "enroll",
            "POST",
            f"/groups/{_segment(group_id)}/users/{_segment(user_id)}/faces",
            data=form,
            files=[("image", read_image(image))],
        )
        return cast(EnrollResult, body)

    def list_users(self, group_id: str, *, offset: int = 0, limit: int = 100) -> UserList:
        """``GET /groups/{group_id}/users``, one page."""
        return cast(
            UserList,
            self._request(
                "list_users",
                "GET",
                f"/groups/{_segment(group_id)}/users",
                params=_params(offset=offset, limit=limit),
            ),
        )

    def get_user(self, group_id: str, user_id: str) -> User:
        """A user and its faces."""
        path = f"/groups/{_segment(group_id)}/users/{_segment(user_id)}"
        return cast(User, self._request("get_user", "GET", path))

    def delete_user(self, group_id: str, user_id: str) -> dict[str, Any]:
        """Remove a user and its faces."""
        return self._request(
            "delete_user", "DELETE", f"/groups/{_segment(group_id)}/users/{_segment(user_id)}"
        )

    def delete_face(self, group_id: str, user_id: str, face_token: str) -> dict[str, Any]:
        """Remove one face of a user."""
        return self._request(
            "delete_face",
            "DELETE",
            f"/groups/{_segment(group_id)}/users/{_segment(user_id)}/faces/{_segment(face_token)}",
        )

    def search(
        self,
        image: ImageInput,
        group_ids: str | Sequence[str],
        *,
        top_k: int | None = None,
        threshold: float | None = None,
        fpir: float | None = None,
    ) -> SearchResult:
        """1:N for every face in the photo; matches above the threshold only, best first.

        The threshold follows from ``fpir`` (the share of strangers that may match someone;
        the server's default 1e-3) and the number of users searched, unless ``threshold``
        (a score) is given.
        """
        groups = _names(group_ids)
        form = _params(group_ids=groups, top_k=top_k, threshold=threshold, fpir=fpir)
        body = self._request(
            "search", "POST", "/search", data=form, files=[("image", read_image(image))]
        )
        return cast(SearchResult, body)

    # -- clustering --------------------------------------------------------------------------

    def create_cluster_job(
        self,
        photos: Sequence[ImageInput | NamedImage] = (),
        *,
        group_id: str | None = None,
        face_tokens: Sequence[str] = (),
        far: float | None = None,
        min_cluster_size: int | None = None,
    ) -> ClusterJob:
        """Start grouping the faces of ``photos`` (every face of each) into people, or the
        enrolled ``face_tokens`` of ``group_id``; the job runs on the server (poll
        :meth:`get_cluster_job`). ``far``: the per-pair false-accept rate two faces must pass
        to be linked (server default 1e-5); ``min_cluster_size``: smaller clusters are left
        unassigned (default 2)."""
        options = {"far": far, "min_cluster_size": min_cluster_size}
        body = self._send_faces(
            "create_cluster_job", "/clusters", photos, group_id, face_tokens, options
        )
        return cast(ClusterJob, body)

    def add_cluster_photos(
        self,
        job_id: str,
        photos: Sequence[ImageInput | NamedImage] = (),
        *,
        group_id: str | None = None,
        face_tokens: Sequence[str] = (),
    ) -> ClusterJob:
        """Add photos (or enrolled faces) to a job: their faces join the clusters they match
        or form new ones; faces clustered before keep their cluster."""
        path = f"/clusters/{_segment(job_id)}/photos"
        body = self._send_faces("add_cluster_photos", path, photos, group_id, face_tokens, {})
        return cast(ClusterJob, body)

    def get_cluster_job(
        self,
        job_id: str,
        *,
        offset: int = 0,
        limit: int = 100,
        unassigned_offset: int = 0,
        unassigned_limit: int = 100,
    ) -> ClusterJob:
        """A job's status and progress with one page of clusters (largest first) and one
        page of its unassigned faces."""
        params = _params(
            offset=offset,
            limit=limit,
            unassigned_offset=unassigned_offset,
            unassigned_limit=unassigned_limit,
        )
        body = self._request(
            "get_cluster_job", "GET", f"/clusters/{_segment(job_id)}", params=params
        )
        return cast(ClusterJob, body)

    def delete_cluster_job(self, job_id: str) -> dict[str, Any]:
        """Delete a job with its faces and result."""
        return self._request("delete_cluster_job", "DELETE", f"/clusters/{_segment(job_id)}")

    def _send_faces(
        self,
        operation: str,
        path: str,
        photos: Sequence[ImageInput | NamedImage],
        group_id: str | None,
        face_tokens: Sequence[str],
        options: dict[str, float | int | None],
    ) -> dict[str, Any]:
        """Photos as multipart files; enrolled faces as JSON."""
        if bool(photos) == bool(group_id or face_tokens):
            raise ValueError("give either photos or group_id with face_tokens")
        given = {key: value for key, value in options.items() if value is not None}
        if not photos:
            body = {"group_id": group_id, "face_tokens": list(face_tokens), **given}
            return self._request(operation, "POST", path, json=body)
        files = [("photos", _named(photo, f"photo{i:04d}.jpg")) for i, photo in enumerate(photos)]
        return self._request(operation, "POST", path, data=_params(**given), files=files)

    # -- video -------------------------------------------------------------------------------

    def recognize_video(
        self,
        video: ImageInput,
        group_ids: str | Sequence[str],
        *,
        fps: float | None = None,
        threshold: float | None = None,
        fpir: float | None = None,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        mode: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> VideoResult | VideoJob:
        """Who appears in an mp4/webm video: one event per track (a person's appearance).

        A short video is answered at once (a :class:`VideoResult`, ``"events"``); a long one,
        ``mode="async"`` or a ``webhook_url`` gives a :class:`VideoJob` (``"job_id"``): poll
        :meth:`get_video_job` or :meth:`wait_video_job`. ``fps``: frames analysed per second.
        """
        form = _params(
            group_ids=_names(group_ids),
            fps=fps,
            threshold=threshold,
            fpir=fpir,
            max_faces=max_faces,
            min_face_size=min_face_size,
            mode=mode,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
        )
        files = [("video", read_image(video, "video.mp4"))]
        body = self._request("recognize_video", "POST", "/videos/recognize", data=form, files=files)
        if "job_id" in body:
            return cast(VideoJob, body)
        return cast(VideoResult, body)

    def get_video_job(self, job_id: str) -> VideoJob:
        """A video job's status, progress, events so far and webhook deliveries."""
        return cast(
            VideoJob, self._request("get_video_job", "GET", f"/videos/jobs/{_segment(job_id)}")
        )

    def wait_video_job(
        self, job_id: str, *, poll_seconds: float = 1.0, timeout: float | None = None
    ) -> VideoJob:
        """Poll a video job until it is completed or failed (``TimeoutError`` past
        ``timeout`` seconds)."""
        started = time.monotonic()
        while True:
            job = self.get_video_job(job_id)
            if job["status"] in ("completed", "failed"):
                return job
            if timeout is not None and time.monotonic() - started > timeout:
                raise TimeoutError(f"video job {job_id} is still {job['status']}")
            self._sleep(poll_seconds)

    def delete_video_job(self, job_id: str) -> dict[str, Any]:
        """Stop a video job and delete it with its events."""
        return self._request("delete_video_job", "DELETE", f"/videos/jobs/{_segment(job_id)}")

    def create_video_stream(
        self,
        group_ids: str | Sequence[str],
        *,
        fps: float | None = None,
        threshold: float | None = None,
        fpir: float | None = None,
        max_faces: int | None = None,
        min_face_size: int | None = None,
    ) -> VideoStream:
        """Open a stream for a live source: then :meth:`send_video_frames`, then
        :meth:`close_video_stream`. ``fps``: the rate the frames are taken at."""
        options = {
            "group_ids": _names(group_ids),
            "fps": fps,
            "threshold": threshold,
            "fpir": fpir,
            "max_faces": max_faces,
            "min_face_size": min_face_size,
        }
        body = {key: value for key, value in options.items() if value is not None}
        return cast(
            VideoStream, self._request("create_video_stream", "POST", "/videos/streams", json=body)
        )

    def send_video_frames(
        self, stream_id: str, frames: Sequence[ImageInput], frame_times_ms: Sequence[int]
    ) -> VideoStreamBatch:
        """One batch of a stream's frames (JPEG/PNG, in order, with their capture times in
        ms from the stream's start); the events of the tracks that ended."""
        files = [
            ("frames", read_image(frame, f"frame{i:03d}.jpg")) for i, frame in enumerate(frames)
        ]
        form = _params(frame_times_ms=list(frame_times_ms))
        path = f"/videos/streams/{_segment(stream_id)}/frames"
        return cast(
            VideoStreamBatch,
            self._request("send_video_frames", "POST", path, data=form, files=files),
        )

    def close_video_stream(self, stream_id: str) -> VideoStreamBatch:
        """Close a stream: the tracks still open end, and their events come back."""
        path = f"/videos/streams/{_segment(stream_id)}/close"
        return cast(VideoStreamBatch, self._request("close_video_stream", "POST", path))

    # -- liveness ----------------------------------------------------------------------------

    def liveness_check(self, image: ImageInput) -> LivenessCheck:
        """Passive anti-spoofing on one photo."""
        body = self._request(
            "liveness_check", "POST", "/liveness/check", files=[("image", read_image(image))]
        )
        return cast(LivenessCheck, body)

    def create_liveness_session(
        self, *, action_count: int | None = None, ttl_seconds: int | None = None
    ) -> LivenessSession:
        """Start an action challenge: the actions the user must perform, in order."""
        options = {"action_count": action_count, "ttl_seconds": ttl_seconds}
        body = {key: value for key, value in options.items() if value is not None}
        return cast(
            LivenessSession,
            self._request("create_liveness_session", "POST", "/liveness/sessions", json=body),
        )

    def verify_liveness_session(
        self,
        session_id: str,
        *,
        frames: Sequence[ImageInput] = (),
        video: ImageInput | None = None,
        frame_times_ms: Sequence[int] | None = None,
        frame_interval_ms: int | None = None,
    ) -> LivenessVerdict:
        """Send the recorded frames in capture order (or a video); sessions are single use.

        ``frame_times_ms`` (capture times) or ``frame_interval_ms`` tell the server the timing.
        """
        if bool(frames) == (video is not None):
            raise ValueError("give either frames or video")
        if video is not None:
            files = [("video", read_image(video, "video.mp4"))]
        else:
            files = [
                ("frames", read_image(frame, f"frame{i:03d}.jpg")) for i, frame in enumerate(frames)
            ]
        form = _params(
            frame_times_ms=list(frame_times_ms) if frame_times_ms else None,
            frame_interval_ms=frame_interval_ms,
        )
        path = f"/liveness/sessions/{_segment(session_id)}/verify"
        body = self._request("verify_liveness_session", "POST", path, data=form, files=files)
        return cast(LivenessVerdict, body)


def _named(photo: ImageInput | NamedImage, default_name: str) -> tuple[str, bytes, str]:
    """(file name, bytes, content type) of a photo, keeping a name the caller chose."""
    if isinstance(photo, tuple):
        name, data = photo
        content_type = CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
        return name, data, content_type
    return read_image(photo, default_name)


def _names(values: str | Iterable[str]) -> list[str]:
    """A list of ids or field names; one string is one name (``"staff"``, not s, t, a, f, f)."""
    return [values] if isinstance(values, str) else list(values)


def _segment(value: str) -> str:
    """A path segment, percent-encoded (ids may hold spaces or non-ASCII letters). An id of
    dots only is refused: as a path segment ``..`` means "the parent" and HTTP clients rewrite
    it (``delete_user("g", "..")`` would send ``DELETE /groups/g``); the server refuses such
    ids too."""
    if not value:
        raise ValueError("an id must not be empty")
    if not value.strip("."):
        raise ValueError(f"an id must not be only dots, got {value!r}")
    return quote(value, safe="")


def checked_url(url: str) -> str:
    """The server URL, or ValueError unless it is an http(s) URL with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise ValueError(f"the server URL {url!r} is not a valid URL: {error}") from error
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"the server URL must look like http://host:port, not {url!r}")
    return url


STATUS_ERRORS: dict[int, type[FaceflowError]] = {
    401: UnauthenticatedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    413: ImageTooLargeError,
    429: RateLimitedError,
    500: InternalError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: DeadlineExceededError,
}
"""The error class of an answer without FaceFlow's error envelope (a proxy's page), by status."""


def error_without_envelope(response: httpx.Response) -> FaceflowError:
    """The error for an answer without an error envelope: a proxy in front of the gateway (nginx
    answering 413 for a body over its limit, 502 while the gateway restarts) sends HTML. Its
    class follows the status, so ``except ServiceUnavailableError`` still works; the message is
    one line (the page's title or first text, tags stripped)."""
    status = response.status_code
    text = re.sub(r"<[^>]*>", " ", response.text)
    summary = " ".join(text.split())[:120] or response.reason_phrase
    message = f"HTTP {status} without a FaceFlow error body (a proxy?): {summary}"
    cls = STATUS_ERRORS.get(status)
    if cls is None:
        return FaceflowError(message, status=status, code=f"HTTP_{status}")
    return cls(message, status=status)
