"""Group the faces of a folder of photos into people: ``faceflow cluster FOLDER``.

Every photo under FOLDER (sub-folders included, sorted) is uploaded in batches: the first
batch with faces creates a clustering job (``POST /clusters``), the rest are added to it
(``POST /clusters/{job_id}/photos``), so the server clusters while the upload goes on. Then the
job is polled until every face is placed, and the whole result is read page by page. A photo
the server cannot read is sent again on its own so one bad file costs only itself; a batch
whose photos hold too many faces (TOO_MANY_FACES) goes again in halves; photos without a face
are listed, not errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from faceflow_sdk.client import FaceflowClient, NamedImage
from faceflow_sdk.errors import (
    FaceflowError,
    ImageTooLargeError,
    InvalidImageError,
    NoFaceError,
    TooManyFacesError,
)
from faceflow_sdk.types import Cluster, ClusterFace, ClusterJob

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
DEFAULT_BATCH_PHOTOS = 16
MAX_PHOTOS_PER_REQUEST = 32  # the server's limit for POST /clusters and .../photos
DEFAULT_BATCH_BYTES = 24 * 1024 * 1024
PAGE = 1000
FINISHED = frozenset({"done", "failed"})


@dataclass
class PhotoFailure:
    """A photo the server refused."""

    photo: str
    code: str
    message: str


@dataclass
class ClusterFolderResult:
    """What ``cluster_folder`` found."""

    job: ClusterJob | None = None
    """The job's final state (None when no photo had a face)."""
    clusters: list[Cluster] = field(default_factory=list)
    """Every cluster, largest first."""
    unassigned: list[ClusterFace] = field(default_factory=list)
    """Faces in no cluster."""
    photos: int = 0
    """Photos found in the folder."""
    faceless: list[str] = field(default_factory=list)
    """Photos in which no face was found."""
    failures: list[PhotoFailure] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every photo was read and the job finished."""
        return not self.failures and (self.job is None or self.job["status"] == "done")


def find_photos(folder: Path) -> list[Path]:
    """Image files under ``folder`` (hidden entries skipped), sorted by relative path."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def batches(
    folder: Path,
    paths: list[Path],
    max_photos: int,
    max_bytes: int,
    unreadable: list[PhotoFailure] | None = None,
) -> Iterator[list[NamedImage]]:
    """The photos as (relative name, bytes), at most ``max_photos`` / ``max_bytes`` a batch; a
    file that cannot be read (no permission, gone meanwhile) is added to ``unreadable``."""
    batch: list[NamedImage] = []
    size = 0
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as error:
            name = path.relative_to(folder).as_posix()
            (unreadable if unreadable is not None else []).append(
                PhotoFailure(name, "UNREADABLE", error.strerror or str(error))
            )
            continue
        if batch and (len(batch) == max_photos or size + len(data) > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append((path.relative_to(folder).as_posix(), data))
        size += len(data)
    if batch:
        yield batch


class Uploader:
    """Sends batches: the first with a face creates the job, later ones add to it."""

    def __init__(
        self,
        client: FaceflowClient,
        far: float | None,
        min_cluster_size: int | None,
        result: ClusterFolderResult,
    ) -> None:
        self.client = client
        self.far = far
        self.min_cluster_size = min_cluster_size
        self.result = result
        self.job_id: str | None = None

    def send(self, batch: list[NamedImage]) -> None:
        """Upload one batch; a refused photo is retried alone so the others still count."""
        try:
            job = self._post(batch)
        except NoFaceError:
            self.result.faceless.extend(name for name, _ in batch)
            return
        except TooManyFacesError as error:  # group photos: send the batch in two halves
            if len(batch) == 1:
                self.result.failures.append(PhotoFailure(batch[0][0], error.code, error.message))
                return
            middle = len(batch) // 2
            self.send(batch[:middle])
            self.send(batch[middle:])
            return
        except (InvalidImageError, ImageTooLargeError) as error:
            if len(batch) == 1:
                self.result.failures.append(PhotoFailure(batch[0][0], error.code, error.message))
                return
            for single in batch:
                self.send([single])
            return
        for photo in job.get("photos", []):
            if not photo["face_ids"]:
                self.result.faceless.append(photo["name"])

    def _post(self, batch: list[NamedImage]) -> ClusterJob:
        if self.job_id is None:
            job = self.client.create_cluster_job(
                batch, far=self.far, min_cluster_size=self.min_cluster_size
            )
            self.job_id = job["job_id"]
            return job
        return self.client.add_cluster_photos(self.job_id, batch)


def wait_for_job(
    client: FaceflowClient,
    job_id: str,
    poll_seconds: float,
    on_progress: Callable[[ClusterJob], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ClusterJob:
    """Poll until the job is done (every face placed) or failed."""
    while True:
        job = client.get_cluster_job(job_id, limit=1, unassigned_limit=1)
        if on_progress is not None:
            on_progress(job)
        if job["status"] in FINISHED:
            return job
        sleep(poll_seconds)


def read_result(client: FaceflowClient, job_id: str, result: ClusterFolderResult) -> None:
    """Every cluster and unassigned face of a finished job, page by page."""
    offset = unassigned_offset = 0
    while True:
        page = client.get_cluster_job(
            job_id,
            offset=offset,
            limit=PAGE,
            unassigned_offset=unassigned_offset,
            unassigned_limit=PAGE,
        )
        clusters, unassigned = page.get("clusters", []), page.get("unassigned", [])
        result.clusters.extend(clusters)
        result.unassigned.extend(unassigned)
        offset += len(clusters)
        unassigned_offset += len(unassigned)
        result.job = page
        if offset >= page["cluster_count"] and unassigned_offset >= page["unassigned_count"]:
            return
        if not clusters and not unassigned:
            raise FaceflowError(f"job {job_id} changed while its result was read", code="CONFLICT")


def cluster_folder(
    client: FaceflowClient,
    folder: Path,
    *,
    far: float | None = None,
    min_cluster_size: int | None = None,
    batch_photos: int = DEFAULT_BATCH_PHOTOS,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    poll_seconds: float = 1.0,
    progress: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ClusterFolderResult:
    """Cluster the faces of every photo under ``folder`` (see module docstring).

    ``progress``: a stream (stderr) for one updating status line. API errors other than a
    refused photo (no server, a bad key, a bad ``far``) are raised.
    """
    if not 1 <= batch_photos <= MAX_PHOTOS_PER_REQUEST or batch_bytes < 1:
        raise ValueError(
            f"batch_photos must be 1-{MAX_PHOTOS_PER_REQUEST} and batch_bytes positive"
        )
    paths = find_photos(folder)
    result = ClusterFolderResult(photos=len(paths))
    uploader = Uploader(client, far, min_cluster_size, result)
    sent = 0
    for batch in batches(folder, paths, batch_photos, batch_bytes, result.failures):
        uploader.send(batch)
        sent += len(batch)
        _status(progress, f"uploaded {sent}/{len(paths)} photos")
    if uploader.job_id is None:
        _status(progress, "no face in any photo", end=True)
        return result

    def on_progress(job: ClusterJob) -> None:
        _status(
            progress,
            f"clustering {job['face_count']} faces: {job['status']} {job['progress']:.0%}",
        )

    job = wait_for_job(client, uploader.job_id, poll_seconds, on_progress, sleep)
    _status(progress, f"clustering {job['face_count']} faces: {job['status']}", end=True)
    if job["status"] == "done":
        read_result(client, uploader.job_id, result)
    else:
        result.job = job
    return result


def _status(stream: TextIO | None, text: str, end: bool = False) -> None:
    if stream is not None:
        stream.write(f"\r{text:<60}" + ("\n" if end else ""))
        stream.flush()
