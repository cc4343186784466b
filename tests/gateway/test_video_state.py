"""Video jobs, events, deliveries and streams in the gateway's database, SQLite and PostgreSQL
alike: tenancy, the job lifecycle, interrupted jobs, and one batch per stream at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from gateway.api.routes.videos import keep_lease
from gateway.core.clients import ServiceClients
from gateway.core.config import GatewaySettings
from gateway.core.video_state import PG_SCHEMA, StreamBusyError, VideoState
from gateway.orchestration.video import VideoSearch
from gateway.orchestration.video_jobs import VideoJobs
from services.shared.errors import DatabaseUnavailableError
from services.shared.postgres import ConnectionPool
from tests.services.embedding.store.conftest import postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VideoState]:
    """A video state of each backend (PostgreSQL: the test server, skipped without it)."""
    if request.param == "sqlite":
        opened = VideoState.sqlite(tmp_path / "video.sqlite3")
        yield opened
        opened.close()
        return
    pool = ConnectionPool(postgres_url(), size=4)
    try:
        with pool.connection() as db:
            db.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        opened = VideoState.postgres(pool)
        yield opened
        opened.close()
    finally:
        pool.close()


def test_a_job_from_queued_to_completed(state: VideoState) -> None:
    job = state.create_job("t1", {"group_ids": ["g"], "fps": 5.0}, "secret-0123456789", None, 100.0)
    assert (job.status, job.progress, job.frames_analysed) == ("queued", 0.0, 0)
    assert job.request == {"group_ids": ["g"], "fps": 5.0} and job.webhook_secret
    assert state.job("t2", job.job_id) is None  # another tenant's
    assert state.update_job(job.job_id, status="running", now=101.0)
    assert state.update_job(job.job_id, progress=0.5, frames_analysed=12, now=102.0)
    state.add_events(job.job_id, 0, [{"track_id": 1}, {"track_id": 2}])
    state.add_events(job.job_id, 2, [{"track_id": 3}])
    assert [e["track_id"] for e in state.events(job.job_id)] == [1, 2, 3]
    video = {"width": 640, "height": 480, "fps": 15.0, "duration_s": 9.0}
    assert state.update_job(
        job.job_id,
        status="completed",
        progress=1.0,
        video=video,
        result={"x": 1},
        finished=True,
        now=103.0,
    )
    done = state.job("t1", job.job_id)
    assert done is not None
    assert (done.status, done.progress, done.frames_analysed) == ("completed", 1.0, 12)
    assert done.video == video and done.result == {"x": 1}
    assert (done.created_at, done.updated_at, done.finished_at) == (100.0, 103.0, 103.0)
    # A finished job no longer changes (a late heartbeat or a second ending is refused).
    assert not state.update_job(job.job_id, status="failed", error=("X", "y"))
    assert state.job("t1", job.job_id).status == "completed"  # type: ignore[union-attr]


def test_deleting_a_job_removes_its_events_and_deliveries(state: VideoState) -> None:
    job = state.create_job("t1", {}, None, None)
    state.add_events(job.job_id, 0, [{"track_id": 1}])
    delivery = state.add_delivery(job.job_id, 0, "video.track", 1)
    state.record_attempt(delivery, [{"at": 1.0, "status_code": 500, "error": "HTTP 500"}], False)
    assert not state.delete_job("t2", job.job_id)  # not another tenant's to delete
    assert state.delete_job("t1", job.job_id)
    assert state.job("t1", job.job_id) is None
    assert state.events(job.job_id) == [] and state.deliveries(job.job_id) == []
    assert not state.update_job(job.job_id, progress=0.9)  # its runner learns it is gone
    assert not state.delete_job("t1", job.job_id)


def test_deliveries_keep_their_attempts_in_order(state: VideoState) -> None:
    job = state.create_job("t1", {}, "k" * 16, None)
    first = state.add_delivery(job.job_id, 0, "video.track", 4)
    second = state.add_delivery(job.job_id, 1, "video.job", None)
    attempts = [{"at": 1.0, "status_code": None, "error": "ConnectError: refused"}]
    state.record_attempt(first, attempts, False)
    attempts.append({"at": 2.0, "status_code": 200, "error": None})
    state.record_attempt(first, attempts, True)
    listed = state.deliveries(job.job_id)
    assert [(d.delivery_id, d.kind, d.track_id, d.delivered) for d in listed] == [
        (first, "video.track", 4, True),
        (second, "video.job", None, False),
    ]
    assert [a["status_code"] for a in listed[0].attempts] == [None, 200]


def test_interrupted_jobs_are_failed_by_their_heartbeat(state: VideoState) -> None:
    old = state.create_job("t1", {}, None, None, now=1000.0)
    state.update_job(old.job_id, status="running", now=1000.0)
    fresh = state.create_job("t1", {}, None, None, now=1000.0)
    state.update_job(fresh.job_id, status="running", now=1055.0)
    done = state.create_job("t1", {}, None, None, now=1000.0)
    state.update_job(done.job_id, status="completed", finished=True, now=1001.0)
    # 60 s without a heartbeat at t=1070: only the old one is failed.
    assert state.fail_stale(1070.0 - 60.0, "INTERRUPTED", "gone", job_id=fresh.job_id) == 0
    assert state.fail_stale(1070.0 - 60.0, "INTERRUPTED", "gone") == 1
    failed = state.job("t1", old.job_id)
    assert failed is not None and failed.status == "failed"
    assert (failed.error_code, failed.error_message) == ("INTERRUPTED", "gone")
    assert failed.finished_at is not None
    assert state.job("t1", fresh.job_id).status == "running"  # type: ignore[union-attr]
    assert state.job("t1", done.job_id).status == "completed"  # type: ignore[union-attr]
    assert not state.update_job(old.job_id, progress=0.5)  # its runner, if alive, stops


def test_one_batch_at_a_time_per_stream(state: VideoState) -> None:
    stream = state.create_stream("t1", {"fps": 5.0}, {"version": 1}, idle_seconds=60, now=1000.0)
    claimed = state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1001.0)
    assert claimed is not None and claimed.tracker == {"version": 1}
    with pytest.raises(StreamBusyError):
        state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1002.0)
    assert state.claim_stream("t2", stream.stream_id, lease_seconds=30, now=1002.0) is None
    assert claimed.lease is not None
    state.save_stream(claimed.lease, {"version": 1, "n": 2}, 7, 1800.0, 60, now=1003.0)
    again = state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1004.0)
    assert again is not None
    assert (again.tracker, again.frames_analysed, again.last_time_ms) == (
        {"version": 1, "n": 2},
        7,
        1800.0,
    )
    assert again.expires_at == 1063.0
    assert again.lease is not None
    state.release_stream(again.lease)  # a failed batch gives the lease back unchanged
    assert state.claim_stream("t1", stream.stream_id, 30, now=1005.0) is not None
    # A lease left by a dead gateway runs out; an idle stream expires.
    assert state.claim_stream("t1", stream.stream_id, 30, now=1040.0) is not None
    assert state.claim_stream("t1", stream.stream_id, 30, now=1100.0) is None
    state.delete_stream(stream.stream_id)
    assert state.claim_stream("t1", stream.stream_id, 30, now=1006.0) is None


def test_expired_streams_are_purged(state: VideoState) -> None:
    old = state.create_stream("t1", {}, {}, idle_seconds=10, now=1000.0)
    new = state.create_stream("t1", {}, {}, idle_seconds=10, now=2000.0)
    assert state.claim_stream("t1", old.stream_id, 30, now=1005.0) is None  # gone, not expired
    assert state.claim_stream("t1", new.stream_id, 30, now=2005.0) is not None


def test_restart_fails_the_jobs_it_cannot_finish(state: VideoState, tmp_path: Path) -> None:
    """SQLite: one gateway owns the file, so every job left queued or running at start was its
    own and is failed at once. PostgreSQL: other replicas run jobs too, so only jobs whose
    heartbeat stopped are failed (at start, and whenever the job is read)."""
    settings = GatewaySettings(data_dir=tmp_path, video_job_stale_seconds=60.0)
    now = time.time()
    stale = state.create_job("t1", {}, None, None, now=now - 120)
    state.update_job(stale.job_id, status="running", now=now - 120)
    alive = state.create_job("t1", {}, None, None, now=now)
    state.update_job(alive.job_id, status="running", now=now)
    jobs = VideoJobs(settings, cast(ServiceClients, None), state)

    assert jobs.recover() == (1 if state.shared else 2)
    failed = jobs.job("t1", stale.job_id)
    assert failed is not None and failed.status == "failed" and failed.error_code == "INTERRUPTED"
    other = jobs.job("t1", alive.job_id)
    assert other is not None
    if not state.shared:
        assert other.status == "failed"
        assert (
            other.error_message == "the gateway restarted while this job ran; send the video again"
        )
        return
    assert failed.error_message == (
        "the gateway running this job stopped (no progress for 60 s); send the video again"
    )
    assert other.status == "running"  # another replica's, beating: left alone
    state.update_job(alive.job_id, now=now - 61)  # ...until its heartbeat is a minute old
    read = jobs.job("t1", alive.job_id)
    assert read is not None and read.status == "failed" and read.error_code == "INTERRUPTED"


def test_a_crashed_replicas_jobs_do_not_count_against_the_limit(
    state: VideoState, tmp_path: Path
) -> None:
    """PostgreSQL: a replica killed while its jobs ran, restarted within the stale time, did
    not fail them at start; nothing read them afterwards (a webhook-only client never
    polls), so they counted as unfinished forever and the tenant got 429 for good."""
    if not state.shared:
        pytest.skip("SQLite: one gateway owns the file and fails all its leftovers at start")
    settings = GatewaySettings(
        data_dir=tmp_path, video_max_jobs_per_tenant=2, video_job_stale_seconds=60.0
    )
    now = time.time()
    stranded = [state.create_job("t1", {}, None, None, now=now - 3600) for _ in range(2)]
    for job in stranded:
        state.update_job(job.job_id, status="running", now=now - 3600)
    jobs = VideoJobs(settings, cast(ServiceClients, None), state)

    async def start_one() -> str:
        started = jobs.start("t1", b"video", ".mp4", VideoSearch("t1", ("g",)), 5.0, {}, None)
        await jobs.close()  # its task is cancelled before it runs
        return started.job_id

    assert asyncio.run(start_one())  # not 429
    for job in stranded:
        read = state.job("t1", job.job_id)
        assert read is not None and (read.status, read.error_code) == ("failed", "INTERRUPTED")


class DatabaseDown(VideoState):
    """The real state, but its job updates fail while ``outage`` is above zero."""

    outage = 0

    def update_job(self, *args: Any, **kwargs: Any) -> bool:
        if self.outage > 0:
            self.outage -= 1
            raise DatabaseUnavailableError("the database is unavailable right now; retry later")
        return super().update_job(*args, **kwargs)


def test_a_database_outage_neither_stops_a_heartbeat_nor_escapes_a_failing_job(
    tmp_path: Path,
) -> None:
    """The heartbeat used to end at the first failed update (the job, alive, was then failed
    as stale by another replica), and recording a job's failure while the database was down
    raised out of the job's task (leaving its webhook sender waiting forever)."""
    state = DatabaseDown.sqlite(tmp_path / "video.sqlite3")
    settings = GatewaySettings(data_dir=tmp_path, video_heartbeat_seconds=0.01)
    jobs = VideoJobs(settings, cast(ServiceClients, None), state)
    job = state.create_job("t1", {}, None, None, now=1000.0)
    state.outage = 2

    async def beat_through_the_outage() -> None:
        beating = asyncio.create_task(jobs._heartbeat(job.job_id))
        await asyncio.sleep(0.2)
        assert not beating.done()  # still beating after two failed beats
        beating.cancel()

    asyncio.run(beat_through_the_outage())
    beaten = state.job("t1", job.job_id)
    assert beaten is not None and beaten.updated_at > 1000.0
    state.outage = 1
    assert jobs._failed(job.job_id, "INTERNAL", "internal error") is None  # logged, not raised
    assert jobs._failed(job.job_id, "INTERNAL", "internal error") is not None  # back
    state.close()


