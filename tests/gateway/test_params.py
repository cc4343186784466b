"""Route parameter models (gateway/api/params): the 400 messages, what a blank or a null
means, and the OpenAPI description written from the same models."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.api.params import RouteParams
from gateway.api.routes.detect import DetectParams
from gateway.api.routes.groups import EnrollParams, GroupParams, UserPageParams
from gateway.api.routes.liveness import SessionParams, VerifySessionParams
from gateway.api.routes.search import GROUP_IDS, SearchParams
from gateway.api.routes.verify import VerifyParams
from gateway.core.config import GatewaySettings
from gateway.core.errors import ApiError
from services.shared.limits import MAX_SEARCH_GROUPS
from tests.helpers import images

SETTINGS = GatewaySettings()
PHOTO = images.astronaut_jpeg()
ID_RULE = "must be 1-128 characters of letters, digits, '_', '.', '@' or '-', not only dots"


def refusal(model: type[RouteParams], values: dict[str, Any], **settings: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        model.parse(values, GatewaySettings(**settings) if settings else SETTINGS)
    return raised.value


@pytest.mark.parametrize(
    ("model", "values", "status", "code", "message"),
    [
        (DetectParams, {}, 400, "INVALID_ARGUMENT", "the field 'image' (an image) is required"),
        (
            DetectParams,
            {"image": [PHOTO, PHOTO]},
            400,
            "INVALID_ARGUMENT",
            "the field 'image' must hold one image",
        ),
        (DetectParams, {"image": [b""]}, 400, "INVALID_IMAGE", "the image 'image' is empty"),
        (
            DetectParams,
            {"image": [b"not a photo"]},
            400,
            "INVALID_IMAGE",
            "'image' is not a readable JPEG, PNG, WebP or BMP image",
        ),
        (
            DetectParams,
            {"image": [PHOTO], "max_faces": "0"},
            400,
            "INVALID_ARGUMENT",
            "'max_faces' must be between 1 and 100",
        ),
        (
            DetectParams,
            {"image": [b"not a photo"], "max_faces": "0"},  # parameters before content
            400,
            "INVALID_ARGUMENT",
            "'max_faces' must be between 1 and 100",
        ),
        (
            DetectParams,
            {"image": [PHOTO], "max_faces": "ten"},
            400,
            "INVALID_ARGUMENT",
            "'max_faces' must be an integer",
        ),
        (
            DetectParams,
            {"image": [PHOTO], "fields": "mesh,hair, eyes"},
            400,
            "INVALID_ARGUMENT",
            "unknown field(s): eyes, hair; known: age, emotion, gender, mesh, pose, quality",
        ),
        (
            DetectParams,
            {"image": [PHOTO], "fields": 5},
            400,
            "INVALID_ARGUMENT",
            "'fields' must be a comma-separated string or a list",
        ),
        (
            SearchParams,
            {"image": [PHOTO], "group_ids": "g", "threshold": "high"},
            400,
            "INVALID_ARGUMENT",
            "'threshold' must be a number",
        ),
        (
            VerifyParams,
            {"face_selection": "up"},
            400,
            "INVALID_ARGUMENT",
            "face_selection must be one of largest, center, got 'up'",
        ),
        (GroupParams, {"group_id": 5}, 400, "INVALID_ARGUMENT", "'group_id' must be a string"),
        (GroupParams, {"group_id": "a b"}, 400, "INVALID_ARGUMENT", f"group_id {ID_RULE}"),
        (
            VerifySessionParams,
            {"frames": [PHOTO] * 3, "frame_times_ms": "0,40,x"},
            400,
            "INVALID_ARGUMENT",
            "'frame_times_ms' must be a comma list of numbers",
        ),
        (
            VerifySessionParams,
            {"frames": [PHOTO] * 3, "frame_times_ms": [0, True, 80]},
            400,
            "INVALID_ARGUMENT",
            "'frame_times_ms' must be a comma list of numbers",
        ),
        (
            VerifySessionParams,
            {"frames": [PHOTO, b"junk"]},
            400,
            "INVALID_IMAGE",
            "'frames[1]' is not a readable JPEG, PNG, WebP or BMP image",
        ),
        (
            VerifySessionParams,
            {"video": [b"a", b"b"]},
            400,
            "INVALID_ARGUMENT",
            "send one video",
        ),
    ],
)
def test_refusals(
    model: type[RouteParams], values: dict[str, Any], status: int, code: str, message: str
) -> None:
    error = refusal(model, values)
    assert (error.status, error.code, error.message) == (status, code, message)


def test_image_limits_come_from_the_settings() -> None:
    error = refusal(DetectParams, {"image": [PHOTO]}, max_image_bytes=1000)
    assert (error.status, error.code) == (413, "IMAGE_TOO_LARGE")
    assert error.message == f"the image 'image' is {len(PHOTO)} bytes; the limit is 1000 bytes"


def test_blanks_are_defaults_choices_take_any_case() -> None:
    detect = DetectParams.parse({"image": [PHOTO], "max_faces": "", "fields": " , "}, SETTINGS)
    assert (detect.max_faces, detect.fields) == (10, [])
    enroll = EnrollParams.parse(
        {
            "image": [PHOTO],
            "quality_control": "high",
            "face_selection": " Center ",
            "user_info": "",
        },
        SETTINGS,
    )
    assert (enroll.quality_control, enroll.face_selection) == ("HIGH", "center")
    assert enroll.user_info == ""  # text keeps its blank: it clears the stored info
    times = VerifySessionParams.parse(
        {"frames": [PHOTO] * 3, "frame_times_ms": "0, 40,80.5"}, SETTINGS
    )
    assert times.frame_times_ms == [0.0, 40.0, 80.5]


GROUP_ID_LISTS = ["g", " a , b ", "a,,b", ",a", "", " , ", "a b", "a,b!", "x" * 129]
FIELD_LISTS = ["", " , ", "mesh", "age, gender", "mesh,,pose ", "hair", "age gender"]


@pytest.mark.parametrize("text", GROUP_ID_LISTS)
def test_group_ids_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    schema = SearchParams.request_body()["requestBody"]["content"]["multipart/form-data"]
    pattern = schema["schema"]["properties"]["group_ids"]["pattern"]
    try:
        SearchParams.parse({"image": [PHOTO], "group_ids": text}, SETTINGS)
        parsed = True
    except ApiError:
        parsed = False
    assert bool(re.fullmatch(pattern, text)) == parsed


@pytest.mark.parametrize("text", FIELD_LISTS)
def test_fields_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    schema = DetectParams.request_body()["requestBody"]["content"]["multipart/form-data"]
    pattern = schema["schema"]["properties"]["fields"]["pattern"]
    try:
        DetectParams.parse({"image": [PHOTO], "fields": text}, SETTINGS)
        parsed = True
    except ApiError:
        parsed = False
    assert bool(re.fullmatch(pattern, text)) == parsed


def test_request_body_in_both_encodings() -> None:
    body = DetectParams.request_body()["requestBody"]
    form = body["content"]["multipart/form-data"]["schema"]
    json = body["content"]["application/json"]["schema"]
    assert body["required"] is True
    assert form["required"] == json["required"] == ["image"]
    assert form["properties"]["image"] == {
        "type": "string",
        "format": "binary",
        "minLength": 1,
        "title": "Image",
        "description": "the photo: JPEG, PNG, WebP or BMP",
    }
    assert json["properties"]["image"]["format"] == "byte"
    max_faces = {"type": "integer", "minimum": 1, "maximum": 100}
    assert max_faces.items() <= form["properties"]["max_faces"].items()
    assert json["properties"]["max_faces"]["anyOf"][-1] == {"type": "null"}  # null: not given
    assert form["properties"]["fields"]["type"] == "string"
    assert [branch["type"] for branch in json["properties"]["fields"]["anyOf"]] == [
        "string",
        "array",
        "null",
    ]


def test_a_body_is_required_when_an_empty_one_is_refused() -> None:
    assert SessionParams.request_body()["requestBody"]["required"] is False
    assert VerifyParams.request_body()["requestBody"]["required"] is True
    assert VerifySessionParams.request_body()["requestBody"]["required"] is True


def test_query_parameters() -> None:
    parameters = UserPageParams.query_parameters()["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("offset", "query", False),
        ("limit", "query", False),
    ]
    assert {"minimum": 1, "maximum": 1000, "default": 100}.items() <= parameters[1][
        "schema"
    ].items()


def test_a_comma_list_goes_to_validation_cut_to_one_over_its_limit() -> None:
    """Millions of items are neither split into millions of strings nor validated one by one;
    the count check still refuses them."""
    assert GROUP_IDS.split(" a, ,b ,,c ") == ["a", "b", "c"]
    assert len(GROUP_IDS.split("g," * 1_000_000)) == MAX_SEARCH_GROUPS + 1
    assert len(GROUP_IDS.split(["g"] * 1_000_000)) == MAX_SEARCH_GROUPS + 1
    error = refusal(SearchParams, {"image": images.astronaut_jpeg(), "group_ids": "g," * 10**6})
    assert error.message == f"group_ids may name at most {MAX_SEARCH_GROUPS} groups"
