"""Response schemas shared by the endpoints (faces, models, errors) and the /detect response.

Each schema that mirrors a service message has an ``of`` constructor from that message, so a
route builds its answer from these classes only and the OpenAPI document (``/docs``) describes
exactly what is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import Any, Protocol, Self

from faceflow.attributes.v1 import attributes_pb2
from faceflow.common.v1 import common_pb2
from pydantic import BaseModel, ConfigDict, Field

from gateway.orchestration.attributes import ATTRIBUTE_NAMES
from gateway.orchestration.pipeline import face_token

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


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

    @classmethod
    def of(cls, box: common_pb2.BoundingBox) -> Self:
        """Rounded to 0.1 px."""
        return cls(
            x=round(box.x, 1),
            y=round(box.y, 1),
            width=round(box.width, 1),
            height=round(box.height, 1),
        )


class Landmarks(BaseModel):
    """Five landmarks, each [x, y] in image pixels; left/right as seen in the image."""

    left_eye: list[float]
    right_eye: list[float]
    nose: list[float]
    mouth_left: list[float]
    mouth_right: list[float]

    @classmethod
    def of(cls, face: common_pb2.Face) -> Self:
        """Rounded to 0.1 px."""
        marks = face.landmarks
        points = {name: getattr(marks, name) for name in LANDMARK_NAMES}
        return cls(**{name: [round(p.x, 1), round(p.y, 1)] for name, p in points.items()})


def face_score(face: common_pb2.Face) -> float:
    """The detector's confidence as answered (4 decimals)."""
    return round(face.score, 4)


class FaceBase(BaseModel):
    """The fields of every detected face in a response."""

    face_token: str
    box: Box
    score: float
    landmarks: Landmarks

    @classmethod
    def of(cls, photo: bytes, face: common_pb2.Face, /, **extra: Any) -> Self:
        """A detected face of ``photo`` (its token hashes the photo and box), with ``extra``
        fields of the subclass."""
        return cls(
            face_token=face_token(photo, face),
            box=Box.of(face.box),
            score=face_score(face),
            landmarks=Landmarks.of(face),
            **extra,
        )


class HasModels(Protocol):
    """A service response that names the models that produced it."""

    @property
    def models(self) -> Any: ...


class ModelRef(BaseModel):
    """A model used to answer."""

    name: str
    version: str

    @classmethod
    def merged(cls, *responses: HasModels) -> list[Self]:
        """The ``models`` of several responses, in order, without duplicates."""
        seen: dict[tuple[str, str], Self] = {}
        for response in responses:
            for model in response.models:
                key = (model.name, model.version)
                seen.setdefault(key, cls(name=model.name, version=model.version))
        return list(seen.values())


class AgeOut(BaseModel):
    """Estimated age in years with a plausible range."""

    value: float
    range: list[float] = Field(description="[low, high] in years")

    @classmethod
    def of(cls, age: attributes_pb2.Age) -> Self:
        return cls(value=_round(age.value, 1), range=[_round(age.low, 1), _round(age.high, 1)])


class GenderOut(BaseModel):
    """Estimated gender and the model's probability for it."""

    label: str = Field(examples=["female"])
    probability: float

    @classmethod
    def of(cls, gender: attributes_pb2.Gender) -> Self:
        return cls(label=gender.label, probability=_round(gender.probability, 4))


class EmotionOut(BaseModel):
    """Probabilities over the 7 FER classes."""

    dominant: str = Field(examples=["happy"])
    probabilities: dict[str, float]

    @classmethod
    def of(cls, emotion: attributes_pb2.Emotion) -> Self:
        return cls(
            dominant=emotion.dominant,
            probabilities={s.label: _round(s.probability, 4) for s in emotion.scores},
        )


class PoseOut(BaseModel):
    """Head pose in degrees and the landmarks it came from (mesh or 5 points)."""

    yaw: float
    pitch: float
    roll: float
    source: str

    @classmethod
    def of(cls, pose: attributes_pb2.Pose) -> Self:
        return cls(
            yaw=_round(pose.yaw, 1),
            pitch=_round(pose.pitch, 1),
            roll=_round(pose.roll, 1),
            source=pose.source,
        )


class QualityOut(BaseModel):
    """Image quality of the face: a 0-1 score and its parts."""

    score: float
    blur: float
    brightness: float
    face_size: float
    eyes_open: float | None = None
    mouth_open: float | None = None

    @classmethod
    def of(cls, quality: common_pb2.Quality) -> Self:
        """eyes_open and mouth_open need the mesh: null without it."""
        return cls(
            score=_round(quality.score),
            blur=_round(quality.blur, 1),
            brightness=_round(quality.brightness, 1),
            face_size=_round(quality.face_size, 1),
            eyes_open=_round(quality.eyes_open) if quality.HasField("eyes_open") else None,
            mouth_open=_round(quality.mouth_open) if quality.HasField("mouth_open") else None,
        )


def _round(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


ATTRIBUTE_SHAPES: dict[str, Callable[[Any], BaseModel]] = {
    "age": AgeOut.of,
    "gender": GenderOut.of,
    "emotion": EmotionOut.of,
    "pose": PoseOut.of,
    "quality": QualityOut.of,
}


class DetectedFaceOut(FaceBase):
    """One face. Optional fields appear when requested with ``fields``; an attribute that could
    not be computed is null and its reason is in ``unavailable``."""

    model_config = ConfigDict(extra="allow")

    mesh: list[list[float]] | None = Field(default=None, description="468 [x, y, z] points")
    age: AgeOut | None = None
    gender: GenderOut | None = None
    emotion: EmotionOut | None = None
    pose: PoseOut | None = None
    quality: QualityOut | None = None
    unavailable: dict[str, str] | None = Field(
        default=None, description="attribute -> reason it could not be computed"
    )


def mesh_points(face: common_pb2.Face) -> list[list[float]]:
    """The 468-point mesh as [x, y, z] rounded to 0.01."""
    return [[round(p.x, 2), round(p.y, 2), round(p.z, 2)] for p in face.mesh]


def attribute_fields(result: attributes_pb2.FaceAttributes, names: Set[str]) -> dict[str, Any]:
    """The ``DetectedFaceOut`` fields for the requested attributes of one face: each is its
    schema, or None (null) when it could not be computed, with the reasons in ``unavailable``."""
    fields: dict[str, Any] = {
        name: ATTRIBUTE_SHAPES[name](getattr(result, name)) if result.HasField(name) else None
        for name in sorted(names)
    }
    if result.unavailable:
        fields["unavailable"] = {ATTRIBUTE_NAMES[u.attribute]: u.reason for u in result.unavailable}
    return fields


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


def error_responses(described: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses every authenticated endpoint can answer,
    plus ``described`` ones (``{404: "GROUP_NOT_FOUND, ..."}``), all with the envelope."""
    statuses = {
        400: "Bad input (INVALID_IMAGE, INVALID_ARGUMENT, NO_FACE, ...)",
        401: "UNAUTHENTICATED",
        413: "IMAGE_TOO_LARGE",
        429: "RATE_LIMITED",
        503: "SERVICE_UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
        **(described or {}),
    }
    return {
        status: {"model": ErrorResponse, "description": description}
        for status, description in statuses.items()
    }


ERROR_RESPONSES = error_responses()
