"""Clustering jobs and their state in a database: faces with embeddings, labels, status.

One job = the faces a tenant sent (embedded on arrival, with the caller's photo metadata or
the enrolled face token), the latest clustering of them (a label per face and a row per
cluster with its representative) and where the background work is (status, progress, which
worker holds it and when it last said so). ``ClusterJobStore`` holds every rule once; the
database is an adapter: a SQLite file in the embedding service's data dir (the embedded
default, ``SqliteJobDatabase`` below) or PostgreSQL when the gallery store is
``postgresql://`` (``cluster_jobs_pg.py``; every replica sees every job).

Work is handed out by lease: a worker claims a queued job (or a running one whose holder has
not reported for ``lease_seconds``: it died) in one conditional update, reports progress and a
heartbeat while it runs, and writes the result only while it still holds the job. So a job
survives a restart of the service (the next worker picks it up again) and a job deleted or
re-claimed meanwhile is never overwritten by a stale run. Faces added while a run is going are
not in its result; the job goes back to the queue and the next run places them (``extend``).
Face ids are dense per job (0, 1, 2, ... in the order added) and never change. A create or add
may carry a ``request_key``: the same key again (a retry after the first attempt's answer was
lost) returns what the first did instead of making a second job or adding the faces twice.

Enrolled faces are copied into a job (their embedding and face token), so a face deleted from
the gallery must be dropped from jobs too (``remove_faces``): its row stays as a tombstone that
keeps its face id taken (label ``REMOVED``, no embedding, no token, no group) and the job's
result is discarded and the job queued again, so the next run clusters the faces left and the
answer never holds, nor was computed with, a deleted face.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from services.embedding.clustering import NOISE
from services.embedding.errors import ClusterJobNotFoundError, TooManyJobsError
from services.shared.errors import InvalidArgumentError

JOB_ID_BYTES = 16
JOB_COLUMNS = (
    "job_id, tenant, status, far, link_similarity, min_cluster_size, model, face_count,"
    " clustered_count, cluster_count, unassigned_count, progress, error, attempts,"
    " created_at, updated_at"
)
FACE_COLUMNS = (
    "face_id, photo, face_index, box_x, box_y, box_width, box_height, group_id, face_token"
)
REMOVED = -2
"""The label of a face removed from its job (deleted from the gallery): in no cluster, not
unassigned, never clustered again."""
TOKEN_CHUNK = 500


class JobStatus(StrEnum):
    """Where a job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class NewFace:
    """A face to add to a job: its unit embedding and where it came from."""

    embedding: NDArray[np.float32]
    photo: str = ""
    face_index: int = 0
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    group_id: str = ""
    face_token: str = ""


@dataclass(frozen=True)
class JobFace:
    """A stored face of a job (without its embedding)."""

    face_id: int
    photo: str
    face_index: int
    box: tuple[float, float, float, float]
    group_id: str
    face_token: str


@dataclass(frozen=True)
class JobSettings:
    """How a job clusters: fixed when it is created."""

    far: float
    link_similarity: float
    min_cluster_size: int
    model: str
    """``name:version`` of the embedder: faces added later must come from the same model."""


@dataclass(frozen=True)
class Job:
    """A job's row."""

    job_id: str
    tenant: str
    status: JobStatus
    settings: JobSettings
    face_count: int
    clustered_count: int
    """Faces the stored result covers (those not removed among the face ids it spans)."""
    cluster_count: int
    unassigned_count: int
    progress: float
    error: str
    attempts: int
    """Claims since the last finished run (a job that kills its worker stops being retried)."""
    created_at: float
    updated_at: float
    removed_count: int = 0
    """Faces removed from the job because they were deleted from the gallery (``face_count``
    counts them: it is the number of face ids handed out)."""

    @property
    def live_count(self) -> int:
        """Faces in the job: added and not removed."""
        return self.face_count - self.removed_count

    @property
    def pending_count(self) -> int:
        """Faces added since the last finished run."""
        return self.live_count - self.clustered_count


@dataclass(frozen=True)
class Cluster:
    """One cluster of a result with its members (by face id)."""

    cluster_id: int
    size: int
    representative: JobFace
    members: list[JobFace]


@dataclass(frozen=True)
class JobPage:
    """A job with one page of its clusters and one page of its unassigned faces."""

    job: Job
    clusters: list[Cluster]
    unassigned: list[JobFace]


