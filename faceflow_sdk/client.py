"""The synchronous FaceFlow client: one method per endpoint of the HTTP API v1.

>>> from faceflow_sdk import FaceflowClient, NoFaceError
>>> with FaceflowClient("http://127.0.0.1:8000", api_key="ff_...") as client:
...     faces = client.detect("photo.jpg", fields=["age", "gender"])["faces"]

Images may be a path, bytes or a binary file object. Failures raise the
:mod:`faceflow_sdk.errors` class of the error code (``NoFaceError``, ``GroupNotFoundError``...).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeAlias, cast
from urllib.parse import quote

import httpx

from faceflow_sdk.config import resolve_api_key, resolve_url
from faceflow_sdk.errors import ConnectionFailedError, FaceflowError, error_for
from faceflow_sdk.types import (
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
)

ImageInput: TypeAlias = str | os.PathLike[str] | bytes | IO[bytes]
FileTuple: TypeAlias = tuple[str, tuple[str, bytes, str]]

API_PREFIX = "/api/v1"
RETRY_STATUSES = frozenset({429, 503})
"""Answers worth waiting for: rate limited or busy (429), a service down or restarting (503)."""
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


class FaceflowClient:
    """A typed client for one FaceFlow server and API key (a tenant)."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        max_backoff: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``retries``: how many times a 429 or 503 answer is retried, waiting as its
        ``Retry-After`` says, else 0.5 s, 1 s, 2 s, ... (at most ``max_backoff``); then its
        error is raised (``RateLimitedError``, ``ServiceUnavailableError``). ``timeout``: seconds
        for each request."""
        if retries < 0 or max_backoff < 0:
            raise ValueError("retries and max_backoff must not be negative")
        self.retries = retries
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.url = resolve_url(url)
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
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[FileTuple] | None = None,
        json: Mapping[str, Any] | None = None,
        prefix: str = API_PREFIX,
    ) -> dict[str, Any]:
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
            if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                break
            self._sleep(self._backoff(response, attempt))
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
            )
        raise FaceflowError(
            f"HTTP {response.status_code}: {response.text[:200]}",
            status=response.status_code,
            code=f"HTTP_{response.status_code}",
        )

    def _backoff(self, response: httpx.Response, attempt: int) -> float:
        """Seconds to wait before retrying: the server's ``Retry-After``, else exponential."""
        after = response.headers.get("retry-after", "")
        wait = float(after) if after.isdigit() else 0.5 * 2**attempt
        return min(wait, self.max_backoff)

    # -- operations --------------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        """``GET /healthz``: the gateway process is up."""
        return self._request("GET", "/healthz", prefix="")

    def readyz(self) -> dict[str, Any]:
        """``GET /readyz``: every model service is reachable and SERVING."""
        return self._request("GET", "/readyz", prefix="")

    # -- detection ---------------------------------------------------------------------------

    def detect(
        self,
        image: ImageInput,
        *,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        fields: Iterable[str] = (),
    ) -> DetectResult:
        """Faces (box, 5 landmarks, score), largest first; ``fields``: mesh, age, gender,
        emotion, pose, quality."""
        form = _params(
            max_faces=max_faces, min_face_size=min_face_size, fields=list(fields) or None
        )
        body = self._request("POST", "/detect", data=form, files=[("image", read_image(image))])
        return cast(DetectResult, body)

    # -- verification ------------------------------------------------------------------------

    def verify(self, image_a: ImageInput, image_b: ImageInput) -> VerifyResult:
        """1:1 — are the main faces of two photos the same person?"""
        files = [
            ("image_a", read_image(image_a, "a.jpg")),
            ("image_b", read_image(image_b, "b.jpg")),
        ]
        return cast(VerifyResult, self._request("POST", "/verify", files=files))

    def verify_user(self, image: ImageInput, group_id: str, user_id: str) -> VerifyResult:
        """1:1 against an enrolled user's faces."""
        form = _params(group_id=group_id, user_id=user_id)
        body = self._request("POST", "/verify", data=form, files=[("image", read_image(image))])
        return cast(VerifyResult, body)

    # -- gallery -----------------------------------------------------------------------------

    def create_group(self, group_id: str) -> dict[str, Any]:
        """``POST /groups``."""
        return self._request("POST", "/groups", json={"group_id": group_id})

    def list_groups(self) -> GroupList:
        """``GET /groups``."""
        return cast(GroupList, self._request("GET", "/groups"))

    def delete_group(self, group_id: str) -> dict[str, Any]:
        """``DELETE /groups/{group_id}`` with its users and faces."""
        return self._request("DELETE", f"/groups/{_segment(group_id)}")

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
                "GET",
                f"/groups/{_segment(group_id)}/users",
                params=_params(offset=offset, limit=limit),
            ),
        )

    def get_user(self, group_id: str, user_id: str) -> User:
        """A user and its faces."""
        path = f"/groups/{_segment(group_id)}/users/{_segment(user_id)}"
        return cast(User, self._request("GET", path))

    def delete_user(self, group_id: str, user_id: str) -> dict[str, Any]:
        """Remove a user and its faces."""
        return self._request("DELETE", f"/groups/{_segment(group_id)}/users/{_segment(user_id)}")

    def delete_face(self, group_id: str, user_id: str, face_token: str) -> dict[str, Any]:
        """Remove one face of a user."""
        return self._request(
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
        groups = [group_ids] if isinstance(group_ids, str) else list(group_ids)
        form = _params(group_ids=groups, top_k=top_k, threshold=threshold, fpir=fpir)
        body = self._request("POST", "/search", data=form, files=[("image", read_image(image))])
        return cast(SearchResult, body)

    # -- liveness ----------------------------------------------------------------------------

    def liveness_check(self, image: ImageInput) -> LivenessCheck:
        """Passive anti-spoofing on one photo."""
        body = self._request("POST", "/liveness/check", files=[("image", read_image(image))])
        return cast(LivenessCheck, body)

    def create_liveness_session(
        self, *, action_count: int | None = None, ttl_seconds: int | None = None
    ) -> LivenessSession:
        """Start an action challenge: the actions the user must perform, in order."""
        options = {"action_count": action_count, "ttl_seconds": ttl_seconds}
        body = {key: value for key, value in options.items() if value is not None}
        return cast(LivenessSession, self._request("POST", "/liveness/sessions", json=body))

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
        body = self._request("POST", path, data=form, files=files)
        return cast(LivenessVerdict, body)


def _segment(value: str) -> str:
    """A path segment, percent-encoded (ids may hold spaces or non-ASCII letters)."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")
