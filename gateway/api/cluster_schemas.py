"""Response schemas of the clustering endpoints (for the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal, Self

from faceflow.embedding.v1 import embedding_pb2
from pydantic import BaseModel, Field

from gateway.api.schemas import Box, ModelRef

JobStatus = Literal["queued", "running", "done", "failed"]
STATUS_NAMES: dict[int, JobStatus] = {
    embedding_pb2.CLUSTER_JOB_STATUS_QUEUED: "queued",
    embedding_pb2.CLUSTER_JOB_STATUS_RUNNING: "running",
    embedding_pb2.CLUSTER_JOB_STATUS_DONE: "done",
    embedding_pb2.CLUSTER_JOB_STATUS_FAILED: "failed",
}


class ClusterFaceOut(BaseModel):
    """One face of a job: from a photo (``photo``, ``face_index``, ``box``) or an enrolled
    face (``group_id``, ``face_token``); the other fields are null."""

    face_id: int = Field(description="the face's number in the job (0, 1, ... as added)")
    photo: str | None = Field(description="the photo's file name as uploaded")
    face_index: int | None = Field(description="the face's index in the photo, largest first")
    box: Box | None = Field(description="the face in the photo, pixels")
    group_id: str | None = Field(description="the group of an enrolled face")
    face_token: str | None = Field(description="the enrolled face")

    @classmethod
    def of(cls, face: embedding_pb2.ClusteredFace) -> Self:
        from_photo = not face.face_token
        return cls(
            face_id=face.face_id,
            photo=face.photo if from_photo else None,
            face_index=face.face_index if from_photo else None,
            box=Box.of(face.box) if from_photo else None,
            group_id=None if from_photo else face.group_id,
            face_token=None if from_photo else face.face_token,
        )


class ClusterOut(BaseModel):
    """One person: the faces linked together. ``cluster_id`` 0 is the largest; the numbers
    follow the sizes, so they can change when faces are added (a face's ``face_id`` never
    does)."""

    cluster_id: int
    size: int
    representative: ClusterFaceOut = Field(
        description="the medoid: the face most similar, on average, to the others"
    )
    faces: list[ClusterFaceOut] = Field(description="every member, by face_id")

    @classmethod
    def of(cls, cluster: embedding_pb2.Cluster) -> Self:
        return cls(
            cluster_id=cluster.cluster_id,
            size=cluster.size,
            representative=ClusterFaceOut.of(cluster.representative),
            faces=[ClusterFaceOut.of(face) for face in cluster.members],
        )


class ClusterPhotoOut(BaseModel):
    """An uploaded photo and the ids its faces got in the job (empty: no face in it)."""

    index: int = Field(description="the photo's position in the request")
    name: str
    face_ids: list[int]


class ClusterJobBase(BaseModel):
    """A clustering job's state."""

    job_id: str
    status: JobStatus = Field(
        description="queued (waiting for the worker, or faces were added), running, done, "
        "failed (see error; adding photos retries)"
    )
    progress: float = Field(ge=0, le=1, description="of the current run, 0-1 (1 when done)")
    face_count: int = Field(description="faces in the job")
    pending_count: int = Field(
        description="faces added since the last finished run: not yet in clusters or unassigned"
    )
    cluster_count: int = Field(description="clusters (people) in the latest result")
    unassigned_count: int = Field(description="faces of the latest result in no cluster")
    far: float = Field(description="per-pair false-accept rate of the link threshold")
    link_similarity: float = Field(description="the cosine two faces must reach to be linked")
    min_cluster_size: int = Field(description="smaller clusters are left unassigned")
    created_at: float = Field(description="seconds since the epoch")
    updated_at: float = Field(description="seconds since the epoch")
    error: str | None = Field(description="why the job failed (status failed)")

    @staticmethod
    def fields_of(job: embedding_pb2.ClusterJob) -> dict[str, Any]:
        """The job fields of a service reply."""
        return {
            "job_id": job.job_id,
            "status": STATUS_NAMES[job.status],
            "progress": round(job.progress, 4),
            "face_count": job.face_count,
            "pending_count": job.pending_count,
            "cluster_count": job.cluster_count,
            "unassigned_count": job.unassigned_count,
            "far": job.far,
            "link_similarity": round(job.link_similarity, 4),
            "min_cluster_size": job.min_cluster_size,
            "created_at": round(job.created_at, 3),
            "updated_at": round(job.updated_at, 3),
            "error": job.error or None,
        }


class ClusterJobOut(ClusterJobBase):
    """A job just created or grown (202: it is clustered in the background)."""

    faces_added: int
    photos: list[ClusterPhotoOut] = Field(description="the uploaded photos (empty for tokens)")
    models: list[ModelRef]
    request_id: str
    took_ms: float


class ClusterJobPageOut(ClusterJobBase):
    """A job with one page of its latest result."""

    clusters: list[ClusterOut] = Field(description="clusters offset..offset+limit, largest first")
    unassigned: list[ClusterFaceOut] = Field(
        description="unassigned faces unassigned_offset..+unassigned_limit, by face_id"
    )
    offset: int
    limit: int
    unassigned_offset: int
    unassigned_limit: int
    models: list[ModelRef]
    request_id: str
    took_ms: float


class ClusterJobDeletedOut(BaseModel):
    """The job is gone."""

    job_id: str
    deleted: bool
    request_id: str
    took_ms: float
