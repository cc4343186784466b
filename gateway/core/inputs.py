"""Read a request's images and parameters the same way for every endpoint.

Images arrive as multipart file fields (what ``wx.uploadFile`` sends) or as base64 strings in a
JSON body, under the same names. Other parameters may be query parameters, multipart form
fields or JSON keys.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from gateway.core.errors import ApiError
from services.shared.errors import ImageTooLargeError, InvalidImageError
from services.shared.imaging import image_size


@dataclass
class RequestInput:
    """Parameters (as strings or JSON values) and files (bytes) of one request."""

    params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, list[bytes]] = field(default_factory=dict)

    def image(self, name: str, *, required: bool = True) -> bytes | None:
        """The single image under name; INVALID_ARGUMENT if required and missing."""
        values = self.files.get(name) or []
        if not values:
            if required:
                raise ApiError(
                    400, "INVALID_ARGUMENT", f"the field '{name}' (an image) is required"
                )
            return None
        if len(values) > 1:
            raise ApiError(400, "INVALID_ARGUMENT", f"the field '{name}' must hold one image")
        return values[0]

    def text(self, name: str, default: str | None = None) -> str | None:
        """A parameter as a string."""
        value = self.params.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        """An integer parameter within [minimum, maximum]."""
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "INVALID_ARGUMENT", f"'{name}' must be an integer") from None
        if not minimum <= value <= maximum:
            raise ApiError(
                400, "INVALID_ARGUMENT", f"'{name}' must be between {minimum} and {maximum}"
            )
        return value

    def number(
        self, name: str, default: float | None, minimum: float, maximum: float
    ) -> float | None:
        """A float parameter within [minimum, maximum]."""
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "INVALID_ARGUMENT", f"'{name}' must be a number") from None
        if not minimum <= value <= maximum:
            raise ApiError(
                400, "INVALID_ARGUMENT", f"'{name}' must be between {minimum} and {maximum}"
            )
        return value

    def csv(self, name: str) -> list[str]:
        """A comma-separated list parameter (or a JSON list)."""
        raw = self.params.get(name)
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return [str(item).strip() for item in items if str(item).strip()]


def check_image(data: bytes, name: str, max_bytes: int, max_pixels: int) -> bytes:
    """Cheap checks before forwarding: empty, byte limit, readable header, pixel limit."""
    if not data:
        raise ApiError(400, "INVALID_IMAGE", f"the image '{name}' is empty")
    if len(data) > max_bytes:
        raise ApiError(
            413,
            "IMAGE_TOO_LARGE",
            f"the image '{name}' is {len(data)} bytes; the limit is {max_bytes} bytes",
        )
    try:
        width, height = image_size(data)
    except InvalidImageError:
        raise ApiError(
            400, "INVALID_IMAGE", f"'{name}' is not a readable JPEG, PNG, WebP or BMP image"
        ) from None
    except ImageTooLargeError as error:
        raise ApiError(413, "IMAGE_TOO_LARGE", error.message) from None
    if width * height > max_pixels:
        raise ApiError(
            413,
            "IMAGE_TOO_LARGE",
            f"the image '{name}' is {width}x{height} pixels; the limit is {max_pixels} pixels",
        )
    return data


def _decode_base64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise ApiError(400, "INVALID_IMAGE", f"'{name}' must be a base64 string")
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "INVALID_IMAGE", f"'{name}' is not valid base64") from None


async def read_input(
    request: Request, image_fields: tuple[str, ...], max_bytes: int
) -> RequestInput:
    """Parse query parameters plus a multipart or JSON body into a RequestInput."""
    result = RequestInput(params=dict(request.query_params))
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data") or content_type.startswith(
        "application/x-www-form-urlencoded"
    ):
        try:
            form = await request.form(max_files=1000, max_fields=1000, max_part_size=max_bytes + 1)
        except Exception as error:  # starlette raises several types for a broken body
            raise ApiError(400, "INVALID_ARGUMENT", f"cannot read the form body: {error}") from None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(max_bytes + 1)
                result.files.setdefault(key, []).append(data)
            else:
                result.params[key] = value
    elif content_type.startswith("application/json"):
        body = await request.body()
        try:
            payload = json.loads(body) if body else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "INVALID_ARGUMENT", "the body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "the JSON body must be an object")
        for key, value in payload.items():
            if key in image_fields or key == "frames":
                values = value if isinstance(value, list) else [value]
                result.files[key] = [_decode_base64(v, key) for v in values]
            else:
                result.params[key] = value
    elif await request.body():
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            "send a multipart/form-data or an application/json body (images as files or base64)",
        )
    return result
