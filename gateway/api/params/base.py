"""``RouteParams``: the base of every route's parameter model."""

from __future__ import annotations

from typing import Any, Self

from fastapi import Request
from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.api.params import openapi
from gateway.api.params.messages import model_error
from gateway.api.params.uploads import IMAGE_LIMITS, upload_of
from gateway.core.config import GatewaySettings
from gateway.core.inputs import read_input


class RouteParams(BaseModel):
    """A route's parameters. Unknown keys are ignored. Form and query values are text,
    converted to each field's type; in JSON a number may also come as its text, but a text
    field takes no number."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def upload_fields(cls) -> frozenset[str]:
        """The file fields (images, frames, video)."""
        return frozenset(name for name, f in cls.model_fields.items() if upload_of(f) is not None)

    @classmethod
    def read_limit(cls, settings: GatewaySettings) -> int:
        """The most bytes one upload may have (over it, the checks answer 413)."""
        uploads = (upload_of(field) for field in cls.model_fields.values())
        limits = [u.max_bytes for u in uploads if u is not None and u.max_bytes is not None]
        return max([settings.max_image_bytes, *limits])

    @classmethod
    async def read(cls, request: Request, settings: GatewaySettings) -> Self:
        """The parameters of ``request`` (query, form or JSON); the 400 envelope on a bad one."""
        values = await read_input(request, cls.upload_fields(), cls.read_limit(settings))
        return cls.parse(values, settings)

    @classmethod
    def parse(cls, values: dict[str, Any], settings: GatewaySettings) -> Self:
        """Validate gathered values; the first failure as an ApiError."""
        try:
            return cls.model_validate(values, context={IMAGE_LIMITS: settings.image_limits})
        except ValidationError as error:
            raise model_error(error, cls) from None

    @classmethod
    def request_body(cls) -> dict[str, Any]:
        """``openapi_extra`` documenting these parameters as a multipart or JSON body."""
        return openapi.request_body(cls)

    @classmethod
    def query_parameters(cls) -> dict[str, Any]:
        """``openapi_extra`` documenting these parameters as query parameters."""
        return openapi.query_parameters(cls)
