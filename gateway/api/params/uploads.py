"""Upload fields: images, frames, a video. A multipart file or a base64 string in JSON, under
the same name; the image checks (empty, unreadable, over the limits) run as validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, GetJsonSchemaHandler, ValidationInfo
from pydantic.fields import FieldInfo
from pydantic_core import core_schema

from gateway.api.params.fields import rejection
from gateway.core.errors import ApiError
from gateway.core.inputs import check_image
from services.shared.imaging import ImageLimits

IMAGE_LIMITS = "image_limits"
"""The validation-context key of the ``ImageLimits`` uploads are checked against."""


@dataclass(frozen=True)
class Upload:
    """Marks a file field: multipart file(s), or base64 string(s) in a JSON body; never empty.

    ``many``: a list of files (repeated multipart fields, a JSON array) with the documented
    bounds ``min_items`` / ``max_items``. ``max_bytes``: the largest upload read (None: the
    gateway's image limit).
    """

    many: bool = False
    min_items: int | None = None
    max_items: int | None = None
    max_bytes: int | None = None

    def _schema(self, one: dict[str, Any]) -> dict[str, Any]:
        one = {**one, "minLength": 1}
        if not self.many:
            return one
        schema: dict[str, Any] = {"type": "array", "items": one}
        if self.min_items is not None:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema

    def form_schema(self) -> dict[str, Any]:
        return self._schema({"type": "string", "format": "binary"})

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return self._schema({"type": "string", "format": "byte"})


def upload_of(field: FieldInfo) -> Upload | None:
    """The field's ``Upload`` marker, if it is a file field."""
    return next((meta for meta in field.metadata if isinstance(meta, Upload)), None)


def _single_image(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, list):
        if len(value) > 1:
            raise rejection(f"the field '{info.field_name}' must hold one image")
        return value[0] if value else None
    return value


def one_video(value: Any) -> Any:
    """A ``video`` field: one file (several are refused, none is absent)."""
    if isinstance(value, list):
        if len(value) > 1:
            raise rejection("send one video")
        return value[0] if value else None
    return value


def image_limits(info: ValidationInfo) -> ImageLimits:
    """The limits the request is checked against (``IMAGE_LIMITS`` in the context)."""
    context = info.context or {}
    limits = context.get(IMAGE_LIMITS)
    return limits if isinstance(limits, ImageLimits) else ImageLimits()


def checked(data: bytes, name: str, limits: ImageLimits) -> bytes:
    """``check_image`` with its ApiError as a validation error (same status, code, message)."""
    try:
        return check_image(data, name, limits)
    except ApiError as error:
        raise rejection(error.message, error.code, error.status, content=True) from None


def _checked_image(value: bytes | None, info: ValidationInfo) -> bytes | None:
    if value is None:
        return None
    return checked(value, info.field_name or "image", image_limits(info))


ImageUpload = Annotated[
    bytes, BeforeValidator(_single_image), AfterValidator(_checked_image), Upload()
]
"""One image: empty, unreadable (400 INVALID_IMAGE) or over the limits (413) is refused."""
OptionalImageUpload = Annotated[
    bytes | None, BeforeValidator(_single_image), AfterValidator(_checked_image), Upload()
]