@dataclass(frozen=True)
class JobVectors:
    """What a run clusters: the first ``len(labels)`` faces of a job."""

    vectors: NDArray[np.float32]
    labels: NDArray[np.int64]
    """The stored result's labels, ``NOISE`` for unassigned faces and faces not clustered yet,
    ``REMOVED`` for removed faces (their vector is zeros: not to be clustered)."""
    clustered: bool
    """Whether an earlier run left a result to extend."""


@dataclass(frozen=True)
class Result:
    """A finished run: a label per face (``NOISE`` = unassigned) and each cluster's medoid."""

    labels: NDArray[np.int64]
    representatives: dict[int, int]


AddCheck = Callable[[Job, set[str]], None]
"""Refuses faces to add (raises) given the job and the face tokens it holds already."""


class Cursor(Protocol):
    """The rows of one statement (sqlite3 and psycopg cursors alike)."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...


class Session(Protocol):
    """One transaction of a database adapter. SQL uses ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class JobDatabase(Protocol):
    """Where the job tables live (SQLite file or PostgreSQL schema)."""

    schema: str
    """Prefix of the table names (``""`` or ``"schema."``)."""
    lock_rows: str
    """Appended to a SELECT that must lock the rows it reads until commit (PostgreSQL)."""
    skip_locked: str
    """Appended to a SELECT that must skip rows another transaction locked (PostgreSQL)."""

    def lock_key(self, db: Session, key: str) -> None:
        """Hold ``key`` until the transaction ends (two requests with one key run in turn)."""
        ...

    def transaction(self) -> AbstractContextManager[Session]:
        """A read-write transaction; writers are serialised on the rows they lock."""
        ...

    def snapshot(self) -> AbstractContextManager[Session]:
        """A read-only transaction that sees one consistent state."""
        ...

    def close(self) -> None: ...


def new_job_id() -> str:
    """A random job id (32 lowercase hex digits)."""
    return secrets.token_hex(JOB_ID_BYTES)


