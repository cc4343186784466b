from faceflow.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FaceOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FACE_ORDER_UNSPECIFIED: _ClassVar[FaceOrder]
    FACE_ORDER_LARGEST: _ClassVar[FaceOrder]
    FACE_ORDER_CENTER: _ClassVar[FaceOrder]
FACE_ORDER_UNSPECIFIED: FaceOrder
FACE_ORDER_LARGEST: FaceOrder
FACE_ORDER_CENTER: FaceOrder

class DetectRequest(_message.Message):
    __slots__ = ("image", "max_faces", "min_face_size", "score_threshold", "include_mesh", "include_aligned_crops", "keep_native_scale", "order")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_FACES_FIELD_NUMBER: _ClassVar[int]
    MIN_FACE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_MESH_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ALIGNED_CROPS_FIELD_NUMBER: _ClassVar[int]
    KEEP_NATIVE_SCALE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.Image
    max_faces: int
    min_face_size: int
    score_threshold: float
    include_mesh: bool
    include_aligned_crops: bool
    keep_native_scale: bool
    order: FaceOrder
    def __init__(self, image: _Optional[_Union[_common_pb2.Image, _Mapping]] = ..., max_faces: _Optional[int] = ..., min_face_size: _Optional[int] = ..., score_threshold: _Optional[float] = ..., include_mesh: _Optional[bool] = ..., include_aligned_crops: _Optional[bool] = ..., keep_native_scale: _Optional[bool] = ..., order: _Optional[_Union[FaceOrder, str]] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("faces", "image_width", "image_height", "models")
    FACES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    faces: _containers.RepeatedCompositeFieldContainer[_common_pb2.Face]
    image_width: int
    image_height: int
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, faces: _Optional[_Iterable[_Union[_common_pb2.Face, _Mapping]]] = ..., image_width: _Optional[int] = ..., image_height: _Optional[int] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...
