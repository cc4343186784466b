"""The EmbeddingService RPCs: validate, embed, match against the tenant's gallery, answer.

Every method is scoped by ``request.tenant``; the gallery store enforces it on every read and
write. Errors are FaceflowError subclasses (the shared interceptor maps them to a status and a
stable code). The clustering RPCs delegate to ``ClusterRpcs`` (``cluster_rpcs.py``). Deleting
a face, user or group also drops those faces from the tenant's clustering jobs, which hold
copies of enrolled faces (``ClusterRpcs.forget``).
"""

from __future__ import annotations

import grpc
import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc
from numpy.typing import NDArray

from services.embedding.cluster_rpcs import ClusterRpcs
from services.embedding.errors import LowQualityError
from services.embedding.messages import (
    QUALITY_LEVELS,
    crop_array,
    embedding_array,
    group_message,
    match_message,
    user_message,
)
from services.embedding.scores import score_to_similarity, similarity_to_score
from services.embedding.settings import EmbeddingSettings
from services.embedding.store.base import FaceRecord, GalleryStore
from services.embedding.store.errors import (
    FaceExistsError,
    FaceNotFoundError,
    GroupExistsError,
    GroupNotFoundError,
    UserNotFoundError,
)
from services.embedding.store.validation import check_id, checked_thumbnail, is_face_token
from services.embedding.thresholds import Decision, FarTable
from services.shared.errors import InvalidArgumentError
from services.shared.face_messages import face_from_proto, quality_to_proto
from services.shared.model_zoo import Embedder, ServedModel
from services.shared.open_set import MAX_FPIR, MIN_FPIR
from services.shared.quality import assess_quality, quality_failures


def _face_token(token: str) -> str:
    """A face token to look up; one of another shape (with a NUL, say, which PostgreSQL
    refuses) names no face: FACE_NOT_FOUND."""
    if not is_face_token(token):
        raise FaceNotFoundError(f"face {token[:64]!r} not found")
    return token


class ResolvedProbe:
    """A probe's embeddings and, for a stored user, the face token of each row."""

    def __init__(self, vectors: NDArray[np.float32], tokens: list[str] | None = None) -> None:
        self.vectors = vectors
        self.tokens = tokens


