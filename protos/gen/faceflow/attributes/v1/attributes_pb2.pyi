from faceflow.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Attribute(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTE_UNSPECIFIED: _ClassVar[Attribute]
    ATTRIBUTE_AGE: _ClassVar[Attribute]
    ATTRIBUTE_GENDER: _ClassVar[Attribute]
    ATTRIBUTE_EMOTION: _ClassVar[Attribute]
    ATTRIBUTE_POSE: _ClassVar[Attribute]
    ATTRIBUTE_QUALITY: _ClassVar[Attribute]
ATTRIBUTE_UNSPECIFIED: Attribute
ATTRIBUTE_AGE: Attribute
ATTRIBUTE_GENDER: Attribute
ATTRIBUTE_EMOTION: Attribute
ATTRIBUTE_POSE: Attribute
ATTRIBUTE_QUALITY: Attribute

class AnalyzeRequest(_message.Message):
    __slots__ = ("image", "faces", "attributes")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.Image
    faces: _containers.RepeatedCompositeFieldContainer[_common_pb2.Face]
    attributes: _containers.RepeatedScalarFieldContainer[Attribute]
    def __init__(self, image: _Optional[_Union[_common_pb2.Image, _Mapping]] = ..., faces: _Optional[_Iterable[_Union[_common_pb2.Face, _Mapping]]] = ..., attributes: _Optional[_Iterable[_Union[Attribute, str]]] = ...) -> None: ...

class Age(_message.Message):
    __slots__ = ("value", "low", "high")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    value: float
    low: float
    high: float
    def __init__(self, value: _Optional[float] = ..., low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...

class Gender(_message.Message):
    __slots__ = ("label", "probability")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    label: str
    probability: float
    def __init__(self, label: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class EmotionScore(_message.Message):
    __slots__ = ("label", "probability")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    label: str
    probability: float
    def __init__(self, label: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class Emotion(_message.Message):
    __slots__ = ("scores", "dominant")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DOMINANT_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedCompositeFieldContainer[EmotionScore]
    dominant: str
    def __init__(self, scores: _Optional[_Iterable[_Union[EmotionScore, _Mapping]]] = ..., dominant: _Optional[str] = ...) -> None: ...

class Pose(_message.Message):
    __slots__ = ("yaw", "pitch", "roll", "source")
    YAW_FIELD_NUMBER: _ClassVar[int]
    PITCH_FIELD_NUMBER: _ClassVar[int]
    ROLL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    yaw: float
    pitch: float
    roll: float
    source: str
    def __init__(self, yaw: _Optional[float] = ..., pitch: _Optional[float] = ..., roll: _Optional[float] = ..., source: _Optional[str] = ...) -> None: ...

class Unavailable(_message.Message):
    __slots__ = ("attribute", "reason")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    attribute: Attribute
    reason: str
    def __init__(self, attribute: _Optional[_Union[Attribute, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class FaceAttributes(_message.Message):
    __slots__ = ("age", "gender", "emotion", "pose", "quality", "unavailable")
    AGE_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    POSE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    age: Age
    gender: Gender
    emotion: Emotion
    pose: Pose
    quality: _common_pb2.Quality
    unavailable: _containers.RepeatedCompositeFieldContainer[Unavailable]
    def __init__(self, age: _Optional[_Union[Age, _Mapping]] = ..., gender: _Optional[_Union[Gender, _Mapping]] = ..., emotion: _Optional[_Union[Emotion, _Mapping]] = ..., pose: _Optional[_Union[Pose, _Mapping]] = ..., quality: _Optional[_Union[_common_pb2.Quality, _Mapping]] = ..., unavailable: _Optional[_Iterable[_Union[Unavailable, _Mapping]]] = ...) -> None: ...

class AnalyzeResponse(_message.Message):
    __slots__ = ("faces", "models")
    FACES_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    faces: _containers.RepeatedCompositeFieldContainer[FaceAttributes]
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, faces: _Optional[_Iterable[_Union[FaceAttributes, _Mapping]]] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...
