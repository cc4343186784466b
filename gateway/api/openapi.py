"""The OpenAPI document (``/openapi.json``, ``/docs``): FastAPI's, less what the gateway never
sends. FastAPI documents a 422 for every operation with parameters; the gateway answers a bad
parameter 400 INVALID_ARGUMENT with the error envelope (declared on each operation) instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError")


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """Build the document once, without 422 responses and their schemas."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in document["paths"].values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        schemas = document.get("components", {}).get("schemas", {})
        for name in UNUSED_SCHEMAS:
            schemas.pop(name, None)
        app.openapi_schema = document
    return app.openapi_schema
