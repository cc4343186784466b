"""The clustering job store on SQLite and PostgreSQL alike, and the background worker on it:
tenancy, leases (a dead worker's job is taken over, a stale run never overwrites), incremental
runs, pages, failure and purge."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from numpy.typing import NDArray

from services.embedding.cluster_jobs import (
    REMOVED,
    ClusterJobStore,
    Job,
    JobSettings,
    JobStatus,
    NewFace,
    Result,
    open_sqlite_jobs,
)
from services.embedding.cluster_jobs_pg import open_postgres_jobs
from services.embedding.cluster_worker import ClusterWorker, RunningJob
from services.embedding.clustering import NOISE, cluster
from services.embedding.errors import ClusterJobNotFoundError, TooManyJobsError
from services.shared.errors import InvalidArgumentError
from tests.services.embedding.store.conftest import postgres_url
from tests.services.embedding.test_clustering import people

SETTINGS = JobSettings(far=1e-5, link_similarity=0.5, min_cluster_size=2, model="sface:test")
DIMENSION = 128
LEASE = 30.0


@pytest.fixture(params=["sqlite", "postgres"])
def jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterJobStore]:
    """A fresh job store of each backend (PostgreSQL: its own schema, dropped afterwards)."""
    if request.param == "sqlite":
        store = open_sqlite_jobs(tmp_path / "clusters.sqlite3")
        yield store
        store.close()
        return
    url = postgres_url()
    schema = f"test_clusters_{uuid.uuid4().hex[:12]}"
    store = open_postgres_jobs(url, pool_size=4, schema=schema)
    yield store
    store.close()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def new_faces(vectors: NDArray[np.float32], photo: str = "p") -> list[NewFace]:
    return [
        NewFace(v, photo=f"{photo}{i}.jpg", face_index=i % 2, box=(1.0, 2.0, 30.0, 40.0))
        for i, v in enumerate(vectors)
    ]


def run(jobs: ClusterJobStore, worker: str = "w1") -> Job:
    """Claim the next job and store what ``cluster`` makes of all its faces."""
    job = jobs.claim(worker, LEASE)
    assert job is not None
    data = jobs.vectors(job.job_id, job.face_count, DIMENSION)
    found = cluster(data.vectors, SETTINGS.link_similarity, SETTINGS.min_cluster_size)
    assert jobs.save(job.job_id, worker, Result(found.labels, found.representatives))
    return job


def test_create_stores_the_faces_and_queues_the_job(jobs: ClusterJobStore) -> None:
    vectors, _ = people([3, 2], spread=0.6)
    job, added = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    assert job.status == JobStatus.QUEUED and job.face_count == 5 and job.pending_count == 5
    assert job.settings == SETTINGS
    assert [f.face_id for f in added] == [0, 1, 2, 3, 4]
    assert added[3].photo == "p3.jpg" and added[3].face_index == 1
    assert added[3].box == (1.0, 2.0, 30.0, 40.0)
    page = jobs.page("tenant-a", job.job_id, 0, 10, 0, 10)
    assert page.clusters == [] and page.unassigned == []
    data = jobs.vectors(job.job_id, 5, DIMENSION)
    np.testing.assert_array_equal(data.vectors, vectors)
    assert not data.clustered and list(data.labels) == [NOISE] * 5


def test_a_run_stores_clusters_members_representatives_and_noise(jobs: ClusterJobStore) -> None:
    vectors, _ = people([4, 3, 1], spread=0.6)
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    run(jobs)
    page = jobs.page("tenant-a", job.job_id, 0, 10, 0, 10)
    assert page.job.status == JobStatus.DONE and page.job.progress == 1.0
    assert (page.job.cluster_count, page.job.unassigned_count, page.job.pending_count) == (2, 1, 0)
    assert [(c.cluster_id, c.size) for c in page.clusters] == [(0, 4), (1, 3)]
    assert [m.face_id for m in page.clusters[0].members] == [0, 1, 2, 3]
    assert [m.face_id for m in page.clusters[1].members] == [4, 5, 6]
    for found in page.clusters:
        assert found.representative in found.members
    assert [f.face_id for f in page.unassigned] == [7]
    # Pages: the second cluster alone; no unassigned face past the first.
    second = jobs.page("tenant-a", job.job_id, 1, 1, 1, 10)
    assert [c.cluster_id for c in second.clusters] == [1] and second.unassigned == []


def test_other_tenants_and_unknown_ids_find_no_job(jobs: ClusterJobStore) -> None:
    vectors, _ = people([2], spread=0.6)
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    for call in (
        lambda: jobs.page("tenant-b", job.job_id, 0, 10, 0, 10),
        lambda: jobs.add("tenant-b", job.job_id, new_faces(vectors)),
        lambda: jobs.delete("tenant-b", job.job_id),
        lambda: jobs.page("tenant-a", "0" * 32, 0, 10, 0, 10),
    ):
        with pytest.raises(ClusterJobNotFoundError, match=r"cluster job .* not found"):
            call()
    jobs.delete("tenant-a", job.job_id)
    with pytest.raises(ClusterJobNotFoundError):
        jobs.page("tenant-a", job.job_id, 0, 10, 0, 10)


def test_faces_added_during_a_run_queue_the_job_again(jobs: ClusterJobStore) -> None:
    vectors, _ = people([3, 3], spread=0.6, seed=2)
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors[:4]))
    claimed = jobs.claim("w1", LEASE)
    assert claimed is not None and claimed.face_count == 4
    grown, added = jobs.add("tenant-a", job.job_id, new_faces(vectors[4:], "late"))
    assert grown.status == JobStatus.RUNNING and [f.face_id for f in added] == [4, 5]
    data = jobs.vectors(job.job_id, claimed.face_count, DIMENSION)
    found = cluster(data.vectors, 0.5)
    assert jobs.save(job.job_id, "w1", Result(found.labels, found.representatives))
    after = jobs.page("tenant-a", job.job_id, 0, 10, 0, 10).job
    assert after.status == JobStatus.QUEUED and after.pending_count == 2
    # The next run extends the stored result over all six faces.
    again = jobs.claim("w1", LEASE)
    assert again is not None and again.face_count == 6
    extended = jobs.vectors(job.job_id, 6, DIMENSION)
    assert extended.clustered and list(extended.labels[4:]) == [NOISE, NOISE]


def test_a_dead_workers_job_is_taken_over_and_its_late_save_is_refused(
    jobs: ClusterJobStore,
) -> None:
    vectors, _ = people([3], spread=0.6)
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    now = time.time()
    assert jobs.claim("dead", LEASE, now=now) is not None
    assert jobs.claim("w2", LEASE, now=now + 1) is None  # its holder reported recently
    taken = jobs.claim("w2", LEASE, now=now + LEASE + 1)
    assert taken is not None and taken.job_id == job.job_id and taken.attempts == 2
    stale = Result(np.zeros(3, dtype=np.int64), {0: 0})
    assert not jobs.save(job.job_id, "dead", stale)
    assert not jobs.report(job.job_id, "dead", 0.5)
    assert jobs.report(job.job_id, "w2", 0.5)
    assert jobs.page("tenant-a", job.job_id, 0, 10, 0, 10).job.progress == 0.5


def test_release_fail_and_add_after_failure(jobs: ClusterJobStore) -> None:
    vectors, _ = people([2], spread=0.6)
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    assert jobs.claim("w1", LEASE) is not None
    jobs.release(job.job_id, "w1")
    released = jobs.claim("w2", LEASE)
    assert released is not None and released.attempts == 1  # a release is not an attempt
    jobs.fail(job.job_id, "w2", "clustering failed (internal error)")
    failed = jobs.page("tenant-a", job.job_id, 0, 10, 0, 10).job
    assert failed.status == JobStatus.FAILED and failed.error.startswith("clustering failed")
    requeued, _ = jobs.add("tenant-a", job.job_id, new_faces(vectors[:1]))
    assert requeued.status == JobStatus.QUEUED and requeued.error == ""


def test_concurrent_claims_hand_a_job_to_one_worker(jobs: ClusterJobStore) -> None:
    vectors, _ = people([2], spread=0.6)
    jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    start = threading.Barrier(6)
    claimed: list[str] = []

    def attempt(worker: str) -> None:
        start.wait()
        if jobs.claim(worker, LEASE) is not None:
            claimed.append(worker)

    threads = [threading.Thread(target=attempt, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 1


def test_purge_deletes_jobs_untouched_for_long(jobs: ClusterJobStore) -> None:
    vectors, _ = people([2], spread=0.6)
    old, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors), now=1000.0)
    new, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    assert jobs.purge(older_than=2000.0) == 1
    with pytest.raises(ClusterJobNotFoundError):
        jobs.page("tenant-a", old.job_id, 0, 10, 0, 10)
    assert jobs.page("tenant-a", new.job_id, 0, 10, 0, 10).job.face_count == 2


def test_deleting_a_tenant_deletes_its_jobs_only(jobs: ClusterJobStore) -> None:
    vectors, _ = people([2], spread=0.6)
    gone = [jobs.create("tenant-a", SETTINGS, new_faces(vectors))[0] for _ in range(3)]
    kept, _ = jobs.create("tenant-b", SETTINGS, new_faces(vectors))
    assert jobs.delete_tenant("tenant-a") == 3
    for job in gone:
        with pytest.raises(ClusterJobNotFoundError):
            jobs.page("tenant-a", job.job_id, 0, 10, 0, 10)
    assert jobs.page("tenant-b", kept.job_id, 0, 10, 0, 10).job.face_count == 2
    assert jobs.delete_tenant("tenant-a") == 0  # a second run finds nothing left
    # the old jobs no longer count against the tenant's limit
    again, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors), max_jobs=1)
    assert jobs.page("tenant-a", again.job_id, 0, 10, 0, 10).job.face_count == 2


# ------------------------------------------------------------------ worker


def wait_for(jobs: ClusterJobStore, job_id: str, status: JobStatus, seconds: float = 30) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = jobs.page("tenant-a", job_id, 0, 1, 0, 1).job
        if job.status == status:
            return job
        time.sleep(0.05)
    pytest.fail(f"job {job_id} did not reach {status}")


def test_the_worker_clusters_then_extends(jobs: ClusterJobStore) -> None:
    vectors, _ = people([4, 4, 3], spread=0.6, seed=3)
    worker = ClusterWorker(jobs, DIMENSION, poll_seconds=0.05)
    worker.start()
    try:
        job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors[:8]))
        worker.wake()
        first = wait_for(jobs, job.job_id, JobStatus.DONE)
        assert first.cluster_count == 2
        before = jobs.page("tenant-a", job.job_id, 0, 10, 0, 10)
        jobs.add("tenant-a", job.job_id, new_faces(vectors[8:], "new"))
        worker.wake()
        grown = wait_for(jobs, job.job_id, JobStatus.DONE)
        assert (grown.cluster_count, grown.pending_count, grown.face_count) == (3, 0, 11)
        after = jobs.page("tenant-a", job.job_id, 0, 10, 0, 10)
        old_members = {tuple(m.face_id for m in c.members) for c in before.clusters}
        new_members = {tuple(m.face_id for m in c.members) for c in after.clusters}
        assert old_members < new_members  # nobody moved; the new person is a new cluster
        assert (8, 9, 10) in new_members
    finally:
        worker.stop()


def test_a_tenant_holds_at_most_max_jobs(jobs: ClusterJobStore) -> None:
    vectors, _ = people([2], spread=0.6, seed=5)
    first, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors), request_key="k1", max_jobs=2)
    jobs.create("tenant-a", SETTINGS, new_faces(vectors), max_jobs=2)
    with pytest.raises(TooManyJobsError, match=r"^the tenant holds 2 clustering jobs"):
        jobs.create("tenant-a", SETTINGS, new_faces(vectors), max_jobs=2)
    # a retry of a create that succeeded still gets its job; other tenants are not counted
    again, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors), request_key="k1", max_jobs=2)
    assert again.job_id == first.job_id
    jobs.create("tenant-b", SETTINGS, new_faces(vectors), max_jobs=2)
    jobs.delete("tenant-a", first.job_id)
    jobs.create("tenant-a", SETTINGS, new_faces(vectors), max_jobs=2)


def test_the_job_count_of_a_create_reads_an_index(tmp_path: Path) -> None:
    """Each create counts the tenant's jobs under the write lock: by index, not a table scan."""
    open_sqlite_jobs(tmp_path / "clusters.sqlite3").close()
    with sqlite3.connect(tmp_path / "clusters.sqlite3") as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM cluster_jobs WHERE tenant = ?", ("t",)
        ).fetchall()
    db.close()
    assert "USING COVERING INDEX cluster_jobs_by_tenant" in " ".join(str(r[-1]) for r in plan)


