"""Read a request's parameters and uploads the same way for every endpoint.

Images arrive as multipart file fields (what ``wx.uploadFile`` sends) or as base64 strings in a
JSON body, under the same names. Other parameters may be query parameters, multipart form
fields or JSON keys. ``read_input`` gathers them into one mapping that a route's parameter
model (gateway/api/params) validates; ``check_image`` is the cheap check of one upload.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from gateway.core.errors import ApiError, local_disk_errors
from services.shared.errors import ImageTooLargeError, InvalidImageError
from services.shared.imaging import ImageLimits, image_size


def check_image(data: bytes, name: str, limits: ImageLimits) -> bytes:
    """Cheap checks before forwarding: empty, byte limit, readable header, pixel limit."""
    max_bytes, max_pixels = limits.max_bytes, limits.max_pixels
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


MAX_UPLOADS = 1000  # files in one multipart body, base64 images in one JSON list
MAX_JSON_ITEMS = 100_000  # ',', '[' and '{' in one JSON body (a base64 image has none)
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _decode_base64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise ApiError(400, "INVALID_IMAGE", f"'{name}' must be a base64 string")
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "INVALID_IMAGE", f"'{name}' is not valid base64") from None


async def _body(request: Request) -> bytes:
    """The whole body; a client that went away before sending it (or whose body passed the
    size limit: the middleware answered 413 already) is a 400, not an unexpected error."""
    try:
        return await request.body()
    except ClientDisconnect:
        raise ApiError(400, "INVALID_ARGUMENT", "the request body ended early") from None


async def _parse_json(body: bytes) -> Any:
    """The parsed body, off the event loop; 400 for what is not JSON, nests too deep or holds
    more than ``MAX_JSON_ITEMS`` values (counted on the bytes first: parsing millions of tiny
    values would take many times the body's size in memory)."""
    items = body.count(b",") + body.count(b"[") + body.count(b"{")
    if items > MAX_JSON_ITEMS:
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            f"the JSON body holds more than {MAX_JSON_ITEMS} values; send images as base64 "
            "strings or files",
        )
    try:
        return await run_in_threadpool(_loads_unicode, body)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise ApiError(400, "INVALID_ARGUMENT", "the body is not valid JSON") from None


def _loads_unicode(body: bytes) -> Any:
    """The body as UTF-8 JSON (RFC 8259), strictly: no UTF-16 or CESU-8 bytes (``json.loads``
    of bytes accepts both, and lets surrogates through), no lone surrogate escape
    (``"\\ud800"``: valid JSON, no text; it would fail later wherever the string is encoded).
    Paired escapes are one character."""
    text = body.decode("utf-8-sig")  # a byte-order mark is allowed; UnicodeDecodeError: ValueError
    payload = json.loads(text)
    if SURROGATE_ESCAPE.search(text):  # rare: only then is the whole payload re-encoded
        json.dumps(payload, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError: ValueError
    return payload


async def read_input(
    request: Request, upload_fields: Collection[str], max_bytes: int
) -> dict[str, Any]:
    """Query parameters plus a multipart or JSON body as one mapping.

    Uploads (files, or base64 strings in JSON) appear only under ``upload_fields``, each as a
    non-empty list of bytes; other files are ignored, and so are JSON nulls (null means not
    given). Later sources win: the body over the query.
    """
    values: dict[str, Any] = {
        key: value for key, value in request.query_params.items() if key not in upload_fields
    }
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data") or content_type.startswith(
        "application/x-www-form-urlencoded"
    ):
        try:
            with local_disk_errors("the upload"):  # starlette spools file parts to /tmp
                form = await request.form(
                    max_files=MAX_UPLOADS, max_fields=1000, max_part_size=max_bytes + 1
                )
        except ApiError:
            raise
        except Exception as error:  # starlette raises several types for a broken body
            raise ApiError(400, "INVALID_ARGUMENT", f"cannot read the form body: {error}") from None
        files: dict[str, list[bytes]] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key in upload_fields:
                    files.setdefault(key, []).append(await value.read(max_bytes + 1))
            elif key not in upload_fields:
                values[key] = value
        values.update(files)
    elif content_type.startswith("application/json"):
        body = await _body(request)
        payload = await _parse_json(body) if body else {}
        if not isinstance(payload, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "the JSON body must be an object")
        for key, value in payload.items():
            if value is None:  # null means not given, for an upload as for any other key
                continue
            if key in upload_fields:
                encoded = value if isinstance(value, list) else [value]
                if len(encoded) > MAX_UPLOADS:  # counted before anything is decoded
                    raise ApiError(
                        400, "INVALID_ARGUMENT", f"'{key}' holds more than {MAX_UPLOADS} images"
                    )
                if encoded:
                    values[key] = [_decode_base64(item, key) for item in encoded]
            else:
                values[key] = value
    elif await _body(request):
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            "send a multipart/form-data or an application/json body (images as files or base64)",
        )
    return values
