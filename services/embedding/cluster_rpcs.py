"""The clustering RPCs of the embedding service: validate, embed, store the job, answer.

``ClusterRpcs`` does the work of CreateClusterJob, AddClusterFaces, GetClusterJob,
DeleteClusterJob and DeleteTenantClusterJobs for ``EmbeddingServicer``: it checks every field
(limits on faces per request and per job, the FAR, paging), embeds the crops on the request
thread (so a job stores embeddings, never images), reads enrolled faces' stored embeddings from
the gallery, writes the job (``ClusterJobStore``) and wakes the background worker
(``ClusterWorker``) that clusters it. The link threshold is the served model's cosine at the
requested per-pair FAR (``FarTable``): at FAR 1e-5 (the default) SFace links faces at cosine
0.468.

Enrolled faces are copied into a job, so a face, user or group deleted from the gallery is
dropped from the tenant's jobs as well (``forget``, called by the servicer's Delete RPCs after the
gallery delete). A create or add that copied faces reads the gallery again once the job holds
them: a face deleted in between (whose delete swept the jobs before this job held it) is dropped
then, so no deleted face stays in a job.
"""

from __future__ import annotations

import math
import re

import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2

from services.embedding.cluster_jobs import (
    ClusterJobStore,
    Job,
    JobFace,
    JobPage,
    JobSettings,
    JobStatus,
    NewFace,
)
from services.embedding.cluster_worker import ClusterWorker
from services.embedding.errors import ClusterJobNotFoundError
from services.embedding.messages import crop_array
from services.embedding.settings import EmbeddingSettings
from services.embedding.store.base import GalleryStore
from services.embedding.store.errors import (
    FaceExistsError,
    FaceNotFoundError,
    GroupNotFoundError,
)
from services.embedding.store.validation import MAX_PAGE_LIMIT, check_id, is_face_token
from services.embedding.thresholds import FarTable
from services.shared.errors import InvalidArgumentError
from services.shared.limits import MAX_FAR, MAX_MIN_CLUSTER_SIZE, MAX_PHOTO_NAME_CHARS, MIN_FAR
from services.shared.model_zoo import Embedder

DEFAULT_MIN_CLUSTER_SIZE = 2
DEFAULT_PAGE = 100
JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_REQUEST_KEY_CHARS = 64

STATUS_MESSAGES = {
    JobStatus.QUEUED: embedding_pb2.CLUSTER_JOB_STATUS_QUEUED,
    JobStatus.RUNNING: embedding_pb2.CLUSTER_JOB_STATUS_RUNNING,
    JobStatus.DONE: embedding_pb2.CLUSTER_JOB_STATUS_DONE,
    JobStatus.FAILED: embedding_pb2.CLUSTER_JOB_STATUS_FAILED,
}


def model_key(model: Embedder) -> str:
    """``name:version`` of an embedder, as a job records it."""
    return f"{model.info.name}:{model.info.version}"


def face_message(face: JobFace) -> embedding_pb2.ClusteredFace:
    """A stored job face as its message."""
    x, y, width, height = face.box
    return embedding_pb2.ClusteredFace(
        face_id=face.face_id,
        photo=face.photo,
        face_index=face.face_index,
        box=common_pb2.BoundingBox(x=x, y=y, width=width, height=height),
        group_id=face.group_id,
        face_token=face.face_token,
    )


def job_message(
    job: Job, page: JobPage | None = None, added: list[JobFace] | None = None
) -> embedding_pb2.ClusterJob:
    """A job (with a page of its result, or the faces a call added) as its message."""
    message = embedding_pb2.ClusterJob(
        job_id=job.job_id,
        status=STATUS_MESSAGES[job.status],
        progress=job.progress,
        face_count=job.live_count,
        pending_count=job.pending_count,
        cluster_count=job.cluster_count,
        unassigned_count=job.unassigned_count,
        far=job.settings.far,
        link_similarity=job.settings.link_similarity,
        min_cluster_size=job.settings.min_cluster_size,
        created_at=job.created_at,
        updated_at=job.updated_at,
        error=job.error,
        added=[face_message(face) for face in added or []],
    )
    if page is not None:
        message.clusters.extend(
            embedding_pb2.Cluster(
                cluster_id=c.cluster_id,
                size=c.size,
                representative=face_message(c.representative),
                members=[face_message(m) for m in c.members],
            )
            for c in page.clusters
        )
        message.unassigned.extend(face_message(face) for face in page.unassigned)
    return message


def check_job_id(job_id: str) -> str:
    """A job id of the right shape; anything else names no job (CLUSTER_JOB_NOT_FOUND)."""
    if not JOB_ID_PATTERN.match(job_id):
        raise ClusterJobNotFoundError(f"cluster job {job_id!r} not found")
    return job_id


def check_request_key(key: str) -> str:
    """An optional idempotency key: at most ``MAX_REQUEST_KEY_CHARS`` characters."""
    if len(key) > MAX_REQUEST_KEY_CHARS:
        raise InvalidArgumentError(
            f"request_key must be at most {MAX_REQUEST_KEY_CHARS} characters"
        )
    return key


