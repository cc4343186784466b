"""Video recognition's state in the gateway's database: jobs, their events, webhook deliveries,
and open streams.

SQLite in the data folder by default (``video.sqlite3``), PostgreSQL (schema
``faceflow_video``) when ``FACEFLOW_GATEWAY_DATABASE_URL`` is set, so that any replica can
answer for a job or continue a stream another replica started. One class holds the SQL of both:
the statements are the same, only the placeholder, the schema prefix and a column type differ.

- A job: who asked (tenant), its request (never the webhook secret in the same column), status
  (queued, running, completed, failed), progress, the video's declared info, the result's
  summary, an error, and ``updated_at``: its heartbeat while it runs. Events are rows of their
  own (appended as tracks end); so are webhook deliveries, each with its attempts.
- A stream: its request, the tracker's open tracks (JSON), counters, an idle expiry, and a
  short lease (``busy_until``) that one batch holds while it is processed, so two batches of
  one stream never run at once, on one replica or two.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, Self

from services.shared.postgres import ConnectionPool, migrate

PG_SCHEMA = "faceflow_video"
ACTIVE = ("queued", "running")

TABLES = """
CREATE TABLE IF NOT EXISTS {p}video_jobs (
    job_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    status TEXT NOT NULL,
    progress {real} NOT NULL,
    frames_analysed INTEGER NOT NULL,
    request TEXT NOT NULL,
    webhook_secret TEXT,
    video TEXT,
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    finished_at {real}
);
CREATE INDEX IF NOT EXISTS video_jobs_active ON {p}video_jobs (status, updated_at);
CREATE TABLE IF NOT EXISTS {p}video_job_events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS {p}video_deliveries (
    delivery_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    track_id INTEGER,
    delivered INTEGER NOT NULL,
    attempts TEXT NOT NULL,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS video_deliveries_job ON {p}video_deliveries (job_id, seq);
CREATE TABLE IF NOT EXISTS {p}video_streams (
    stream_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    request TEXT NOT NULL,
    tracker TEXT NOT NULL,
    frames_analysed INTEGER NOT NULL,
    last_time_ms {real},
    busy_until {real},
    created_at {real} NOT NULL,
    expires_at {real} NOT NULL
);
"""
PG_MIGRATIONS = (TABLES.format(p="{schema}.", real="DOUBLE PRECISION"),)
JOB_COLUMNS = (
    "job_id, tenant, status, progress, frames_analysed, request, webhook_secret, video, result, "
    "error_code, error_message, created_at, updated_at, finished_at"
)
STREAM_COLUMNS = (
    "stream_id, tenant, request, tracker, frames_analysed, last_time_ms, created_at, expires_at"
)


@dataclass(frozen=True)
class JobRecord:
    """One video job as stored."""

    job_id: str
    tenant: str
    status: str
    progress: float
    frames_analysed: int
    request: dict[str, Any]
    webhook_secret: str | None
    video: dict[str, Any] | None
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    created_at: float
    updated_at: float
    finished_at: float | None


@dataclass(frozen=True)
class DeliveryRecord:
    """One webhook message and its delivery attempts (``{at, status_code, error}`` each)."""

    delivery_id: str
    job_id: str
    seq: int
    kind: str
    track_id: int | None
    delivered: bool
    attempts: list[dict[str, Any]]


@dataclass(frozen=True)
class StreamRecord:
    """One open stream as stored."""

    stream_id: str
    tenant: str
    request: dict[str, Any]
    tracker: dict[str, Any]
    frames_analysed: int
    last_time_ms: float | None
    created_at: float
    expires_at: float
    lease: StreamLease | None = None  # set by claim_stream: the batch's hold on the stream


@dataclass
class StreamLease:
    """One batch's hold on its stream: ``until`` is the ``busy_until`` it was granted (renewals
    move it), so a batch whose lease ran out and was taken by another cannot renew, save or
    release the other's."""

    stream_id: str
    until: float


class StreamBusyError(Exception):
    """Another batch of the stream is being processed."""


class _Sql(Protocol):
    """Runs one statement: its rows (empty for a write) and the number of rows it changed."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]: ...

    def close(self) -> None: ...


class _Sqlite:
    """One SQLite connection shared under a lock (each statement is short)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(TABLES.format(p="", real="REAL"))

    def run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        with self._lock:
            cursor = self._db.execute(sql.replace("%s", "?").replace("{p}", ""), tuple(params))
            return cursor.fetchall(), cursor.rowcount

    def close(self) -> None:
        with self._lock:  # not under a statement still running on another thread
            self._db.close()