def test_the_worker_purges_jobs_untouched_for_the_ttl(jobs: ClusterJobStore) -> None:
    """Expired jobs go even when nobody creates a job (the worker is the TTL's one home)."""
    vectors, _ = people([3, 3], spread=0.6, seed=4)
    worker = ClusterWorker(
        jobs, DIMENSION, poll_seconds=0.05, purge_after_seconds=1.0, purge_every_seconds=0.1
    )
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    worker.start()
    try:
        assert wait_for(jobs, job.job_id, JobStatus.DONE).cluster_count == 2
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                jobs.page("tenant-a", job.job_id, 0, 1, 0, 1)
            except ClusterJobNotFoundError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the expired job was not purged")
    finally:
        worker.stop()
    with pytest.raises(ValueError, match="purge_after_seconds"):
        ClusterWorker(jobs, DIMENSION, purge_after_seconds=-1)


class EndlessWorker(ClusterWorker):
    """A worker whose clustering runs until it is told to stop (a very large job)."""

    started = threading.Event()

    def cluster(self, job: Job, running: RunningJob) -> Result:
        self.started.set()
        while True:
            running.step(0.5)
            time.sleep(0.01)


def test_a_stopping_worker_puts_its_job_back(jobs: ClusterJobStore) -> None:
    vectors, _ = people([3], spread=0.6)
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    worker = EndlessWorker(jobs, DIMENSION, poll_seconds=0.05)
    worker.started = threading.Event()
    worker.start()
    assert worker.started.wait(10)
    assert jobs.page("tenant-a", job.job_id, 0, 1, 0, 1).job.status == JobStatus.RUNNING
    worker.stop()
    back = jobs.page("tenant-a", job.job_id, 0, 1, 0, 1).job
    assert back.status == JobStatus.QUEUED and back.attempts == 0
    # The next worker (a restarted service) takes it at once and finishes it.
    successor = ClusterWorker(jobs, DIMENSION, poll_seconds=0.05)
    assert successor.run_once()
    assert wait_for(jobs, job.job_id, JobStatus.DONE).cluster_count == 1