def test_finished_jobs_are_purged_after_their_time_and_unfinished_ones_counted(
    state: VideoState,
) -> None:
    old, recent, running = (
        state.create_job("t1", {"fps": 5.0}, None, None, 100.0) for _ in range(3)
    )
    for job, ended in ((old, 200.0), (recent, 900.0)):
        state.update_job(job.job_id, status="completed", finished=True, now=ended)
        state.add_events(job.job_id, 0, [{"track_id": 1}])
        state.add_delivery(job.job_id, 0, "video.job", None)
    state.update_job(running.job_id, status="running", now=300.0)
    other = state.create_job("t2", {"fps": 5.0}, None, None, 100.0)
    assert (state.unfinished_jobs("t1"), state.unfinished_jobs("t2")) == (1, 1)

    assert state.purge_finished(before=500.0) == 1  # only the job that ended at 200
    assert state.job("t1", old.job_id) is None
    assert state.events(old.job_id) == [] and state.deliveries(old.job_id) == []
    assert state.job("t1", recent.job_id) is not None and state.events(recent.job_id)
    assert len(state.deliveries(recent.job_id)) == 1
    assert state.job("t1", running.job_id) is not None  # never finished: kept
    assert state.job("t2", other.job_id) is not None


def test_a_tenant_over_its_unfinished_jobs_is_refused_before_storing(
    state: VideoState, tmp_path: Path
) -> None:
    from gateway.core.errors import ApiError
    from gateway.orchestration.video import VideoSearch

    settings = GatewaySettings(data_dir=tmp_path, video_max_jobs_per_tenant=2)
    waiting = [state.create_job("t1", {}, None, None) for _ in range(2)]
    jobs = VideoJobs(settings, cast(ServiceClients, None), state)
    with pytest.raises(ApiError) as caught:
        jobs.start("t1", b"video", ".mp4", VideoSearch("t1", ("g",)), 5.0, {}, None)
    assert (caught.value.status, caught.value.code) == (429, "RATE_LIMITED")
    assert (
        caught.value.message
        == "at most 2 unfinished video jobs per API key; wait for one to finish"
    )
    assert list((tmp_path / "video-jobs").iterdir()) == []  # nothing written
    assert state.unfinished_jobs("t1") == 2 and state.unfinished_jobs("t2") == 0
    state.update_job(waiting[0].job_id, status="completed", finished=True)
    assert state.unfinished_jobs("t1") == 1  # one slot free again