def vector_bytes(vector: NDArray[np.float32]) -> bytes:
    """An embedding as stored: float32 little-endian."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def job_of(row: Sequence[Any]) -> Job:
    """A ``Job`` from a row of ``JOB_COLUMNS``."""
    return Job(
        job_id=str(row[0]),
        tenant=str(row[1]),
        status=JobStatus(str(row[2])),
        settings=JobSettings(float(row[3]), float(row[4]), int(row[5]), str(row[6])),
        face_count=int(row[7]),
        clustered_count=int(row[8]),
        cluster_count=int(row[9]),
        unassigned_count=int(row[10]),
        progress=float(row[11]),
        error=str(row[12]),
        attempts=int(row[13]),
        created_at=float(row[14]),
        updated_at=float(row[15]),
    )


def face_of(row: Sequence[Any]) -> JobFace:
    """A ``JobFace`` from a row of ``FACE_COLUMNS``."""
    return JobFace(
        face_id=int(row[0]),
        photo=str(row[1]),
        face_index=int(row[2]),
        box=(float(row[3]), float(row[4]), float(row[5]), float(row[6])),
        group_id=str(row[7]),
        face_token=str(row[8]),
    )


class ClusterJobStore:
    """Jobs on a ``JobDatabase``: the rules of the module docstring, for every backend."""

    def __init__(self, database: JobDatabase) -> None:
        self.database = database
        self._jobs = f"{database.schema}cluster_jobs"
        self._faces = f"{database.schema}cluster_faces"
        self._clusters = f"{database.schema}cluster_clusters"
        self._requests = f"{database.schema}cluster_requests"

    def close(self) -> None:
        """Release the database."""
        self.database.close()

    # ------------------------------------------------------------- callers

    def create(
        self,
        tenant: str,
        settings: JobSettings,
        faces: Sequence[NewFace],
        now: float | None = None,
        request_key: str = "",
        max_jobs: int | None = None,
    ) -> tuple[Job, list[JobFace]]:
        """A new queued job holding ``faces``; the stored faces with their ids.

        ``request_key``: a create sent again with the same key (a retry) returns the job and
        faces the first one made. ``max_jobs``: ``TooManyJobsError`` when the tenant holds that
        many jobs already (a retry of a create that succeeded still gets its job)."""
        at = time.time() if now is None else now
        job_id = new_job_id()
        with self.database.transaction() as db:
            if request_key:
                self.database.lock_key(db, f"{tenant}/{request_key}")
                done = self._replayed(db, tenant, request_key, None)
                if done is not None:
                    return done
            if max_jobs is not None:
                self.database.lock_key(db, f"{tenant}/new-job")  # counts of one tenant in turn
                held = db.execute(
                    f"SELECT COUNT(*) FROM {self._jobs} WHERE tenant = ?", (tenant,)
                ).fetchone()
                if held is not None and int(held[0]) >= max_jobs:
                    raise TooManyJobsError(
                        f"the tenant holds {int(held[0])} clustering jobs, the most allowed:"
                        " delete one (DELETE /clusters/{job_id}) or wait until one expires"
                    )
            db.execute(
                f"INSERT INTO {self._jobs} ({JOB_COLUMNS}, claimed_by, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, '', 0, ?, ?, NULL, NULL)",
                (
                    job_id,
                    tenant,
                    JobStatus.QUEUED.value,
                    settings.far,
                    settings.link_similarity,
                    settings.min_cluster_size,
                    settings.model,
                    at,
                    at,
                ),
            )
            added = self._insert_faces(db, job_id, 0, faces)
            db.execute(
                f"UPDATE {self._jobs} SET face_count = ? WHERE job_id = ?", (len(faces), job_id)
            )
            self._remember(db, tenant, request_key, job_id, 0, len(faces), at)
            job = self._job(db, tenant, job_id)
        return job, added

    def add(
        self,
        tenant: str,
        job_id: str,
        faces: Sequence[NewFace],
        check: AddCheck | None = None,
        now: float | None = None,
        request_key: str = "",
    ) -> tuple[Job, list[JobFace]]:
        """Append faces to a job and queue it (a running job is queued again when its run ends).

        ``check(job, existing_tokens)`` runs inside the transaction before anything is written
        and may raise to refuse the faces (limits, model, duplicate tokens);
        ``existing_tokens`` are those of ``faces`` the job holds already. ``request_key``: an
        add sent again with the same key (a retry) returns the faces the first one added.
        """
        at = time.time() if now is None else now
        with self.database.transaction() as db:
            job = self._job(db, tenant, job_id, lock=True)
            if request_key:
                done = self._replayed(db, tenant, request_key, job_id)
                if done is not None:
                    return done
            if check is not None:
                check(job, self._tokens_in_job(db, job_id, faces))
            added = self._insert_faces(db, job_id, job.face_count, faces)
            status = JobStatus.RUNNING if job.status == JobStatus.RUNNING else JobStatus.QUEUED
            progress = job.progress if status == JobStatus.RUNNING else 0.0
            db.execute(
                f"UPDATE {self._jobs} SET face_count = ?, status = ?, progress = ?, error = '',"
                " updated_at = ? WHERE job_id = ?",
                (job.face_count + len(faces), status.value, progress, at, job_id),
            )
            self._remember(db, tenant, request_key, job_id, job.face_count, len(faces), at)
            job = self._job(db, tenant, job_id)
        return job, added

    def page(
        self,
        tenant: str,
        job_id: str,
        offset: int,
        limit: int,
        unassigned_offset: int,
        unassigned_limit: int,
    ) -> JobPage:
        """The job with clusters ``offset..offset+limit`` (largest first) and a page of its
        unassigned faces (by face id), all from one consistent state."""
        with self.database.snapshot() as db:
            job = self._job(db, tenant, job_id)
            rows = db.execute(
                f"SELECT c.cluster_id, c.size, {self._prefixed('f')} FROM {self._clusters} c"
                f" JOIN {self._faces} f ON f.job_id = c.job_id AND f.face_id = c.representative"
                " WHERE c.job_id = ? ORDER BY c.cluster_id LIMIT ? OFFSET ?",
                (job_id, limit, offset),
            ).fetchall()
            members: dict[int, list[JobFace]] = {int(r[0]): [] for r in rows}
            if rows:
                first, last = int(rows[0][0]), int(rows[-1][0])
                for row in db.execute(
                    f"SELECT label, {FACE_COLUMNS} FROM {self._faces}"
                    " WHERE job_id = ? AND label >= ? AND label <= ? ORDER BY label, face_id",
                    (job_id, first, last),
                ).fetchall():
                    members[int(row[0])].append(face_of(row[1:]))
            unassigned = [
                face_of(r)
                for r in db.execute(
                    f"SELECT {FACE_COLUMNS} FROM {self._faces} WHERE job_id = ? AND label = ?"
                    " ORDER BY face_id LIMIT ? OFFSET ?",
                    (job_id, NOISE, unassigned_limit, unassigned_offset),
                ).fetchall()
            ]
        clusters = [Cluster(int(r[0]), int(r[1]), face_of(r[2:]), members[int(r[0])]) for r in rows]
        return JobPage(job, clusters, unassigned)

    def delete(self, tenant: str, job_id: str) -> None:
        """Delete a job with its faces and result."""
        with self.database.transaction() as db:
            self._job(db, tenant, job_id, lock=True)
            self._delete(db, job_id)

    def delete_tenant(self, tenant: str) -> int:
        """Delete every job of the tenant with its faces and results; how many."""
        return self._delete_where("tenant = ?", tenant)

    def purge(self, older_than: float) -> int:
        """Delete the jobs untouched since ``older_than`` (seconds since the epoch)."""
        return self._delete_where("updated_at < ?", older_than)

    def _delete_where(self, condition: str, value: Any) -> int:
        """Delete the jobs matching ``condition`` (one ``?``) with their faces; how many."""
        with self.database.transaction() as db:
            jobs = [
                str(r[0])
                for r in db.execute(
                    f"SELECT job_id FROM {self._jobs} WHERE {condition}{self.database.lock_rows}",
                    (value,),
                ).fetchall()
            ]
            for job_id in jobs:
                self._delete(db, job_id)
        return len(jobs)

    def remove_faces(
        self,
        tenant: str,
        group_id: str,
        face_tokens: Sequence[str] | None = None,
        now: float | None = None,
    ) -> int:
        """Drop enrolled faces deleted from the gallery from every job of the tenant: the faces
        of ``group_id`` with these tokens (``None``: all of the group's). A job that held one
        loses their embeddings and tokens, and its result (computed with them) is discarded:
        it is queued to be clustered again, and a run in progress is abandoned (its save is
        refused). Returns the number of jobs changed."""
        at = time.time() if now is None else now
        chunks: list[list[str]] = (
            [[]]
            if face_tokens is None
            else [
                list(face_tokens[i : i + TOKEN_CHUNK])
                for i in range(0, len(face_tokens), TOKEN_CHUNK)
            ]
        )
        with self.database.transaction() as db:
            found: set[str] = set()
            for chunk in chunks:
                where, params = self._group_faces(group_id, chunk, face_tokens is None)
                found.update(
                    str(r[0])
                    for r in db.execute(
                        f"SELECT DISTINCT f.job_id FROM {self._faces} f JOIN {self._jobs} j"
                        f" ON j.job_id = f.job_id WHERE j.tenant = ? AND {where}",
                        (tenant, *params),
                    ).fetchall()
                )
            if not found:
                return 0
            marks = ", ".join("?" * len(found))
            jobs = [  # locked (in one order) before their faces, as a save locks them
                str(r[0])
                for r in db.execute(
                    f"SELECT job_id FROM {self._jobs} WHERE job_id IN ({marks})"
                    f" ORDER BY job_id{self.database.lock_rows}",
                    sorted(found),
                ).fetchall()
            ]
            for job_id in jobs:
                for chunk in chunks:
                    where, params = self._group_faces(group_id, chunk, face_tokens is None)
                    db.execute(
                        f"UPDATE {self._faces} SET embedding = ?, face_token = '', group_id = '',"
                        f" label = ? WHERE job_id = ? AND {where}",
                        (b"", REMOVED, job_id, *params),
                    )
                db.execute(
                    f"UPDATE {self._faces} SET label = NULL WHERE job_id = ? AND label <> ?",
                    (job_id, REMOVED),
                )
                db.execute(f"DELETE FROM {self._clusters} WHERE job_id = ?", (job_id,))
                db.execute(
                    f"UPDATE {self._jobs} SET status = ?, progress = 0, clustered_count = 0,"
                    " cluster_count = 0, unassigned_count = 0, attempts = 0, claimed_by = NULL,"
                    " heartbeat_at = NULL, error = '', updated_at = ? WHERE job_id = ?",
                    (JobStatus.QUEUED.value, at, job_id),
                )
        return len(jobs)

    # ------------------------------------------------------------- workers

    def claim(self, worker: str, lease_seconds: float, now: float | None = None) -> Job | None:
        """Take the oldest queued job, or a running one whose holder fell silent; None if none."""
        at = time.time() if now is None else now
        with self.database.transaction() as db:
            row = db.execute(
                f"SELECT job_id, tenant FROM {self._jobs} WHERE status = ?"
                " OR (status = ? AND (heartbeat_at IS NULL OR heartbeat_at < ?))"
                f" ORDER BY updated_at LIMIT 1{self.database.lock_rows}{self.database.skip_locked}",
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value, at - lease_seconds),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                f"UPDATE {self._jobs} SET status = ?, claimed_by = ?, heartbeat_at = ?,"
                " progress = 0, attempts = attempts + 1, updated_at = ? WHERE job_id = ?",
                (JobStatus.RUNNING.value, worker, at, at, row[0]),
            )
            return self._job(db, str(row[1]), str(row[0]))

    def vectors(self, job_id: str, count: int, dimension: int) -> JobVectors:
        """The embeddings and stored labels of the job's faces ``0..count-1``."""
        with self.database.snapshot() as db:
            rows = db.execute(
                f"SELECT embedding, label FROM {self._faces} WHERE job_id = ? AND face_id < ?"
                " ORDER BY face_id",
                (job_id, count),
            ).fetchall()
        vectors = np.zeros((len(rows), dimension), dtype=np.float32)
        labels = np.full(len(rows), NOISE, dtype=np.int64)
        clustered = False
        for index, (blob, label) in enumerate(rows):
            if label is not None and int(label) == REMOVED:
                labels[index] = REMOVED
                continue
            vectors[index] = np.frombuffer(bytes(blob), dtype="<f4")
            if label is not None:
                labels[index] = int(label)
                clustered = True
        return JobVectors(vectors, labels, clustered)

    def report(self, job_id: str, worker: str, progress: float, now: float | None = None) -> bool:
        """Record progress and a heartbeat; False when the worker no longer holds the job."""
        at = time.time() if now is None else now
        with self.database.transaction() as db:
            updated = db.execute(
                f"UPDATE {self._jobs} SET progress = ?, heartbeat_at = ?"
                " WHERE job_id = ? AND claimed_by = ? AND status = ?",
                (progress, at, job_id, worker, JobStatus.RUNNING.value),
            ).rowcount
        return updated > 0

    def save(self, job_id: str, worker: str, result: Result, now: float | None = None) -> bool:
        """Store a finished run over the first ``len(result.labels)`` faces (``REMOVED`` for
        removed ones); False (nothing written) when the worker no longer holds the job. The job
        is done, or queued again when faces arrived during the run."""
        at = time.time() if now is None else now
        count = len(result.labels)
        with self.database.transaction() as db:
            job = self._held(db, job_id, worker)
            if job is None:
                return False
            db.executemany(
                f"UPDATE {self._faces} SET label = ? WHERE job_id = ? AND face_id = ?",
                ((int(label), job_id, face) for face, label in enumerate(result.labels)),
            )
            db.execute(f"DELETE FROM {self._clusters} WHERE job_id = ?", (job_id,))
            sizes = np.bincount(result.labels[result.labels >= 0], minlength=0)
            db.executemany(
                f"INSERT INTO {self._clusters} (job_id, cluster_id, size, representative)"
                " VALUES (?, ?, ?, ?)",
                (
                    (job_id, label, int(sizes[label]), face)
                    for label, face in sorted(result.representatives.items())
                ),
            )
            more = job.face_count > count
            db.execute(
                f"UPDATE {self._jobs} SET status = ?, progress = ?, clustered_count = ?,"
                " cluster_count = ?, unassigned_count = ?, attempts = 0, claimed_by = NULL,"
                " heartbeat_at = NULL, error = '', updated_at = ? WHERE job_id = ?",
                (
                    (JobStatus.QUEUED if more else JobStatus.DONE).value,
                    0.0 if more else 1.0,
                    int(np.count_nonzero(result.labels != REMOVED)),
                    len(result.representatives),
                    int(np.count_nonzero(result.labels == NOISE)),
                    at,
                    job_id,
                ),
            )
        return True

    def release(self, job_id: str, worker: str, now: float | None = None) -> None:
        """Put a held job back in the queue (the worker stops: another one takes it at once)."""
        at = time.time() if now is None else now
        with self.database.transaction() as db:
            if self._held(db, job_id, worker) is not None:
                db.execute(
                    f"UPDATE {self._jobs} SET status = ?, progress = 0, claimed_by = NULL,"
                    " heartbeat_at = NULL, attempts = attempts - 1, updated_at = ?"
                    " WHERE job_id = ?",
                    (JobStatus.QUEUED.value, at, job_id),
                )

    def fail(self, job_id: str, worker: str, message: str, now: float | None = None) -> None:
        """Mark a held job failed with a message for the caller."""
        at = time.time() if now is None else now
        with self.database.transaction() as db:
            if self._held(db, job_id, worker) is not None:
                db.execute(
                    f"UPDATE {self._jobs} SET status = ?, progress = 0, error = ?,"
                    " claimed_by = NULL, heartbeat_at = NULL, attempts = 0, updated_at = ?"
                    " WHERE job_id = ?",
                    (JobStatus.FAILED.value, message, at, job_id),
                )

    # ------------------------------------------------------------- helpers

    def _prefixed(self, alias: str) -> str:
        return ", ".join(f"{alias}.{column.strip()}" for column in FACE_COLUMNS.split(","))

    def _job(self, db: Session, tenant: str, job_id: str, lock: bool = False) -> Job:
        row = db.execute(
            f"SELECT {JOB_COLUMNS} FROM {self._jobs} WHERE job_id = ? AND tenant = ?"
            + (self.database.lock_rows if lock else ""),
            (job_id, tenant),
        ).fetchone()
        if row is None:
            raise ClusterJobNotFoundError(f"cluster job {job_id!r} not found")
        removed = db.execute(
            f"SELECT COUNT(*) FROM {self._faces} WHERE job_id = ? AND label = ?",
            (job_id, REMOVED),
        ).fetchone()
        return replace(job_of(row), removed_count=int(removed[0]))

    @staticmethod
    def _group_faces(group_id: str, tokens: list[str], whole_group: bool) -> tuple[str, list[str]]:
        """A condition on ``cluster_faces`` (alias-free columns) naming a group's faces."""
        if whole_group:
            return "group_id = ?", [group_id]
        return f"group_id = ? AND face_token IN ({', '.join('?' * len(tokens))})", [
            group_id,
            *tokens,
        ]

    def _held(self, db: Session, job_id: str, worker: str) -> Job | None:
        row = db.execute(
            f"SELECT {JOB_COLUMNS} FROM {self._jobs} WHERE job_id = ? AND claimed_by = ?"
            f" AND status = ?{self.database.lock_rows}",
            (job_id, worker, JobStatus.RUNNING.value),
        ).fetchone()
        return None if row is None else job_of(row)

    def _tokens_in_job(self, db: Session, job_id: str, faces: Sequence[NewFace]) -> set[str]:
        tokens = sorted({face.face_token for face in faces if face.face_token})
        found: set[str] = set()
        for start in range(0, len(tokens), 500):
            chunk = tokens[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(
                str(r[0])
                for r in db.execute(
                    f"SELECT face_token FROM {self._faces}"
                    f" WHERE job_id = ? AND face_token IN ({marks})",
                    (job_id, *chunk),
                ).fetchall()
            )
        return found

    def _insert_faces(
        self, db: Session, job_id: str, first_id: int, faces: Sequence[NewFace]
    ) -> list[JobFace]:
        added = [
            JobFace(
                first_id + n, face.photo, face.face_index, face.box, face.group_id, face.face_token
            )
            for n, face in enumerate(faces)
        ]
        db.executemany(
            f"INSERT INTO {self._faces} ({FACE_COLUMNS}, job_id, embedding, label)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                (
                    stored.face_id,
                    stored.photo,
                    stored.face_index,
                    *stored.box,
                    stored.group_id,
                    stored.face_token,
                    job_id,
                    vector_bytes(face.embedding),
                )
                for stored, face in zip(added, faces, strict=True)
            ),
        )
        return added

    def _remember(
        self,
        db: Session,
        tenant: str,
        request_key: str,
        job_id: str,
        first_id: int,
        count: int,
        at: float,
    ) -> None:
        if request_key:
            db.execute(
                f"INSERT INTO {self._requests} (tenant, request_key, job_id, first_face_id,"
                " face_count, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, request_key, job_id, first_id, count, at),
            )

    def _replayed(
        self, db: Session, tenant: str, request_key: str, job_id: str | None
    ) -> tuple[Job, list[JobFace]] | None:
        """What an earlier request with this key did (None: none did). A key used for another
        job than ``job_id`` names no job of this request."""
        row = db.execute(
            f"SELECT job_id, first_face_id, face_count FROM {self._requests}"
            " WHERE tenant = ? AND request_key = ?",
            (tenant, request_key),
        ).fetchone()
        if row is None:
            return None
        if job_id is not None and str(row[0]) != job_id:
            raise InvalidArgumentError(
                f"request_key {request_key!r} was used for another job; use a new key"
            )
        faces = [
            face_of(r)
            for r in db.execute(
                f"SELECT {FACE_COLUMNS} FROM {self._faces} WHERE job_id = ? AND face_id >= ?"
                " AND face_id < ? AND (label IS NULL OR label <> ?) ORDER BY face_id",
                (row[0], int(row[1]), int(row[1]) + int(row[2]), REMOVED),
            ).fetchall()
        ]
        return self._job(db, tenant, str(row[0])), faces

    def _delete(self, db: Session, job_id: str) -> None:
        for table in (self._requests, self._clusters, self._faces, self._jobs):
            db.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))


