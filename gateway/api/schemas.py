"""Response and request schemas for the OpenAPI document (``/docs``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """The error details."""

    code: str = Field(examples=["NO_FACE"])
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    """Every error has this shape."""

    error: ErrorBody


class Box(BaseModel):
    """A face box in image pixels."""

    x: float
    y: float
    width: float
    height: float


class Landmarks(BaseModel):
    """Five landmarks, each [x, y] in image pixels; left/right as seen in the image."""

    left_eye: list[float]
    right_eye: list[float]
    nose: list[float]
    mouth_left: list[float]
    mouth_right: list[float]


class ModelRef(BaseModel):
    """A model used to answer."""

    name: str
    version: str


class AgeOut(BaseModel):
    """Estimated age in years with a plausible range."""

    value: float
    range: list[float] = Field(description="[low, high] in years")


class GenderOut(BaseModel):
    """Estimated gender and the model's probability for it."""

    label: str = Field(examples=["female"])
    probability: float


class EmotionOut(BaseModel):
    """Probabilities over the 7 FER classes."""

    dominant: str = Field(examples=["happy"])
    probabilities: dict[str, float]


class PoseOut(BaseModel):
    """Head pose in degrees and the landmarks it came from (mesh or 5 points)."""

    yaw: float
    pitch: float
    roll: float
    source: str


class QualityOut(BaseModel):
    """Image quality of the face: a 0-1 score and its parts."""

    score: float
    blur: float
    brightness: float
    face_size: float
    eyes_open: float | None = None
    mouth_open: float | None = None


class DetectedFaceOut(BaseModel):
    """One face. Optional fields appear when requested with ``fields``; an attribute that could
    not be computed is null and its reason is in ``unavailable``."""

    model_config = ConfigDict(extra="allow")

    face_token: str
    box: Box
    score: float
    landmarks: Landmarks
    mesh: list[list[float]] | None = Field(default=None, description="468 [x, y, z] points")
    age: AgeOut | None = None
    gender: GenderOut | None = None
    emotion: EmotionOut | None = None
    pose: PoseOut | None = None
    quality: QualityOut | None = None
    unavailable: dict[str, str] | None = Field(
        default=None, description="attribute -> reason it could not be computed"
    )


class ImageInfo(BaseModel):
    """The decoded image's size (after EXIF orientation)."""

    width: int
    height: int


class DetectOut(BaseModel):
    """Faces in the image, largest first."""

    faces: list[DetectedFaceOut]
    image: ImageInfo
    models: list[ModelRef]
    request_id: str
    took_ms: float


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Bad input (INVALID_IMAGE, INVALID_ARGUMENT, NO_FACE, ...)",
        401: "UNAUTHENTICATED",
        413: "IMAGE_TOO_LARGE",
        429: "RATE_LIMITED",
        503: "SERVICE_UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.items()
}


def image_request_body(
    image_fields: tuple[str, ...], params: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """``openapi_extra`` documenting a multipart or JSON body with images and parameters."""
    multipart = {name: {"type": "string", "format": "binary"} for name in image_fields}
    json_images = {name: {"type": "string", "format": "byte"} for name in image_fields}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {**multipart, **params},
                        "required": list(image_fields),
                    }
                },
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {**json_images, **params},
                        "required": list(image_fields),
                    }
                },
            },
        }
    }