def test_a_job_that_keeps_dying_is_failed(jobs: ClusterJobStore) -> None:
    vectors, _ = people([2], spread=0.6)
    job, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors))
    lease = 0.05
    for attempt in range(3):  # three workers died holding it
        assert jobs.claim(f"dead{attempt}", lease) is not None
        time.sleep(2 * lease)
    worker = ClusterWorker(jobs, DIMENSION, lease_seconds=lease, max_attempts=3)
    assert worker.run_once()  # the fourth claim fails the job instead of running it again
    failed = jobs.page("tenant-a", job.job_id, 0, 1, 0, 1).job
    assert failed.status == JobStatus.FAILED
    assert failed.error == "clustering did not finish in 3 attempts"


def test_a_request_sent_again_with_its_key_is_done_once(jobs: ClusterJobStore) -> None:
    vectors, _ = people([3, 2], spread=0.6)
    job, added = jobs.create("tenant-a", SETTINGS, new_faces(vectors[:3]), request_key="c1")
    again, replayed = jobs.create("tenant-a", SETTINGS, new_faces(vectors[:3]), request_key="c1")
    assert again.job_id == job.job_id and replayed == added
    other, _ = jobs.create("tenant-b", SETTINGS, new_faces(vectors[:3]), request_key="c1")
    assert other.job_id != job.job_id  # keys are per tenant
    grown, more = jobs.add("tenant-a", job.job_id, new_faces(vectors[3:]), request_key="a1")
    same, more_again = jobs.add("tenant-a", job.job_id, new_faces(vectors[3:]), request_key="a1")
    assert [f.face_id for f in more] == [3, 4] and more_again == more
    assert grown.face_count == same.face_count == 5
    second, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors[:1]))
    with pytest.raises(InvalidArgumentError, match="request_key 'a1' was used for another job"):
        jobs.add("tenant-a", second.job_id, new_faces(vectors[:1]), request_key="a1")
    jobs.delete("tenant-a", job.job_id)  # its keys go with it
    fresh, _ = jobs.create("tenant-a", SETTINGS, new_faces(vectors[:1]), request_key="c1")
    assert fresh.job_id != job.job_id


