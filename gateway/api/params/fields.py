"""Building blocks of the parameter models: ids, choices, blanks, comma lists (uploads are in
``uploads``), each with its OpenAPI schema beside its validation, and ``rejection``: a
validation error answered with its own status, code and message."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from fastapi import Path
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic_core import PydanticCustomError, PydanticUseDefault, core_schema

from gateway.orchestration.recognition import FaceSelection, QualityControl
from services.shared.limits import (
    FACE_TOKEN_PATTERN,
    ID_PATTERN,
    ID_RULE,
    MAX_SESSION_ID,
    is_only_dots,
)

OPAQUE_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
"""An id the server made with ``secrets.token_urlsafe`` (liveness sessions, video jobs and
streams): the URL-safe base64 alphabet, with the ``vj_``/``vs_`` prefixes."""
NOT_COMMA = re.compile(r"[^,]+")
"""One item of a comma list, blanks included (``CommaList.split``)."""
PATTERN_RULES: dict[str, str] = {
    ID_PATTERN: ID_RULE,
    OPAQUE_ID_PATTERN: "must be letters, digits, '_' or '-' (as the server made it)",
}
"""What a value must look like, in words, for each pattern a parameter uses."""


def rejection(
    message: str, code: str = "INVALID_ARGUMENT", status: int = 400, *, content: bool = False
) -> PydanticCustomError:
    """A validation error answered as it is: this status, code and message. ``content``: it is
    about what an upload holds, reported only when every parameter is well formed."""
    context = {"message": message, "status": status, "content": content}
    return PydanticCustomError(code, "{message}", context)


def _blank_is_default(value: Any) -> Any:
    if value == "":
        raise PydanticUseDefault()
    return value


BLANK_IS_DEFAULT = BeforeValidator(_blank_is_default)
"""An empty form or query value means 'not given': the field's default."""


def any_case(choices: Iterable[str]) -> BeforeValidator:
    """Accept one of ``choices`` in any case with blanks around it; empty means the default."""
    by_folded = {choice.lower(): choice for choice in choices}

    def canonical(value: Any) -> Any:
        if value == "":
            raise PydanticUseDefault()
        if isinstance(value, str):
            return by_folded.get(value.strip().lower(), value)
        return value

    return BeforeValidator(canonical)


FaceSelectionParam = Annotated[
    FaceSelection,
    any_case(get_args(FaceSelection)),
    Field(
        description="which face of a photo is used: the largest, or the one nearest the "
        "photo's centre (for photos framed around their subject, as LFW's are)"
    ),
]
QualityControlParam = Annotated[
    QualityControl,
    any_case(get_args(QualityControl)),
    Field(description="how strict enrollment is about the face's quality"),
]


def _not_only_dots(value: str) -> str:
    """An id of dots only fails as a pattern mismatch would (same message, ID_RULE)."""
    if is_only_dots(value):
        raise PydanticCustomError(
            "string_pattern_mismatch", "String should match '{pattern}'", {"pattern": ID_PATTERN}
        )
    return value


NOT_ONLY_DOTS = AfterValidator(_not_only_dots)

GroupId = Annotated[str, StringConstraints(pattern=ID_PATTERN), NOT_ONLY_DOTS]
UserId = Annotated[str, StringConstraints(pattern=ID_PATTERN), NOT_ONLY_DOTS]

GroupIdPath = Annotated[
    str, Path(pattern=ID_PATTERN, description="a group of your app"), NOT_ONLY_DOTS
]
UserIdPath = Annotated[
    str, Path(pattern=ID_PATTERN, description="a user (person) of the group"), NOT_ONLY_DOTS
]


def _face_token(value: Any) -> Any:
    """A token of another shape names no face: FACE_NOT_FOUND, as the gallery answers it."""
    if isinstance(value, str) and not re.fullmatch(FACE_TOKEN_PATTERN, value):
        shown = value if len(value) <= 64 else f"{value[:64]}..."
        raise rejection(f"face {shown!r} not found", "FACE_NOT_FOUND", 404)
    return value


FaceTokenPath = Annotated[
    str,
    BeforeValidator(_face_token),
    Path(pattern=FACE_TOKEN_PATTERN, description="a stored face, as enroll answered it"),
]
SessionIdPath = Annotated[
    str,
    Path(
        max_length=MAX_SESSION_ID,
        pattern=OPAQUE_ID_PATTERN,
        description="as POST /liveness/sessions answered it",
    ),
]


@dataclass(frozen=True)
class CommaList:
    """A list given as one comma-separated string (form, query or JSON) or as a JSON array.

    In the string, blanks around items and empty items are ignored. ``item`` is the regex of
    one item (no anchors) and ``item_schema`` the JSON schema of an array item; the string's
    OpenAPI pattern is built from ``item``, so it accepts what the item validation accepts.
    With ``max_items``, only the first ``max_items + 1`` items go on to validation: the field's
    count check still refuses the list, and a body of millions of items is not turned into
    millions of Python values first.
    """

    item: str
    item_schema: dict[str, Any]
    min_items: int = 0
    max_items: int | None = None

    def split(self, value: Any) -> Any:
        """A string becomes its items; anything else is validated as it is (both cut to
        ``max_items + 1``)."""
        keep = None if self.max_items is None else self.max_items + 1
        if isinstance(value, str):
            parts = (match.group().strip() for match in NOT_COMMA.finditer(value))
            return list(itertools.islice((part for part in parts if part), keep))
        if isinstance(value, list) and keep is not None:
            return value[:keep]
        return value

    def string_schema(self) -> dict[str, Any]:
        """The comma-separated form (the only one a form field or a query parameter has)."""
        item = rf"(?:{self.item})\s*"
        if self.min_items:
            pattern = rf"^(?:\s*,)*\s*{item}(?:,\s*(?:{item})?)*$"
        else:
            pattern = rf"^\s*(?:{item})?(?:,\s*(?:{item})?)*$"
        return {"type": "string", "pattern": pattern}

    def form_schema(self) -> dict[str, Any]:
        return self.string_schema()

    def array_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item_schema}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.split, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"anyOf": [self.string_schema(), self.array_schema()]}


def matching(item: str, message: str) -> Callable[[Any], Any]:
    """A list-item check: a string must match ``item`` whole; ``message`` otherwise."""
    compiled = re.compile(item)

    def check(value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, str) and not compiled.fullmatch(value)):
            raise rejection(message)
        return value

    return check