def test_a_slow_batch_keeps_its_stream(state: VideoState) -> None:
    """A batch that outlasts the idle timeout is not purged under it by another tenant's new
    stream; a batch whose stream was closed meanwhile is told so."""
    stream = state.create_stream("t1", {}, {}, idle_seconds=10, now=1000.0)
    first = state.claim_stream("t1", stream.stream_id, lease_seconds=100, now=1005.0)
    assert first is not None and first.lease is not None
    state.create_stream("t2", {}, {}, idle_seconds=10, now=1050.0)  # purges expired streams
    assert state.save_stream(first.lease, {"n": 1}, 5, 900.0, 10, now=1060.0)
    again = state.claim_stream("t1", stream.stream_id, lease_seconds=100, now=1061.0)
    assert again is not None and again.tracker == {"n": 1} and again.lease is not None
    state.delete_stream(stream.stream_id)  # closed by another request during the batch
    assert not state.save_stream(again.lease, {"n": 2}, 6, 950.0, 10, now=1070.0)


def test_events_of_a_deleted_job_are_not_stored(state: VideoState) -> None:
    """A job deleted through another replica while it runs: its runner's next events are
    refused (no orphan rows), which tells the runner to stop."""
    job = state.create_job("t1", {}, None, None)
    assert state.add_events(job.job_id, 0, [{"track_id": 1}])
    assert state.delete_job("t1", job.job_id)
    assert not state.add_events(job.job_id, 1, [{"track_id": 2}, {"track_id": 3}])
    assert state.events(job.job_id) == []