def check_paging(offset: int, limit: int, field: str) -> int:
    """Offset and limit of one list in a page; returns the limit (0 means the default)."""
    prefix = f"{field}_" if field else ""
    if offset < 0:
        raise InvalidArgumentError(f"{prefix}offset must be >= 0")
    if not 0 <= limit <= MAX_PAGE_LIMIT:
        raise InvalidArgumentError(f"{prefix}limit must be between 1 and {MAX_PAGE_LIMIT}")
    return limit or DEFAULT_PAGE


class ClusterRpcs:
    """The clustering RPCs (see module docstring)."""

    def __init__(
        self,
        settings: EmbeddingSettings,
        model: Embedder,
        gallery: GalleryStore,
        far_table: FarTable,
        jobs: ClusterJobStore,
        worker: ClusterWorker | None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.gallery = gallery
        self.far_table = far_table
        self.jobs = jobs
        self.worker = worker
        self.model_key = model_key(model)

    def close(self) -> None:
        """Stop the worker (its job goes back to the queue) and close the job store."""
        if self.worker is not None:
            self.worker.stop()
        self.jobs.close()

    # ---------------------------------------------------------------- RPCs

    def create(self, request: embedding_pb2.CreateClusterJobRequest) -> embedding_pb2.ClusterJob:
        """CreateClusterJob."""
        tenant = check_id(request.tenant, "tenant")
        settings = self._job_settings(request)
        key = check_request_key(request.request_key)
        faces = self._faces(tenant, request.faces)
        if len(faces) > self.settings.cluster_max_job_faces:
            raise InvalidArgumentError(
                f"at most {self.settings.cluster_max_job_faces} faces per job, got {len(faces)}"
            )
        job, added = self.jobs.create(
            tenant,
            settings,
            faces,
            request_key=key,
            max_jobs=self.settings.cluster_max_jobs_per_tenant,
        )
        self._drop_deleted(tenant, request.faces)
        self._wake()
        return self._answer(job_message(job, added=added))

    def add(self, request: embedding_pb2.AddClusterFacesRequest) -> embedding_pb2.ClusterJob:
        """AddClusterFaces."""
        tenant = check_id(request.tenant, "tenant")
        job_id = check_job_id(request.job_id)
        key = check_request_key(request.request_key)
        faces = self._faces(tenant, request.faces)

        def check(job: Job, tokens_in_job: set[str]) -> None:
            if job.settings.model != self.model_key:
                raise InvalidArgumentError(
                    f"the job's faces were embedded by {job.settings.model}; this service runs "
                    f"{self.model_key}: create a new job"
                )
            total = job.live_count + len(faces)  # faces deleted from the gallery left the job
            if total > self.settings.cluster_max_job_faces:
                raise InvalidArgumentError(
                    f"at most {self.settings.cluster_max_job_faces} faces per job: the job "
                    f"holds {job.live_count}, {len(faces)} more would make {total}"
                )
            if tokens_in_job:
                raise FaceExistsError(
                    f"face {sorted(tokens_in_job)[0]!r} is in the job already", "", 0.0
                )

        job, added = self.jobs.add(tenant, job_id, faces, check, request_key=key)
        self._drop_deleted(tenant, request.faces)
        self._wake()
        return self._answer(job_message(job, added=added))

    def get(self, request: embedding_pb2.GetClusterJobRequest) -> embedding_pb2.ClusterJob:
        """GetClusterJob."""
        tenant = check_id(request.tenant, "tenant")
        job_id = check_job_id(request.job_id)
        limit = check_paging(request.offset, request.limit, "")
        unassigned_limit = check_paging(
            request.unassigned_offset, request.unassigned_limit, "unassigned"
        )
        page = self.jobs.page(
            tenant, job_id, request.offset, limit, request.unassigned_offset, unassigned_limit
        )
        return self._answer(job_message(page.job, page))

    def delete(
        self, request: embedding_pb2.DeleteClusterJobRequest
    ) -> embedding_pb2.DeleteResponse:
        """DeleteClusterJob."""
        tenant = check_id(request.tenant, "tenant")
        try:
            self.jobs.delete(tenant, check_job_id(request.job_id))
        except ClusterJobNotFoundError:
            if not request.retry:  # a retry: the first attempt may have deleted it
                raise
        return embedding_pb2.DeleteResponse()

    def delete_tenant(
        self, request: embedding_pb2.DeleteTenantClusterJobsRequest
    ) -> embedding_pb2.DeleteTenantClusterJobsResponse:
        """DeleteTenantClusterJobs."""
        deleted = self.jobs.delete_tenant(check_id(request.tenant, "tenant"))
        return embedding_pb2.DeleteTenantClusterJobsResponse(deleted=deleted)

    def forget(self, tenant: str, group_id: str, face_tokens: list[str] | None = None) -> None:
        """Drop faces deleted from the gallery (these tokens of the group; ``None``: the whole
        group) from the tenant's jobs; the jobs that held one are clustered again."""
        if self.jobs.remove_faces(tenant, group_id, face_tokens):
            self._wake()

    def enrolled(self, tenant: str, group_id: str, token: str) -> bool:
        """Whether the group holds a face with this token."""
        try:
            self.gallery.face_embeddings(tenant, group_id, [token])
        except (FaceNotFoundError, GroupNotFoundError):
            return False
        return True

    # ------------------------------------------------------------- helpers

    def _drop_deleted(self, tenant: str, faces: embedding_pb2.ClusterFaces) -> None:
        """After enrolled faces were copied into a job: forget those deleted meanwhile."""
        tokens = list(faces.face_tokens)
        if not tokens:
            return
        try:
            self.gallery.face_embeddings(tenant, faces.group_id, tokens)
            return
        except GroupNotFoundError:
            gone: list[str] | None = None
        except FaceNotFoundError:
            gone = [token for token in tokens if not self.enrolled(tenant, faces.group_id, token)]
        self.forget(tenant, faces.group_id, gone)

    def _answer(self, message: embedding_pb2.ClusterJob) -> embedding_pb2.ClusterJob:
        message.models.append(self.model.info)
        return message

    def _wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    def _job_settings(self, request: embedding_pb2.CreateClusterJobRequest) -> JobSettings:
        far = float(request.far) if request.HasField("far") else self.settings.cluster_far
        if not (math.isfinite(far) and MIN_FAR <= far <= MAX_FAR):
            raise InvalidArgumentError(f"far must be between {MIN_FAR:g} and {MAX_FAR:g}")
        min_size = request.min_cluster_size or DEFAULT_MIN_CLUSTER_SIZE
        if not 1 <= min_size <= MAX_MIN_CLUSTER_SIZE:
            raise InvalidArgumentError(
                f"min_cluster_size must be between 1 and {MAX_MIN_CLUSTER_SIZE}"
            )
        similarity = self.far_table.similarity_at_far(far)
        return JobSettings(far, round(similarity, 6), min_size, self.model_key)

    def _faces(self, tenant: str, faces: embedding_pb2.ClusterFaces) -> list[NewFace]:
        """The faces of a request, embedded (crops) or read from the gallery (tokens)."""
        crops, tokens = list(faces.crops), list(faces.face_tokens)
        count = len(crops) + len(tokens)
        if crops and (tokens or faces.group_id):
            raise InvalidArgumentError("faces must hold crops or group_id + face_tokens, not both")
        if count == 0:
            if faces.group_id:
                raise InvalidArgumentError("face_tokens must name at least one face of group_id")
            raise InvalidArgumentError("faces must hold crops or group_id + face_tokens")
        if count > self.settings.cluster_max_request_faces:
            raise InvalidArgumentError(
                f"at most {self.settings.cluster_max_request_faces} faces per request, got {count}"
            )
        if crops:
            return self._crop_faces(crops)
        return self._enrolled_faces(tenant, faces.group_id, tokens)

    def _crop_faces(self, crops: list[embedding_pb2.ClusterFaceInput]) -> list[NewFace]:
        arrays = []
        for index, face in enumerate(crops):
            field = f"faces.crops[{index}]"
            if len(face.photo) > MAX_PHOTO_NAME_CHARS:
                raise InvalidArgumentError(
                    f"{field}.photo must be at most {MAX_PHOTO_NAME_CHARS} characters"
                )
            if "\x00" in face.photo:  # a PostgreSQL text column cannot hold it
                raise InvalidArgumentError(f"{field}.photo must not contain a NUL character")
            if face.face_index < 0:
                raise InvalidArgumentError(f"{field}.face_index must be >= 0")
            box = (face.box.x, face.box.y, face.box.width, face.box.height)
            if not all(math.isfinite(v) for v in box) or box[2] < 0 or box[3] < 0:
                raise InvalidArgumentError(f"{field}.box must be finite with a non-negative size")
            arrays.append(crop_array(face.crop, f"{field}.crop"))
        batch = self.settings.max_batch
        chunks = [arrays[i : i + batch] for i in range(0, len(arrays), batch)]
        vectors = np.concatenate([self.model.embed(np.stack(chunk)) for chunk in chunks])
        return [
            NewFace(
                vectors[i],
                photo=face.photo,
                face_index=face.face_index,
                box=(face.box.x, face.box.y, face.box.width, face.box.height),
            )
            for i, face in enumerate(crops)
        ]

    def _enrolled_faces(self, tenant: str, group_id: str, tokens: list[str]) -> list[NewFace]:
        if not group_id:
            raise InvalidArgumentError("group_id is required with face_tokens")
        check_id(group_id, "group_id")
        seen: set[str] = set()
        for index, token in enumerate(tokens):
            if not is_face_token(token):
                raise InvalidArgumentError(f"face_tokens[{index}] is not a face token")
            if token in seen:
                raise InvalidArgumentError(f"face {token!r} appears twice in face_tokens")
            seen.add(token)
        vectors = self.gallery.face_embeddings(tenant, group_id, tokens)
        return [
            NewFace(vectors[i], group_id=group_id, face_token=token)
            for i, token in enumerate(tokens)
        ]