# ------------------------------------------------------------------ SQLite

SQLITE_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS cluster_jobs (
        job_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        status TEXT NOT NULL,
        far REAL NOT NULL,
        link_similarity REAL NOT NULL,
        min_cluster_size INTEGER NOT NULL,
        model TEXT NOT NULL,
        face_count INTEGER NOT NULL,
        clustered_count INTEGER NOT NULL,
        cluster_count INTEGER NOT NULL,
        unassigned_count INTEGER NOT NULL,
        progress REAL NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        claimed_by TEXT,
        heartbeat_at REAL
    )
    """,
    "CREATE INDEX IF NOT EXISTS cluster_jobs_by_status ON cluster_jobs (status, updated_at)",
    # the per-tenant job count of each create (max_jobs)
    "CREATE INDEX IF NOT EXISTS cluster_jobs_by_tenant ON cluster_jobs (tenant)",
    """
    CREATE TABLE IF NOT EXISTS cluster_faces (
        job_id TEXT NOT NULL,
        face_id INTEGER NOT NULL,
        photo TEXT NOT NULL,
        face_index INTEGER NOT NULL,
        box_x REAL NOT NULL,
        box_y REAL NOT NULL,
        box_width REAL NOT NULL,
        box_height REAL NOT NULL,
        group_id TEXT NOT NULL,
        face_token TEXT NOT NULL,
        embedding BLOB NOT NULL,
        label INTEGER,
        PRIMARY KEY (job_id, face_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS cluster_faces_by_label ON cluster_faces (job_id, label, face_id)",
    """
    CREATE TABLE IF NOT EXISTS cluster_requests (
        tenant TEXT NOT NULL,
        request_key TEXT NOT NULL,
        job_id TEXT NOT NULL,
        first_face_id INTEGER NOT NULL,
        face_count INTEGER NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (tenant, request_key)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS cluster_requests_by_job ON cluster_requests (job_id)",
    """
    CREATE TABLE IF NOT EXISTS cluster_clusters (
        job_id TEXT NOT NULL,
        cluster_id INTEGER NOT NULL,
        size INTEGER NOT NULL,
        representative INTEGER NOT NULL,
        PRIMARY KEY (job_id, cluster_id)
    ) WITHOUT ROWID
    """,
)


class SqliteSession:
    """A ``Session`` on one sqlite3 connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.connection.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)


class SqliteJobDatabase:
    """The job tables in one SQLite file (WAL); each transaction opens its own connection,
    so the gRPC threads and the worker share it safely. ``BEGIN IMMEDIATE`` serialises
    writers, which is all the row locking SQLite needs."""

    schema = ""
    lock_rows = ""
    skip_locked = ""

    def lock_key(self, db: Session, key: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already serialises every writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            for statement in SQLITE_SCHEMA:
                connection.execute(statement)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Session]:
        with self._connect() as connection:
            connection.execute(begin)
            try:
                yield SqliteSession(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def transaction(self) -> AbstractContextManager[Session]:
        return self._transaction("BEGIN IMMEDIATE")

    def snapshot(self) -> AbstractContextManager[Session]:
        return self._transaction("BEGIN")

    def close(self) -> None:
        """Nothing held open: each transaction opens its own connection."""


def open_sqlite_jobs(path: Path) -> ClusterJobStore:
    """Jobs in a SQLite file (created when missing)."""
    return ClusterJobStore(SqliteJobDatabase(path))