def enrolled(vectors: NDArray[np.float32], group: str, first: int, stop: int) -> list[NewFace]:
    """Gallery faces ``first..stop-1`` of ``vectors`` as a job copies them (token = index)."""
    return [NewFace(vectors[i], group_id=group, face_token=f"{i:032x}") for i in range(first, stop)]


def run_until_done(jobs: ClusterJobStore, worker: ClusterWorker, job_id: str) -> None:
    """Run queued jobs (in the queue's order) until this one is done."""
    while jobs.page("tenant-a", job_id, 0, 1, 0, 1).job.status != JobStatus.DONE:
        assert worker.run_once()


def test_faces_deleted_from_the_gallery_leave_the_tenants_jobs(jobs: ClusterJobStore) -> None:
    vectors, _ = people([3, 3, 2], spread=0.6, seed=4)
    token = [f"{i:032x}" for i in range(len(vectors))]
    faces = new_faces(vectors[:3]) + enrolled(vectors, "g1", 3, 6) + enrolled(vectors, "g2", 6, 8)
    mixed, _ = jobs.create("tenant-a", SETTINGS, faces)
    other, _ = jobs.create("tenant-b", SETTINGS, enrolled(vectors, "g1", 3, 6))
    worker = ClusterWorker(jobs, DIMENSION)
    assert worker.run_once() and worker.run_once()
    assert jobs.page("tenant-a", mixed.job_id, 0, 10, 0, 10).job.cluster_count == 3
    running, _ = jobs.create("tenant-a", SETTINGS, enrolled(vectors, "g1", 3, 6))
    assert jobs.claim("w1", LEASE) is not None  # a run holds this one when the faces go

    assert jobs.remove_faces("tenant-a", "g1", [token[4]]) == 2
    assert jobs.remove_faces("tenant-a", "g2") == 1  # the whole group
    assert jobs.remove_faces("tenant-a", "g1", [token[4]]) == 0  # gone already
    stale = Result(np.zeros(3, dtype=np.int64), {0: 0})
    assert not jobs.save(running.job_id, "w1", stale)  # computed with a deleted face

    page = jobs.page("tenant-a", mixed.job_id, 0, 10, 0, 10)
    assert page.job.status == JobStatus.QUEUED and page.clusters == [] and page.unassigned == []
    assert (page.job.live_count, page.job.removed_count, page.job.pending_count) == (5, 3, 5)
    data = jobs.vectors(mixed.job_id, 8, DIMENSION)
    assert [int(i) for i in np.flatnonzero(data.labels == REMOVED)] == [4, 6, 7]
    assert not data.vectors[[4, 6, 7]].any() and not data.clustered
    with jobs.database.snapshot() as db:
        rows = db.execute(
            "SELECT f.face_token, f.group_id, length(f.embedding), f.label FROM"
            f" {jobs.database.schema}cluster_faces f JOIN {jobs.database.schema}cluster_jobs j"
            " ON j.job_id = f.job_id WHERE j.tenant = ?",
            ("tenant-a",),
        ).fetchall()
    removed = [tuple(r) for r in rows if r[3] == REMOVED]
    assert removed == [("", "", 0, REMOVED)] * 4  # three in one job, one in the other
    assert not {str(r[0]) for r in rows} & {token[4], token[6], token[7]}

    run_until_done(jobs, worker, mixed.job_id)  # clustered again without them
    done = jobs.page("tenant-a", mixed.job_id, 0, 10, 0, 10)
    assert done.job.status == JobStatus.DONE
    assert [[m.face_id for m in c.members] for c in done.clusters] == [[0, 1, 2], [3, 5]]
    assert (done.job.live_count, done.job.pending_count, done.job.unassigned_count) == (5, 0, 0)
    assert all(c.representative in c.members for c in done.clusters)
    grown, added = jobs.add("tenant-a", mixed.job_id, new_faces(vectors[6:7], "new"))
    assert [f.face_id for f in added] == [8] and grown.live_count == 6
    run_until_done(jobs, worker, mixed.job_id)
    extended = jobs.page("tenant-a", mixed.job_id, 0, 10, 0, 10)
    assert [m.face_id for m in extended.unassigned] == [8]
    assert extended.job.pending_count == 0 and extended.job.live_count == 6
    kept = jobs.page("tenant-b", other.job_id, 0, 10, 0, 10)  # another tenant's job: untouched
    assert kept.job.status == JobStatus.DONE and token[4] in {
        m.face_token for c in kept.clusters for m in c.members
    }
