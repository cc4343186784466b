"""A failed parameter as the gateway's 400 answer, in words a client can act on.

``'max_faces' must be between 1 and 100``, ``face_selection must be one of largest, center,
got 'x'``, ``group_id must be 1-128 characters of ...``; errors raised with
``fields.rejection`` keep their own status, code and message (INVALID_IMAGE, 413 ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from gateway.api.params.fields import PATTERN_RULES
from gateway.api.params.uploads import upload_of
from gateway.core.errors import ApiError

INTEGER_ERRORS = frozenset({"int_parsing", "int_type", "int_from_float"})
NUMBER_ERRORS = frozenset({"float_parsing", "float_type", "finite_number"})
RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})


def invalid_argument(message: str) -> ApiError:
    """400 INVALID_ARGUMENT."""
    return ApiError(400, "INVALID_ARGUMENT", message)


def model_error(error: ValidationError, model: type[BaseModel]) -> ApiError:
    """The answer to a model that failed validation: its first malformed parameter, else the
    first upload whose content is refused (the cheap, certain answer first)."""
    errors = error.errors()
    first = next((e for e in errors if not (e.get("ctx") or {}).get("content")), errors[0])
    field = model.model_fields.get(str(first["loc"][0])) if first["loc"] else None
    return describe(first, first["loc"], field)


def describe(details: ErrorDetails, loc: Sequence[int | str], field: FieldInfo | None) -> ApiError:
    """One validation error at ``loc`` (``("max_faces",)``, ``("group_ids", 2)``) of ``field``
    (None where unknown, as for path parameters)."""
    context: dict[str, Any] = dict(details.get("ctx") or {})
    kind = details["type"]
    if "status" in context:  # fields.rejection: answered as it is
        return ApiError(int(context["status"]), kind, str(context["message"]))
    name = "".join(f"[{part}]" if isinstance(part, int) else str(part) for part in loc) or "body"
    if kind == "missing":
        if field is not None and upload_of(field) is not None:
            return invalid_argument(f"the field '{name}' (an image) is required")
        return invalid_argument(f"{name} is required")
    if kind in INTEGER_ERRORS:
        return invalid_argument(f"'{name}' must be an integer")
    if kind in NUMBER_ERRORS:
        return invalid_argument(f"'{name}' must be a number")
    if kind in RANGE_ERRORS and (bounds := _range(field, context)):
        return invalid_argument(f"'{name}' must be {bounds}")
    if kind == "literal_error" and field is not None:
        choices = ", ".join(str(choice) for choice in get_args(field.annotation))
        return invalid_argument(f"{name} must be one of {choices}, got {details['input']!r}")
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        return invalid_argument(f"{name} {PATTERN_RULES.get(pattern, f'must match {pattern}')}")
    if kind == "string_too_long":
        return invalid_argument(f"{name} must be at most {context['max_length']} characters")
    if kind == "string_type":
        return invalid_argument(f"'{name}' must be a string")
    if kind == "list_type":
        return invalid_argument(f"'{name}' must be a comma-separated string or a list")
    return invalid_argument(f"{name}: {details['msg']}")


def _range(field: FieldInfo | None, context: dict[str, Any]) -> str | None:
    """'between 1 and 100' from the field's bounds (or the one bound the error names)."""
    bounds = field.metadata if field is not None else []
    low = next((b.ge for b in bounds if isinstance(b, annotated_types.Ge)), context.get("ge"))
    high = next((b.le for b in bounds if isinstance(b, annotated_types.Le)), context.get("le"))
    if low is not None and high is not None:
        return f"between {low} and {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}" if high is not None else None
