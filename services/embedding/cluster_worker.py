"""The background worker that clusters queued jobs, one at a time, in the embedding service.

A daemon thread claims a job from the store (``ClusterJobStore.claim``), loads its faces'
embeddings, runs ``clustering.cluster`` (first run) or ``clustering.extend`` (faces were
added to a clustered job) and saves the result. While it runs, a heartbeat thread writes the
run's progress and a heartbeat every ``lease_seconds / 3``; when the store says the job is no
longer this worker's (deleted, or taken over after a stall) the run is abandoned at its next
progress step. The loop sleeps ``poll_seconds`` when the queue is empty (``wake`` cuts that
short when this process queued something); polling is what lets one replica's worker pick up
jobs another replica created, and a restarted service pick up the jobs it had (queued ones at
once, the one it was running when its lease runs out). A job whose runs keep dying is failed
after ``max_attempts`` claims instead of taking every restart down with it. ``stop`` puts a
job in progress back in the queue, so a graceful restart resumes it immediately. With
``purge_after_seconds``, the worker also deletes the jobs untouched for that long, every
``purge_every_seconds`` (the TTL's one home: requests never purge).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

import numpy as np

from services.embedding.cluster_jobs import REMOVED, ClusterJobStore, Job, Result
from services.embedding.clustering import cluster, extend

log = logging.getLogger("faceflow.embedding.clusters")

PURGE_EVERY_SECONDS = 600.0


class JobAbandonedError(Exception):
    """The worker must drop the job it runs (stopping, or the job is no longer its own)."""


class RunningJob:
    """The job a worker holds: the latest progress, and whether to abandon it."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.progress = 0.0
        self.abandon = threading.Event()

    def step(self, fraction: float) -> None:
        """The clustering's progress callback: remember it; raise when the job must stop."""
        self.progress = fraction
        if self.abandon.is_set():
            raise JobAbandonedError(self.job.job_id)


class ClusterWorker:
    """Runs queued clustering jobs on a background thread (see module docstring)."""

    def __init__(
        self,
        jobs: ClusterJobStore,
        dimension: int,
        *,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        max_attempts: int = 3,
        purge_after_seconds: float = 0.0,
        purge_every_seconds: float = PURGE_EVERY_SECONDS,
    ) -> None:
        if lease_seconds <= 0 or poll_seconds <= 0 or max_attempts < 1:
            raise ValueError("lease and poll must be positive and max_attempts at least 1")
        if purge_after_seconds < 0 or purge_every_seconds <= 0:
            raise ValueError("purge_after_seconds must be >= 0 and purge_every_seconds positive")
        self.jobs = jobs
        self.dimension = dimension
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.purge_after_seconds = purge_after_seconds  # 0: jobs are kept until deleted
        self.purge_every_seconds = purge_every_seconds
        self._next_purge = 0.0
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._running: RunningJob | None = None
        self._thread = threading.Thread(target=self._loop, name="cluster-worker", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a job was created or grew in this process)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread; a job in progress goes back to the queue."""
        self._stopping.set()
        running = self._running
        if running is not None:
            running.abandon.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --------------------------------------------------------------- loop

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._purge_if_due()
            try:
                worked = self.run_once()
            except Exception:
                log.exception("cluster worker: unexpected error; retrying after a pause")
                worked = False
            if not worked:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _purge_if_due(self) -> None:
        if self.purge_after_seconds <= 0 or time.time() < self._next_purge:
            return
        self._next_purge = time.time() + self.purge_every_seconds
        try:
            purged = self.jobs.purge(time.time() - self.purge_after_seconds)
        except Exception:
            log.exception("cluster worker: purging expired jobs failed; next try later")
            return
        if purged:
            log.info(
                "cluster worker: deleted %d jobs untouched for %.0f s",
                purged,
                self.purge_after_seconds,
            )

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue had none."""
        job = self.jobs.claim(self.worker_id, self.lease_seconds)
        if job is None:
            return False
        if job.attempts > self.max_attempts:
            log.error("cluster job %s: %d runs died; failing it", job.job_id, job.attempts - 1)
            self.jobs.fail(
                job.job_id,
                self.worker_id,
                f"clustering did not finish in {self.max_attempts} attempts",
            )
            return True
        running = RunningJob(job)
        self._running = running
        beat = threading.Thread(target=self._heartbeat, args=(running,), daemon=True)
        beat.start()
        try:
            self._run(running)
        finally:
            self._running = None
            running.abandon.set()
            beat.join()
        return True

    def _run(self, running: RunningJob) -> None:
        job = running.job
        started = time.perf_counter()
        try:
            result = self.cluster(job, running)
        except JobAbandonedError:
            if self._stopping.is_set():
                self.jobs.release(job.job_id, self.worker_id)
                log.info("cluster job %s: back in the queue (stopping)", job.job_id)
            else:
                log.info("cluster job %s: dropped (deleted or taken over)", job.job_id)
            return
        except Exception:
            log.exception("cluster job %s: clustering failed", job.job_id)
            self.jobs.fail(job.job_id, self.worker_id, "clustering failed (internal error)")
            return
        if self.jobs.save(job.job_id, self.worker_id, result):
            log.info(
                "cluster job %s: %d faces -> %d clusters in %.2f s",
                job.job_id,
                len(result.labels),
                len(result.representatives),
                time.perf_counter() - started,
            )

    def cluster(self, job: Job, running: RunningJob) -> Result:
        """Cluster the job's faces as they were when it was claimed (removed ones left out)."""
        data = self.jobs.vectors(job.job_id, job.face_count, self.dimension)
        settings = job.settings
        live = np.flatnonzero(data.labels != REMOVED)
        vectors = data.vectors[live]
        if data.clustered:
            found = extend(
                vectors,
                data.labels[live],
                settings.link_similarity,
                settings.min_cluster_size,
                progress=running.step,
            )
        else:
            found = cluster(
                vectors,
                settings.link_similarity,
                settings.min_cluster_size,
                progress=running.step,
            )
        running.step(1.0)
        labels = np.full(len(data.labels), REMOVED, dtype=np.int64)
        labels[live] = found.labels
        representatives = {label: int(live[face]) for label, face in found.representatives.items()}
        return Result(labels, representatives)

    def _heartbeat(self, running: RunningJob) -> None:
        interval = min(self.lease_seconds / 3, 1.0)
        while not running.abandon.wait(interval):
            try:
                held = self.jobs.report(running.job.job_id, self.worker_id, running.progress)
            except Exception:
                log.exception("cluster job %s: heartbeat failed", running.job.job_id)
                continue
            if not held:
                running.abandon.set()
