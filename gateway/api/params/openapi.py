"""The OpenAPI description of a parameter model: a request body or query parameters.

A body is offered as ``multipart/form-data`` (uploads as binary files, lists as comma
strings) and as ``application/json`` (uploads as base64 strings, lists as comma strings or
arrays, null for an optional parameter meaning "not given"). Both come from the model's own
JSON schema; only the fields whose type says so (``form_schema``) read differently in a form.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from gateway.api.params.uploads import upload_of

NULL = {"type": "null"}
FIELD_KEYS = ("title", "description", "default", "examples")
"""Property keys that describe the field, not its type: kept when a form type replaces it."""


@runtime_checkable
class FormReadable(Protocol):
    """A field type that a form field writes differently from JSON (a file, a comma string)."""

    def form_schema(self) -> dict[str, Any]: ...


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` with the model as a multipart or JSON request body."""
    schema = model.model_json_schema()
    if "$defs" in schema:
        raise TypeError(f"{model.__name__}: parameter models hold flat fields only")
    return {
        "requestBody": {
            "required": _refuses_empty(model),
            "content": {
                "multipart/form-data": {"schema": _variant(model, schema, form=True)},
                "application/json": {"schema": _variant(model, schema, form=False)},
            },
        }
    }


def _refuses_empty(model: type[BaseModel]) -> bool:
    """Whether the body is required: an empty one is refused."""
    try:
        model.model_validate({})
    except ValidationError:
        return True
    return False


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` with the model's fields as query parameters."""
    schema = _variant(model, model.model_json_schema(), form=True)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameter["schema"] = {k: v for k, v in prop.items() if k != "description"}
        parameters.append(parameter)
    return {"parameters": parameters}


def _variant(model: type[BaseModel], schema: dict[str, Any], *, form: bool) -> dict[str, Any]:
    """The model's schema as a form (text fields, files) or as JSON (null: not given)."""
    required = set(schema.get("required", ()))
    properties = {}
    for name, prop in schema["properties"].items():
        field = model.model_fields[name]
        form_type = next((m for m in field.metadata if isinstance(m, FormReadable)), None)
        if form:
            if form_type is not None:
                prop = {**_field_keys(prop), **form_type.form_schema()}
            prop = _without_null(prop)
        elif name not in required and upload_of(field) is None:
            prop = _with_null(prop)
        properties[name] = prop
    return {**schema, "properties": properties}


def _field_keys(prop: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in prop.items() if key in FIELD_KEYS}


def _type_part(prop: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in prop.items() if key not in FIELD_KEYS}


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A form field is text: it cannot be null."""
    branches = [b for b in prop.get("anyOf", ()) if b != NULL]
    if "anyOf" not in prop or len(branches) == len(prop["anyOf"]):
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    return {**rest, **branches[0]} if len(branches) == 1 else {**rest, "anyOf": branches}


def _with_null(prop: dict[str, Any]) -> dict[str, Any]:
    """In JSON, null for an optional parameter means not given."""
    branches = prop.get("anyOf")
    if branches is not None:
        return prop if NULL in branches else {**prop, "anyOf": [*branches, NULL]}
    return {**_field_keys(prop), "anyOf": [_type_part(prop), NULL]}