class EmbeddingServicer(embedding_pb2_grpc.EmbeddingServiceServicer):  # type: ignore[misc]
    """Implements faceflow.embedding.v1.EmbeddingService."""

    def __init__(
        self,
        settings: EmbeddingSettings,
        model: Embedder,
        store: GalleryStore,
        far_table: FarTable,
        clusters: ClusterRpcs,
    ) -> None:
        self.settings = settings
        self.model = model
        self.store = store
        self.far_table = far_table
        self.clusters = clusters
        self.verify_thresholds = far_table.verify_thresholds()
        self.verify_default = far_table.verify_default
        self.models = [model.info]
        self.served_models: list[ServedModel] = [model]

    def close(self) -> None:
        """Stop the clustering worker, close the job store and the gallery store (its index
        files are flushed first)."""
        self.clusters.close()
        self.store.close()

    # ------------------------------------------------------------ helpers

    def _thresholds_message(self) -> embedding_pb2.Thresholds:
        scores = {key: similarity_to_score(v) for key, v in self.verify_thresholds.items()}
        return embedding_pb2.Thresholds(
            far_1e3=scores["1e-3"], far_1e4=scores["1e-4"], far_1e5=scores["1e-5"]
        )

    def _search_target(self, request: embedding_pb2.SearchRequest) -> tuple[float | None, float]:
        """The caller's threshold (a cosine, or None) and target FPIR, validated."""
        similarity = None
        if request.HasField("min_score"):
            if not 0.0 <= request.min_score <= 100.0:
                raise InvalidArgumentError("min_score must be between 0 and 100")
            similarity = score_to_similarity(float(request.min_score))
        fpir = self.settings.search_fpir
        if request.HasField("fpir"):
            fpir = float(request.fpir)
            if not MIN_FPIR <= fpir <= MAX_FPIR:
                raise InvalidArgumentError(f"fpir must be between {MIN_FPIR:g} and {MAX_FPIR:g}")
        return similarity, fpir

    def _search_decision(self, request: embedding_pb2.SearchRequest) -> Decision:
        """The threshold of a search: the caller's min_score, else the one for its FPIR over
        the users of the requested groups."""
        similarity, fpir = self._search_target(request)
        gallery_size = self.store.count_users(request.tenant, list(request.group_ids))
        if similarity is not None:
            return self.far_table.explicit_decision(similarity, gallery_size)
        return self.far_table.search_decision(fpir, gallery_size)

    def _embed_crops(self, crops: list[common_pb2.AlignedCrop], field: str) -> NDArray[np.float32]:
        if len(crops) > self.settings.max_batch:
            raise InvalidArgumentError(
                f"at most {self.settings.max_batch} faces per call, got {len(crops)}"
            )
        arrays = [crop_array(crop, f"{field}[{i}]") for i, crop in enumerate(crops)]
        if not arrays:
            return np.empty((0, self.model.dimension), dtype=np.float32)
        return self.model.embed(np.stack(arrays))

    def _resolve(self, tenant: str, probe: embedding_pb2.Probe, field: str) -> ResolvedProbe:
        kind = probe.WhichOneof("kind")
        if kind == "crop":
            return ResolvedProbe(self._embed_crops([probe.crop], field))
        if kind == "embedding":
            return ResolvedProbe(
                embedding_array(probe.embedding, self.model.dimension, field)[np.newaxis]
            )
        if kind == "user":
            ref = probe.user
            # One store read: tokens and vectors of the same faces, even beside a delete + add.
            faces = self.store.user_face_embeddings(tenant, ref.group_id, ref.user_id)
            if not faces:
                raise FaceNotFoundError(f"user {ref.user_id!r} has no enrolled face")
            vectors = np.stack([vector for _, vector in faces]).astype(np.float32, copy=False)
            return ResolvedProbe(vectors, [token for token, _ in faces])
        raise InvalidArgumentError(f"{field} is empty: give a crop, an embedding or a user")

    # --------------------------------------------------------------- RPCs

    def Embed(  # noqa: N802 (gRPC method name)
        self, request: embedding_pb2.EmbedRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.EmbedResponse:
        check_id(request.tenant, "tenant")
        if not request.crops:
            raise InvalidArgumentError("crops must hold at least one aligned face")
        vectors = self._embed_crops(list(request.crops), "crops")
        return embedding_pb2.EmbedResponse(
            embeddings=[embedding_pb2.Embedding(values=v.tolist()) for v in vectors],
            models=self.models,
        )

    def Verify(  # noqa: N802
        self, request: embedding_pb2.VerifyRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.VerifyResponse:
        check_id(request.tenant, "tenant")
        first = self._resolve(request.tenant, request.a, "a")
        second = self._resolve(request.tenant, request.b, "b")
        similarities = first.vectors @ second.vectors.T
        row, column = np.unravel_index(int(np.argmax(similarities)), similarities.shape)
        similarity = float(np.clip(similarities[row, column], -1.0, 1.0))
        token = ""
        if second.tokens is not None:
            token = second.tokens[int(column)]
        elif first.tokens is not None:
            token = first.tokens[int(row)]
        return embedding_pb2.VerifyResponse(
            similarity=similarity,
            score=similarity_to_score(similarity),
            same_person=similarity >= self.verify_default,
            thresholds=self._thresholds_message(),
            face_token=token,
            models=self.models,
        )

    def Search(  # noqa: N802
        self, request: embedding_pb2.SearchRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.SearchResponse:
        check_id(request.tenant, "tenant")
        if not request.probes:
            raise InvalidArgumentError("probes must hold at least one face")
        if len(request.probes) > self.settings.max_batch:
            raise InvalidArgumentError(f"at most {self.settings.max_batch} probes per call")
        if request.top_k < 0:
            raise InvalidArgumentError("top_k must not be negative")
        if any(probe.WhichOneof("kind") == "user" for probe in request.probes):
            raise InvalidArgumentError("search probes must be crops or embeddings")
        top_k = request.top_k or self.settings.default_top_k
        group_ids = list(request.group_ids)
        decision = self._search_decision(request)
        results = []
        for index, probe in enumerate(request.probes):
            vector = self._resolve(request.tenant, probe, f"probes[{index}]").vectors[0]
            matches = self.store.search(request.tenant, group_ids, vector, top_k)
            results.append(
                embedding_pb2.ProbeMatches(
                    matches=[
                        match_message(m, similarity_to_score(m.similarity))
                        for m in matches
                        if m.similarity >= decision.similarity
                    ]
                )
            )
        return embedding_pb2.SearchResponse(
            results=results,
            min_score=decision.score,
            models=self.models,
            fpir=decision.fpir,
            gallery_size=decision.gallery_size,
            far=decision.far,
        )

    def CreateGroup(  # noqa: N802
        self, request: embedding_pb2.CreateGroupRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.Group:
        try:
            return group_message(self.store.create_group(request.tenant, request.group_id))
        except GroupExistsError:
            if not request.retry:
                raise
            # A retry: the first attempt may have created it; answer with the stored group.
            for group in self.store.list_groups(request.tenant):
                if group.group_id == request.group_id:
                    return group_message(group)
            raise

    def ListGroups(  # noqa: N802
        self, request: embedding_pb2.ListGroupsRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.ListGroupsResponse:
        check_id(request.tenant, "tenant")
        groups = self.store.list_groups(request.tenant)
        return embedding_pb2.ListGroupsResponse(groups=[group_message(g) for g in groups])

    def DeleteGroup(  # noqa: N802
        self, request: embedding_pb2.DeleteGroupRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.DeleteResponse:
        try:
            self.store.delete_group(request.tenant, request.group_id)
        except GroupNotFoundError:
            if not request.retry:  # a retry: the first attempt may have deleted it
                raise
        # after the delete (or on a retry: the first attempt may have failed before this)
        self.clusters.forget(request.tenant, request.group_id)
        return embedding_pb2.DeleteResponse()

    def AddFace(  # noqa: N802
        self, request: embedding_pb2.AddFaceRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.AddFaceResponse:
        check_id(request.tenant, "tenant")
        check_id(request.group_id, "group_id")
        check_id(request.user_id, "user_id")
        level = QUALITY_LEVELS.get(request.quality_control)
        if level is None:
            raise InvalidArgumentError(f"unknown quality_control {request.quality_control}")
        thumbnail = checked_thumbnail(request.thumbnail)
        face = face_from_proto(request.face, "face")
        crop = crop_array(request.face.aligned_crop, "face.aligned_crop")
        report = assess_quality(crop, (face.box[2], face.box[3]), face.landmarks)
        reasons = quality_failures(report, level)
        if reasons:
            raise LowQualityError(reasons, level.value)
        vector = self.model.embed(crop[np.newaxis])[0]
        try:
            record = self.store.add_face(
                request.tenant,
                request.group_id,
                request.user_id,
                vector,
                request.image_sha256,
                user_info=request.user_info if request.HasField("user_info") else None,
                image=request.image if (self.settings.store_images and request.image) else None,
                thumbnail=thumbnail,
            )
        except FaceExistsError as exists:
            if not request.retry:
                raise
            record = FaceRecord(
                exists.existing_face_token,
                request.group_id,
                request.user_id,
                exists.existing_created_at,
            )
        return embedding_pb2.AddFaceResponse(
            face_token=record.face_token,
            group_id=record.group_id,
            user_id=record.user_id,
            quality=quality_to_proto(report),
            models=self.models,
        )

    def ListUsers(  # noqa: N802
        self, request: embedding_pb2.ListUsersRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.ListUsersResponse:
        limit = request.limit or self.settings.default_page_size
        users, total = self.store.list_users(
            request.tenant, request.group_id, request.offset, limit
        )
        return embedding_pb2.ListUsersResponse(users=[user_message(u) for u in users], total=total)

    def GetUser(  # noqa: N802
        self, request: embedding_pb2.GetUserRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.User:
        return user_message(self.store.get_user(request.tenant, request.group_id, request.user_id))

    def DeleteUser(  # noqa: N802
        self, request: embedding_pb2.DeleteUserRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.DeleteResponse:
        tokens: list[str] = []
        try:
            user = self.store.get_user(request.tenant, request.group_id, request.user_id)
            tokens = [face.face_token for face in user.faces]
            # forgotten before the delete too, so a retry after a failure here still can
            self.clusters.forget(request.tenant, request.group_id, tokens)
            deleted = self.store.delete_user(request.tenant, request.group_id, request.user_id)
            tokens = sorted(set(tokens) | set(deleted))  # with any face enrolled meanwhile
        except UserNotFoundError:
            if not request.retry:  # a retry: the first attempt may have deleted them
                raise
        # and after: a job may have copied one of the faces in between
        self.clusters.forget(request.tenant, request.group_id, tokens)
        return embedding_pb2.DeleteResponse()

    def DeleteFace(  # noqa: N802
        self, request: embedding_pb2.DeleteFaceRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.DeleteResponse:
        token = _face_token(request.face_token)
        try:
            self.store.delete_face(request.tenant, request.group_id, request.user_id, token)
        except FaceNotFoundError:
            if not request.retry:  # a retry: the first attempt may have deleted it
                raise
            if self.clusters.enrolled(request.tenant, request.group_id, token):
                raise  # another user's face, still enrolled: no attempt deleted it
        self.clusters.forget(request.tenant, request.group_id, [token])
        return embedding_pb2.DeleteResponse()

    def GetFaceThumbnail(  # noqa: N802
        self, request: embedding_pb2.GetFaceThumbnailRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.FaceThumbnail:
        jpeg = self.store.face_thumbnail(
            request.tenant, request.group_id, request.user_id, _face_token(request.face_token)
        )
        return embedding_pb2.FaceThumbnail(jpeg=jpeg)

    def CreateClusterJob(  # noqa: N802
        self, request: embedding_pb2.CreateClusterJobRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.ClusterJob:
        return self.clusters.create(request)

    def AddClusterFaces(  # noqa: N802
        self, request: embedding_pb2.AddClusterFacesRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.ClusterJob:
        return self.clusters.add(request)

    def GetClusterJob(  # noqa: N802
        self, request: embedding_pb2.GetClusterJobRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.ClusterJob:
        return self.clusters.get(request)

    def DeleteClusterJob(  # noqa: N802
        self, request: embedding_pb2.DeleteClusterJobRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.DeleteResponse:
        return self.clusters.delete(request)

    def DeleteTenantClusterJobs(  # noqa: N802
        self,
        request: embedding_pb2.DeleteTenantClusterJobsRequest,
        context: grpc.ServicerContext,
    ) -> embedding_pb2.DeleteTenantClusterJobsResponse:
        return self.clusters.delete_tenant(request)
