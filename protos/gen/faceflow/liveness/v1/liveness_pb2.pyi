from faceflow.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    BLINK: _ClassVar[Action]
    OPEN_MOUTH: _ClassVar[Action]
    TURN_LEFT: _ClassVar[Action]
    TURN_RIGHT: _ClassVar[Action]
    NOD: _ClassVar[Action]
ACTION_UNSPECIFIED: Action
BLINK: Action
OPEN_MOUTH: Action
TURN_LEFT: Action
TURN_RIGHT: Action
NOD: Action

class CheckRequest(_message.Message):
    __slots__ = ("image",)
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.Image
    def __init__(self, image: _Optional[_Union[_common_pb2.Image, _Mapping]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("live", "score", "threshold", "face", "face_count", "models")
    LIVE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FACE_FIELD_NUMBER: _ClassVar[int]
    FACE_COUNT_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    live: bool
    score: float
    threshold: float
    face: _common_pb2.Face
    face_count: int
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, live: _Optional[bool] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., face: _Optional[_Union[_common_pb2.Face, _Mapping]] = ..., face_count: _Optional[int] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("tenant_id", "action_count", "ttl_seconds")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    action_count: int
    ttl_seconds: int
    def __init__(self, tenant_id: _Optional[str] = ..., action_count: _Optional[int] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("session_id", "actions", "created_at_ms", "expires_at_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    actions: _containers.RepeatedScalarFieldContainer[Action]
    created_at_ms: int
    expires_at_ms: int
    def __init__(self, session_id: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[Action, str]]] = ..., created_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class VerifySessionRequest(_message.Message):
    __slots__ = ("tenant_id", "session_id", "frames", "video", "frame_times_ms", "frame_interval_ms")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    FRAME_TIMES_MS_FIELD_NUMBER: _ClassVar[int]
    FRAME_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    session_id: str
    frames: _containers.RepeatedCompositeFieldContainer[_common_pb2.Image]
    video: bytes
    frame_times_ms: _containers.RepeatedScalarFieldContainer[int]
    frame_interval_ms: int
    def __init__(self, tenant_id: _Optional[str] = ..., session_id: _Optional[str] = ..., frames: _Optional[_Iterable[_Union[_common_pb2.Image, _Mapping]]] = ..., video: _Optional[bytes] = ..., frame_times_ms: _Optional[_Iterable[int]] = ..., frame_interval_ms: _Optional[int] = ...) -> None: ...

class ActionResult(_message.Message):
    __slots__ = ("action", "passed", "frame")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    action: Action
    passed: bool
    frame: int
    def __init__(self, action: _Optional[_Union[Action, str]] = ..., passed: _Optional[bool] = ..., frame: _Optional[int] = ...) -> None: ...

class VerifySessionResponse(_message.Message):
    __slots__ = ("session_id", "live", "score", "actions", "reasons", "frames_analysed", "frames_with_face", "threshold", "models")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_ANALYSED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_WITH_FACE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    live: bool
    score: float
    actions: _containers.RepeatedCompositeFieldContainer[ActionResult]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    frames_analysed: int
    frames_with_face: int
    threshold: float
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, session_id: _Optional[str] = ..., live: _Optional[bool] = ..., score: _Optional[float] = ..., actions: _Optional[_Iterable[_Union[ActionResult, _Mapping]]] = ..., reasons: _Optional[_Iterable[str]] = ..., frames_analysed: _Optional[int] = ..., frames_with_face: _Optional[int] = ..., threshold: _Optional[float] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...
