from faceflow.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QualityControl(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUALITY_CONTROL_UNSPECIFIED: _ClassVar[QualityControl]
    QUALITY_CONTROL_NONE: _ClassVar[QualityControl]
    QUALITY_CONTROL_LOW: _ClassVar[QualityControl]
    QUALITY_CONTROL_NORMAL: _ClassVar[QualityControl]
    QUALITY_CONTROL_HIGH: _ClassVar[QualityControl]

class ClusterJobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLUSTER_JOB_STATUS_UNSPECIFIED: _ClassVar[ClusterJobStatus]
    CLUSTER_JOB_STATUS_QUEUED: _ClassVar[ClusterJobStatus]
    CLUSTER_JOB_STATUS_RUNNING: _ClassVar[ClusterJobStatus]
    CLUSTER_JOB_STATUS_DONE: _ClassVar[ClusterJobStatus]
    CLUSTER_JOB_STATUS_FAILED: _ClassVar[ClusterJobStatus]
QUALITY_CONTROL_UNSPECIFIED: QualityControl
QUALITY_CONTROL_NONE: QualityControl
QUALITY_CONTROL_LOW: QualityControl
QUALITY_CONTROL_NORMAL: QualityControl
QUALITY_CONTROL_HIGH: QualityControl
CLUSTER_JOB_STATUS_UNSPECIFIED: ClusterJobStatus
CLUSTER_JOB_STATUS_QUEUED: ClusterJobStatus
CLUSTER_JOB_STATUS_RUNNING: ClusterJobStatus
CLUSTER_JOB_STATUS_DONE: ClusterJobStatus
CLUSTER_JOB_STATUS_FAILED: ClusterJobStatus

class Embedding(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class UserRef(_message.Message):
    __slots__ = ("group_id", "user_id")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    user_id: str
    def __init__(self, group_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class Probe(_message.Message):
    __slots__ = ("crop", "embedding", "user")
    CROP_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    crop: _common_pb2.AlignedCrop
    embedding: Embedding
    user: UserRef
    def __init__(self, crop: _Optional[_Union[_common_pb2.AlignedCrop, _Mapping]] = ..., embedding: _Optional[_Union[Embedding, _Mapping]] = ..., user: _Optional[_Union[UserRef, _Mapping]] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("tenant", "crops")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    CROPS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    crops: _containers.RepeatedCompositeFieldContainer[_common_pb2.AlignedCrop]
    def __init__(self, tenant: _Optional[str] = ..., crops: _Optional[_Iterable[_Union[_common_pb2.AlignedCrop, _Mapping]]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings", "models")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...

class Thresholds(_message.Message):
    __slots__ = ("far_1e3", "far_1e4", "far_1e5")
    FAR_1E3_FIELD_NUMBER: _ClassVar[int]
    FAR_1E4_FIELD_NUMBER: _ClassVar[int]
    FAR_1E5_FIELD_NUMBER: _ClassVar[int]
    far_1e3: float
    far_1e4: float
    far_1e5: float
    def __init__(self, far_1e3: _Optional[float] = ..., far_1e4: _Optional[float] = ..., far_1e5: _Optional[float] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("tenant", "a", "b")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    a: Probe
    b: Probe
    def __init__(self, tenant: _Optional[str] = ..., a: _Optional[_Union[Probe, _Mapping]] = ..., b: _Optional[_Union[Probe, _Mapping]] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("similarity", "score", "same_person", "thresholds", "face_token", "models")
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SAME_PERSON_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    FACE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    similarity: float
    score: float
    same_person: bool
    thresholds: Thresholds
    face_token: str
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, similarity: _Optional[float] = ..., score: _Optional[float] = ..., same_person: _Optional[bool] = ..., thresholds: _Optional[_Union[Thresholds, _Mapping]] = ..., face_token: _Optional[str] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("tenant", "probes", "group_ids", "top_k", "min_score", "fpir")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    PROBES_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    FPIR_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    probes: _containers.RepeatedCompositeFieldContainer[Probe]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    top_k: int
    min_score: float
    fpir: float
    def __init__(self, tenant: _Optional[str] = ..., probes: _Optional[_Iterable[_Union[Probe, _Mapping]]] = ..., group_ids: _Optional[_Iterable[str]] = ..., top_k: _Optional[int] = ..., min_score: _Optional[float] = ..., fpir: _Optional[float] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("group_id", "user_id", "user_info", "face_token", "similarity", "score")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_INFO_FIELD_NUMBER: _ClassVar[int]
    FACE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    user_id: str
    user_info: str
    face_token: str
    similarity: float
    score: float
    def __init__(self, group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., user_info: _Optional[str] = ..., face_token: _Optional[str] = ..., similarity: _Optional[float] = ..., score: _Optional[float] = ...) -> None: ...

class ProbeMatches(_message.Message):
    __slots__ = ("matches",)
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    def __init__(self, matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("results", "min_score", "models", "fpir", "gallery_size", "far")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    FPIR_FIELD_NUMBER: _ClassVar[int]
    GALLERY_SIZE_FIELD_NUMBER: _ClassVar[int]
    FAR_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ProbeMatches]
    min_score: float
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    fpir: float
    gallery_size: int
    far: float
    def __init__(self, results: _Optional[_Iterable[_Union[ProbeMatches, _Mapping]]] = ..., min_score: _Optional[float] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ..., fpir: _Optional[float] = ..., gallery_size: _Optional[int] = ..., far: _Optional[float] = ...) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "retry")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    retry: bool
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., retry: _Optional[bool] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("group_id", "created_at", "user_count", "face_count")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    USER_COUNT_FIELD_NUMBER: _ClassVar[int]
    FACE_COUNT_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    created_at: float
    user_count: int
    face_count: int
    def __init__(self, group_id: _Optional[str] = ..., created_at: _Optional[float] = ..., user_count: _Optional[int] = ..., face_count: _Optional[int] = ...) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...

class DeleteGroupRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "retry")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    retry: bool
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., retry: _Optional[bool] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AddFaceRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "user_id", "user_info", "face", "image_sha256", "quality_control", "image", "retry", "thumbnail")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_INFO_FIELD_NUMBER: _ClassVar[int]
    FACE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    QUALITY_CONTROL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    user_id: str
    user_info: str
    face: _common_pb2.Face
    image_sha256: str
    quality_control: QualityControl
    image: bytes
    retry: bool
    thumbnail: bytes
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., user_info: _Optional[str] = ..., face: _Optional[_Union[_common_pb2.Face, _Mapping]] = ..., image_sha256: _Optional[str] = ..., quality_control: _Optional[_Union[QualityControl, str]] = ..., image: _Optional[bytes] = ..., retry: _Optional[bool] = ..., thumbnail: _Optional[bytes] = ...) -> None: ...

class AddFaceResponse(_message.Message):
    __slots__ = ("face_token", "group_id", "user_id", "quality", "models")
    FACE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    face_token: str
    group_id: str
    user_id: str
    quality: _common_pb2.Quality
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, face_token: _Optional[str] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., quality: _Optional[_Union[_common_pb2.Quality, _Mapping]] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "offset", "limit")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    offset: int
    limit: int
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class FaceRecord(_message.Message):
    __slots__ = ("face_token", "created_at", "has_thumbnail")
    FACE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    HAS_THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    face_token: str
    created_at: float
    has_thumbnail: bool
    def __init__(self, face_token: _Optional[str] = ..., created_at: _Optional[float] = ..., has_thumbnail: _Optional[bool] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("group_id", "user_id", "user_info", "faces")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_INFO_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    user_id: str
    user_info: str
    faces: _containers.RepeatedCompositeFieldContainer[FaceRecord]
    def __init__(self, group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., user_info: _Optional[str] = ..., faces: _Optional[_Iterable[_Union[FaceRecord, _Mapping]]] = ...) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users", "total")
    USERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[User]
    total: int
    def __init__(self, users: _Optional[_Iterable[_Union[User, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "user_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    user_id: str
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "user_id", "retry")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    user_id: str
    retry: bool
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., retry: _Optional[bool] = ...) -> None: ...

class DeleteFaceRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "user_id", "face_token", "retry")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FACE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    user_id: str
    face_token: str
    retry: bool
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., face_token: _Optional[str] = ..., retry: _Optional[bool] = ...) -> None: ...

class GetFaceThumbnailRequest(_message.Message):
    __slots__ = ("tenant", "group_id", "user_id", "face_token")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FACE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group_id: str
    user_id: str
    face_token: str
    def __init__(self, tenant: _Optional[str] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., face_token: _Optional[str] = ...) -> None: ...

class FaceThumbnail(_message.Message):
    __slots__ = ("jpeg",)
    JPEG_FIELD_NUMBER: _ClassVar[int]
    jpeg: bytes
    def __init__(self, jpeg: _Optional[bytes] = ...) -> None: ...

class ClusterFaceInput(_message.Message):
    __slots__ = ("crop", "photo", "face_index", "box")
    CROP_FIELD_NUMBER: _ClassVar[int]
    PHOTO_FIELD_NUMBER: _ClassVar[int]
    FACE_INDEX_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    crop: _common_pb2.AlignedCrop
    photo: str
    face_index: int
    box: _common_pb2.BoundingBox
    def __init__(self, crop: _Optional[_Union[_common_pb2.AlignedCrop, _Mapping]] = ..., photo: _Optional[str] = ..., face_index: _Optional[int] = ..., box: _Optional[_Union[_common_pb2.BoundingBox, _Mapping]] = ...) -> None: ...

class ClusterFaces(_message.Message):
    __slots__ = ("crops", "group_id", "face_tokens")
    CROPS_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    FACE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    crops: _containers.RepeatedCompositeFieldContainer[ClusterFaceInput]
    group_id: str
    face_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, crops: _Optional[_Iterable[_Union[ClusterFaceInput, _Mapping]]] = ..., group_id: _Optional[str] = ..., face_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateClusterJobRequest(_message.Message):
    __slots__ = ("tenant", "faces", "far", "min_cluster_size", "request_key")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    FAR_FIELD_NUMBER: _ClassVar[int]
    MIN_CLUSTER_SIZE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_KEY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    faces: ClusterFaces
    far: float
    min_cluster_size: int
    request_key: str
    def __init__(self, tenant: _Optional[str] = ..., faces: _Optional[_Union[ClusterFaces, _Mapping]] = ..., far: _Optional[float] = ..., min_cluster_size: _Optional[int] = ..., request_key: _Optional[str] = ...) -> None: ...

class AddClusterFacesRequest(_message.Message):
    __slots__ = ("tenant", "job_id", "faces", "request_key")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_KEY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    job_id: str
    faces: ClusterFaces
    request_key: str
    def __init__(self, tenant: _Optional[str] = ..., job_id: _Optional[str] = ..., faces: _Optional[_Union[ClusterFaces, _Mapping]] = ..., request_key: _Optional[str] = ...) -> None: ...

class GetClusterJobRequest(_message.Message):
    __slots__ = ("tenant", "job_id", "offset", "limit", "unassigned_offset", "unassigned_limit")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    UNASSIGNED_OFFSET_FIELD_NUMBER: _ClassVar[int]
    UNASSIGNED_LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    job_id: str
    offset: int
    limit: int
    unassigned_offset: int
    unassigned_limit: int
    def __init__(self, tenant: _Optional[str] = ..., job_id: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., unassigned_offset: _Optional[int] = ..., unassigned_limit: _Optional[int] = ...) -> None: ...

class DeleteTenantClusterJobsRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class DeleteTenantClusterJobsResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class DeleteClusterJobRequest(_message.Message):
    __slots__ = ("tenant", "job_id", "retry")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    job_id: str
    retry: bool
    def __init__(self, tenant: _Optional[str] = ..., job_id: _Optional[str] = ..., retry: _Optional[bool] = ...) -> None: ...

class ClusteredFace(_message.Message):
    __slots__ = ("face_id", "photo", "face_index", "box", "group_id", "face_token")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    PHOTO_FIELD_NUMBER: _ClassVar[int]
    FACE_INDEX_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    FACE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    face_id: int
    photo: str
    face_index: int
    box: _common_pb2.BoundingBox
    group_id: str
    face_token: str
    def __init__(self, face_id: _Optional[int] = ..., photo: _Optional[str] = ..., face_index: _Optional[int] = ..., box: _Optional[_Union[_common_pb2.BoundingBox, _Mapping]] = ..., group_id: _Optional[str] = ..., face_token: _Optional[str] = ...) -> None: ...

class Cluster(_message.Message):
    __slots__ = ("cluster_id", "size", "representative", "members")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    REPRESENTATIVE_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    size: int
    representative: ClusteredFace
    members: _containers.RepeatedCompositeFieldContainer[ClusteredFace]
    def __init__(self, cluster_id: _Optional[int] = ..., size: _Optional[int] = ..., representative: _Optional[_Union[ClusteredFace, _Mapping]] = ..., members: _Optional[_Iterable[_Union[ClusteredFace, _Mapping]]] = ...) -> None: ...

class ClusterJob(_message.Message):
    __slots__ = ("job_id", "status", "progress", "face_count", "pending_count", "cluster_count", "unassigned_count", "far", "link_similarity", "min_cluster_size", "created_at", "updated_at", "error", "clusters", "unassigned", "models", "added")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FACE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNASSIGNED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAR_FIELD_NUMBER: _ClassVar[int]
    LINK_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    MIN_CLUSTER_SIZE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    UNASSIGNED_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: ClusterJobStatus
    progress: float
    face_count: int
    pending_count: int
    cluster_count: int
    unassigned_count: int
    far: float
    link_similarity: float
    min_cluster_size: int
    created_at: float
    updated_at: float
    error: str
    clusters: _containers.RepeatedCompositeFieldContainer[Cluster]
    unassigned: _containers.RepeatedCompositeFieldContainer[ClusteredFace]
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    added: _containers.RepeatedCompositeFieldContainer[ClusteredFace]
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[_Union[ClusterJobStatus, str]] = ..., progress: _Optional[float] = ..., face_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., cluster_count: _Optional[int] = ..., unassigned_count: _Optional[int] = ..., far: _Optional[float] = ..., link_similarity: _Optional[float] = ..., min_cluster_size: _Optional[int] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., error: _Optional[str] = ..., clusters: _Optional[_Iterable[_Union[Cluster, _Mapping]]] = ..., unassigned: _Optional[_Iterable[_Union[ClusteredFace, _Mapping]]] = ..., models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ..., added: _Optional[_Iterable[_Union[ClusteredFace, _Mapping]]] = ...) -> None: ...
