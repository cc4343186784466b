"""The SDK's error classes: one per documented code, and transport failures (no stack needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from faceflow_sdk import (
    ERROR_CLASSES,
    ConnectionFailedError,
    FaceflowClient,
    FaceflowError,
    GroupNotFoundError,
    NoFaceError,
)
from faceflow_sdk.errors import error_for
from tests.clients.stack import free_port

API_DOC = Path(__file__).resolve().parents[3] / "shared" / "API.md"
ERROR_TABLE_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOCUMENTED_CODES = {
    "INVALID_IMAGE",
    "IMAGE_TOO_LARGE",
    "NO_FACE",
    "TOO_MANY_FACES",
    "LOW_QUALITY",
    "GROUP_NOT_FOUND",
    "USER_NOT_FOUND",
    "FACE_NOT_FOUND",
    "ALREADY_EXISTS",
    "UNAUTHENTICATED",
    "RATE_LIMITED",
    "SESSION_NOT_FOUND",
    "SESSION_EXPIRED",
    "SERVICE_UNAVAILABLE",
    "INVALID_ARGUMENT",
}


def test_every_documented_code_has_its_own_class() -> None:
    assert set(ERROR_CLASSES) >= DOCUMENTED_CODES
    for code in DOCUMENTED_CODES:
        error = error_for(400, code, "message", "rid")
        assert type(error) is ERROR_CLASSES[code]
        assert type(error) is not FaceflowError
        assert error.code == code and error.status == 400 and error.request_id == "rid"


def test_codes_listed_in_the_api_contract_are_all_known() -> None:
    if not API_DOC.is_file():
        pytest.skip(f"{API_DOC} is absent (it lives in ../shared)")
    text = API_DOC.read_text()
    listed = text[text.index("Codes include") :].split(".")[0]
    codes = set(re.findall(r"[A-Z][A-Z_]{3,}", listed))
    assert codes and codes <= set(ERROR_CLASSES), codes - set(ERROR_CLASSES)


def error_table_codes(text: str) -> dict[str, int]:
    """code -> HTTP status of each row of the "## Errors" table (a row may list several codes)."""
    section = text[text.index("## Errors") :]
    section = section[: section.index("\n## ", 1)]
    codes: dict[str, int] = {}
    for row in re.findall(r"^\| *([A-Z][A-Z_, ]+?) *\| *(\d{3}) *\|", section, re.MULTILINE):
        for code in row[0].split(","):
            codes[code.strip()] = int(row[1])
    return codes


def test_every_code_of_the_api_error_table_has_its_own_class() -> None:
    codes = error_table_codes(ERROR_TABLE_DOC.read_text())
    assert len(codes) >= 20 and {"THUMBNAIL_NOT_FOUND", "METHOD_NOT_ALLOWED"} <= codes.keys()
    missing = {code for code in codes if code not in ERROR_CLASSES}
    assert not missing, f"no class in faceflow_sdk/errors.py for {sorted(missing)}"
    classes = [ERROR_CLASSES[code] for code in codes]
    assert len(set(classes)) == len(classes)  # one class each, none shared
    for code, status in codes.items():
        error = error_for(status, code, "message", "rid")
        assert type(error) is ERROR_CLASSES[code] and type(error) is not FaceflowError
        assert error.code == code and error.status == status


def test_named_classes_match_their_codes() -> None:
    assert isinstance(error_for(400, "NO_FACE", "x"), NoFaceError)
    assert isinstance(error_for(404, "GROUP_NOT_FOUND", "x"), GroupNotFoundError)


def test_unknown_code_is_the_base_class_with_that_code() -> None:
    error = error_for(418, "TEAPOT", "short and stout")
    assert type(error) is FaceflowError
    assert error.code == "TEAPOT" and error.status == 418
    assert "TEAPOT" in str(error)


def test_closed_port_is_connection_failed() -> None:
    with (
        FaceflowClient(f"http://127.0.0.1:{free_port()}", "key", timeout=5) as client,
        pytest.raises(ConnectionFailedError) as raised,
    ):
        client.healthz()
    assert raised.value.code == "CONNECTION_FAILED"


def test_images_are_read_from_paths_bytes_and_files(tmp_path: Path) -> None:
    from faceflow_sdk.client import read_image

    photo = tmp_path / "me.PNG"
    photo.write_bytes(b"\x89PNG")
    assert read_image(photo) == ("me.PNG", b"\x89PNG", "image/png")
    assert read_image(b"abc") == ("image.jpg", b"abc", "image/jpeg")
    with photo.open("rb") as handle:
        assert read_image(handle) == ("me.PNG", b"\x89PNG", "image/png")