class _Postgres:
    """The gateway's PostgreSQL pool (owned by the gateway state, not closed here)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        migrate(pool, PG_SCHEMA, PG_MIGRATIONS)

    def run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        with self._pool.connection() as db:
            cursor = db.execute(sql.replace("{p}", f"{PG_SCHEMA}."), tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
            return [tuple(row) for row in rows], cursor.rowcount

    def close(self) -> None:
        """The pool is closed by its owner."""


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _loads(text: Any) -> Any:
    return None if text is None else json.loads(text)


def _job(row: tuple[Any, ...]) -> JobRecord:
    return JobRecord(
        job_id=str(row[0]),
        tenant=str(row[1]),
        status=str(row[2]),
        progress=float(row[3]),
        frames_analysed=int(row[4]),
        request=json.loads(row[5]),
        webhook_secret=row[6],
        video=_loads(row[7]),
        result=_loads(row[8]),
        error_code=row[9],
        error_message=row[10],
        created_at=float(row[11]),
        updated_at=float(row[12]),
        finished_at=None if row[13] is None else float(row[13]),
    )


def _stream(row: tuple[Any, ...]) -> StreamRecord:
    return StreamRecord(
        stream_id=str(row[0]),
        tenant=str(row[1]),
        request=json.loads(row[2]),
        tracker=json.loads(row[3]),
        frames_analysed=int(row[4]),
        last_time_ms=None if row[5] is None else float(row[5]),
        created_at=float(row[6]),
        expires_at=float(row[7]),
    )


def new_id(prefix: str) -> str:
    """A random URL-safe id (``vj_...`` for jobs, ``vs_...`` for streams)."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