def test_a_batchs_lease_is_renewed_while_it_runs_and_ends_with_its_gateway(
    state: VideoState,
) -> None:
    """The lease was the batch's worst case (500 s): a gateway that crashed mid-batch left the
    stream busy (409, not even closable) that long. Now it is short and renewed; a batch whose
    lease ran out and was taken can neither renew, save over nor release the new batch's."""
    stream = state.create_stream("t1", {}, {}, idle_seconds=120, now=1000.0)
    first = state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1000.0)
    assert first is not None and first.lease is not None
    assert state.renew_stream(first.lease, 30, now=1020.0)  # the batch is still running
    assert first.lease.until == 1050.0
    with pytest.raises(StreamBusyError):
        state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1040.0)
    # the first batch stalls (its gateway died, or its renewals failed): free at 1051
    second = state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1051.0)
    assert second is not None and second.lease is not None
    assert not state.renew_stream(first.lease, 30, now=1052.0)
    assert not state.save_stream(first.lease, {"stale": True}, 9, 500.0, 120, now=1053.0)
    state.release_stream(first.lease)  # not the first batch's any more: nothing happens
    with pytest.raises(StreamBusyError):
        state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1054.0)
    assert state.save_stream(second.lease, {"n": 2}, 4, 600.0, 120, now=1055.0)
    saved = state.claim_stream("t1", stream.stream_id, lease_seconds=30, now=1056.0)
    assert saved is not None and saved.tracker == {"n": 2}


def test_keep_lease_renews_until_cancelled(state: VideoState) -> None:
    stream = state.create_stream("t1", {}, {}, idle_seconds=120)
    claimed = state.claim_stream("t1", stream.stream_id, lease_seconds=0.3)
    assert claimed is not None and claimed.lease is not None
    lease = claimed.lease

    async def run_a_long_batch() -> None:
        renewing = asyncio.create_task(keep_lease(state, lease, 0.3))
        await asyncio.sleep(0.6)  # twice the lease
        with pytest.raises(StreamBusyError):
            state.claim_stream("t1", stream.stream_id, lease_seconds=0.3)
        renewing.cancel()

    asyncio.run(run_a_long_batch())
    time.sleep(0.35)
    assert state.claim_stream("t1", stream.stream_id, lease_seconds=0.3) is not None