class VideoState:
    """Jobs, events, deliveries and streams (thread-safe; every read is tenant-scoped)."""

    def __init__(self, sql: _Sql, shared: bool) -> None:
        self._sql = sql
        self.shared = shared
        """True with PostgreSQL: other gateway replicas may be running jobs of their own."""

    @classmethod
    def sqlite(cls, path: Path) -> Self:
        """The embedded default: one gateway process owns the file."""
        return cls(_Sqlite(path), shared=False)

    @classmethod
    def postgres(cls, pool: ConnectionPool) -> Self:
        """Shared by every replica (schema created or migrated now)."""
        return cls(_Postgres(pool), shared=True)

    def close(self) -> None:
        """Close the SQLite connection (a PostgreSQL pool belongs to the gateway state)."""
        self._sql.close()

    def _run(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self._sql.run(sql, params)[0]

    def _change(self, sql: str, *params: Any) -> int:
        return self._sql.run(sql, params)[1]

    # -- jobs ------------------------------------------------------------------------------

    def create_job(
        self,
        tenant: str,
        request: dict[str, Any],
        webhook_secret: str | None,
        video: dict[str, Any] | None,
        now: float | None = None,
    ) -> JobRecord:
        """A new queued job."""
        at = time.time() if now is None else now
        job_id = new_id("vj")
        self._change(
            f"INSERT INTO {{p}}video_jobs ({JOB_COLUMNS}) VALUES "
            "(%s, %s, 'queued', 0, 0, %s, %s, %s, NULL, NULL, NULL, %s, %s, NULL)",
            job_id,
            tenant,
            _json(request),
            webhook_secret,
            _json(video),
            at,
            at,
        )
        job = self.job(tenant, job_id)
        if job is None:  # pragma: no cover - just written
            raise RuntimeError("the job was not stored")
        return job

    def job(self, tenant: str, job_id: str) -> JobRecord | None:
        """The tenant's job, or None."""
        rows = self._run(
            f"SELECT {JOB_COLUMNS} FROM {{p}}video_jobs WHERE job_id = %s AND tenant = %s",
            job_id,
            tenant,
        )
        return _job(rows[0]) if rows else None

    def job_by_id(self, job_id: str) -> JobRecord | None:
        """A job whatever its tenant (for the worker that runs it)."""
        rows = self._run(f"SELECT {JOB_COLUMNS} FROM {{p}}video_jobs WHERE job_id = %s", job_id)
        return _job(rows[0]) if rows else None

    def update_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        progress: float | None = None,
        frames_analysed: int | None = None,
        video: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None,
        finished: bool = False,
        now: float | None = None,
    ) -> bool:
        """Change a job (and beat its heart); False when it is gone (deleted) or finished."""
        at = time.time() if now is None else now
        sets = ["updated_at = %s"]
        values: list[Any] = [at]
        for column, value in (
            ("status", status),
            ("progress", progress),
            ("frames_analysed", frames_analysed),
            ("video", _json(video)),
            ("result", _json(result)),
        ):
            if value is not None:
                sets.append(f"{column} = %s")
                values.append(value)
        if error is not None:
            sets += ["error_code = %s", "error_message = %s"]
            values += list(error)
        if finished:
            sets.append("finished_at = %s")
            values.append(at)
        changed = self._change(
            f"UPDATE {{p}}video_jobs SET {', '.join(sets)} "
            "WHERE job_id = %s AND status IN ('queued', 'running')",
            *values,
            job_id,
        )
        return changed > 0

    def add_events(self, job_id: str, first_seq: int, events: Sequence[dict[str, Any]]) -> bool:
        """Append a job's events (numbered from ``first_seq``); False, storing nothing more,
        once the job is gone (deleted through another replica while it ran)."""
        for offset, event in enumerate(events):
            stored = self._change(
                "INSERT INTO {p}video_job_events (job_id, seq, event) SELECT %s, %s, %s"
                " WHERE EXISTS (SELECT 1 FROM {p}video_jobs WHERE job_id = %s)",
                job_id,
                first_seq + offset,
                _json(event),
                job_id,
            )
            if not stored:
                return False
        return True

    def events(self, job_id: str) -> list[dict[str, Any]]:
        """A job's events in order."""
        rows = self._run(
            "SELECT event FROM {p}video_job_events WHERE job_id = %s ORDER BY seq", job_id
        )
        return [json.loads(row[0]) for row in rows]

    def delete_job(self, tenant: str, job_id: str) -> bool:
        """Remove the tenant's job with its events and deliveries; False when unknown."""
        if not self._change(
            "DELETE FROM {p}video_jobs WHERE job_id = %s AND tenant = %s", job_id, tenant
        ):
            return False
        self._change("DELETE FROM {p}video_job_events WHERE job_id = %s", job_id)
        self._change("DELETE FROM {p}video_deliveries WHERE job_id = %s", job_id)
        return True

    def delete_tenant(self, tenant: str) -> int:
        """Remove every job (events, deliveries) and stream of the tenant; how many jobs. A
        job running in a gateway finds itself gone and stops (its video file goes with it)."""
        jobs = [
            str(r[0])
            for r in self._run("SELECT job_id FROM {p}video_jobs WHERE tenant = %s", tenant)
        ]
        for job_id in jobs:
            self.delete_job(tenant, job_id)
        self._change("DELETE FROM {p}video_streams WHERE tenant = %s", tenant)
        return len(jobs)

    def unfinished_jobs(self, tenant: str) -> int:
        """How many of the tenant's jobs are queued or running."""
        rows = self._run(
            "SELECT COUNT(*) FROM {p}video_jobs WHERE tenant = %s"
            " AND status IN ('queued', 'running')",
            tenant,
        )
        return int(rows[0][0])

    def purge_finished(self, before: float) -> int:
        """Delete the jobs (of every tenant) that finished before ``before``, with their events
        and deliveries; how many jobs."""
        finished = "SELECT job_id FROM {p}video_jobs WHERE finished_at < %s"
        self._change(f"DELETE FROM {{p}}video_job_events WHERE job_id IN ({finished})", before)
        self._change(f"DELETE FROM {{p}}video_deliveries WHERE job_id IN ({finished})", before)
        return self._change("DELETE FROM {p}video_jobs WHERE finished_at < %s", before)

    def fail_stale(self, before: float, code: str, message: str, job_id: str | None = None) -> int:
        """Mark failed the queued or running jobs whose heartbeat is older than ``before``
        (only ``job_id`` when given); how many."""
        now = time.time()
        sql = (
            "UPDATE {p}video_jobs SET status = 'failed', error_code = %s, error_message = %s, "
            "finished_at = %s WHERE status IN ('queued', 'running') AND updated_at < %s"
        )
        params: list[Any] = [code, message, now, before]
        if job_id is not None:
            sql += " AND job_id = %s"
            params.append(job_id)
        return self._change(sql, *params)

    # -- webhook deliveries ----------------------------------------------------------------

    def add_delivery(
        self, job_id: str, seq: int, kind: str, track_id: int | None, now: float | None = None
    ) -> str:
        """A message to deliver; its id."""
        at = time.time() if now is None else now
        delivery_id = new_id("vd")
        self._change(
            "INSERT INTO {p}video_deliveries (delivery_id, job_id, seq, kind, track_id, "
            "delivered, attempts, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, 0, '[]', "
            "%s, %s)",
            delivery_id,
            job_id,
            seq,
            kind,
            track_id,
            at,
            at,
        )
        return delivery_id

    def record_attempt(
        self, delivery_id: str, attempts: list[dict[str, Any]], delivered: bool
    ) -> None:
        """Store a delivery's attempts so far and whether one succeeded."""
        self._change(
            "UPDATE {p}video_deliveries SET attempts = %s, delivered = %s, updated_at = %s "
            "WHERE delivery_id = %s",
            _json(attempts),
            1 if delivered else 0,
            time.time(),
            delivery_id,
        )

    def deliveries(self, job_id: str) -> list[DeliveryRecord]:
        """A job's webhook messages in order."""
        rows = self._run(
            "SELECT delivery_id, job_id, seq, kind, track_id, delivered, attempts "
            "FROM {p}video_deliveries WHERE job_id = %s ORDER BY seq",
            job_id,
        )
        return [
            DeliveryRecord(
                delivery_id=str(r[0]),
                job_id=str(r[1]),
                seq=int(r[2]),
                kind=str(r[3]),
                track_id=None if r[4] is None else int(r[4]),
                delivered=bool(r[5]),
                attempts=json.loads(r[6]),
            )
            for r in rows
        ]

    # -- streams ---------------------------------------------------------------------------

    def create_stream(
        self,
        tenant: str,
        request: dict[str, Any],
        tracker: dict[str, Any],
        idle_seconds: float,
        now: float | None = None,
    ) -> StreamRecord:
        """A new stream (expired ones of any tenant are purged first, never one a batch holds)."""
        at = time.time() if now is None else now
        self._change(
            "DELETE FROM {p}video_streams WHERE expires_at < %s"
            " AND (busy_until IS NULL OR busy_until < %s)",
            at,
            at,
        )
        stream_id = new_id("vs")
        self._change(
            f"INSERT INTO {{p}}video_streams ({STREAM_COLUMNS}, busy_until) VALUES "
            "(%s, %s, %s, %s, 0, NULL, %s, %s, NULL)",
            stream_id,
            tenant,
            _json(request),
            _json(tracker),
            at,
            at + idle_seconds,
        )
        return StreamRecord(stream_id, tenant, request, tracker, 0, None, at, at + idle_seconds)

    def claim_stream(
        self, tenant: str, stream_id: str, lease_seconds: float, now: float | None = None
    ) -> StreamRecord | None:
        """Take the stream's lease for one batch; None when unknown (or expired),
        StreamBusyError while another batch holds it. The stream does not expire while the
        lease lasts (a slow batch is not purged under it)."""
        at = time.time() if now is None else now
        until = at + lease_seconds
        claimed = self._change(
            "UPDATE {p}video_streams SET busy_until = %s,"
            " expires_at = CASE WHEN expires_at < %s THEN %s ELSE expires_at END"
            " WHERE stream_id = %s AND tenant = %s"
            " AND expires_at >= %s AND (busy_until IS NULL OR busy_until < %s)",
            until,
            until,
            until,
            stream_id,
            tenant,
            at,
            at,
        )
        rows = self._run(
            f"SELECT {STREAM_COLUMNS} FROM {{p}}video_streams "
            "WHERE stream_id = %s AND tenant = %s AND expires_at >= %s",
            stream_id,
            tenant,
            at,
        )
        if not rows:
            return None
        if not claimed:
            raise StreamBusyError(stream_id)
        return replace(_stream(rows[0]), lease=StreamLease(stream_id, until))

    def save_stream(
        self,
        lease: StreamLease,
        tracker: dict[str, Any],
        frames_analysed: int,
        last_time_ms: float | None,
        idle_seconds: float,
        now: float | None = None,
    ) -> bool:
        """Store the stream's new state and release its lease; False when the stream is gone
        (closed by another request meanwhile) or the lease is no longer this batch's."""
        at = time.time() if now is None else now
        changed = self._change(
            "UPDATE {p}video_streams SET tracker = %s, frames_analysed = %s, last_time_ms = %s, "
            "busy_until = NULL, expires_at = %s WHERE stream_id = %s AND busy_until = %s",
            _json(tracker),
            frames_analysed,
            last_time_ms,
            at + idle_seconds,
            lease.stream_id,
            lease.until,
        )
        return changed > 0

    def renew_stream(
        self, lease: StreamLease, lease_seconds: float, now: float | None = None
    ) -> bool:
        """Extend a running batch's lease (its gateway is alive); False when the stream is
        gone or the lease ran out and another batch took it."""
        at = time.time() if now is None else now
        until = at + lease_seconds
        renewed = self._change(
            "UPDATE {p}video_streams SET busy_until = %s,"
            " expires_at = CASE WHEN expires_at < %s THEN %s ELSE expires_at END"
            " WHERE stream_id = %s AND busy_until = %s",
            until,
            until,
            until,
            lease.stream_id,
            lease.until,
        )
        if renewed:
            lease.until = until
        return renewed > 0

    def release_stream(self, lease: StreamLease) -> None:
        """Give the lease back unchanged (the batch failed), if it is still this batch's."""
        self._change(
            "UPDATE {p}video_streams SET busy_until = NULL"
            " WHERE stream_id = %s AND busy_until = %s",
            lease.stream_id,
            lease.until,
        )

    def delete_stream(self, stream_id: str) -> None:
        """Forget a closed stream."""
        self._change("DELETE FROM {p}video_streams WHERE stream_id = %s", stream_id)
