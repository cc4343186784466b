"""Long videos as background jobs: the upload is kept in a file, a task of the gateway runs it,
and its state lives in the gateway's database (``gateway/core/video_state.py``).

A job is ``queued`` until one of ``video_max_running_jobs`` slots is free, then ``running``
(progress, events as tracks end; its row's ``updated_at`` is a heartbeat, refreshed at
least every ``video_heartbeat_seconds``), then ``completed`` or ``failed`` (with an error code
and message). Events go to the job (``GET /videos/jobs/{id}``) and, when the job has a webhook,
to the receiver (``webhooks.py``).

Interrupted jobs are reported failed, never left running: a gateway that stops cancels its
jobs and marks them failed (INTERRUPTED); after a crash, the next start marks them failed (with
SQLite one gateway owns the database, so every job still queued or running was its own); with
PostgreSQL several replicas share it, so a job is failed once its heartbeat is older than
``video_job_stale_seconds`` (checked at start and whenever the job is read). Jobs are not
resumed: the uploaded file is deleted with the job's end, and a client sends the video again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.core.clients import ServiceClients
from gateway.core.config import GatewaySettings
from gateway.core.errors import ApiError, local_disk_errors
from gateway.core.video_state import JobRecord, VideoState
from gateway.orchestration.fair_slots import FairSlots
from gateway.orchestration.video import VideoSearch, new_recognizer, recognize, video_frames
from gateway.orchestration.webhooks import Message, RetryPolicy, WebhookSender
from services.shared.errors import FaceflowError
from services.shared.video import VideoReader

log = logging.getLogger("faceflow.gateway.video_jobs")

INTERRUPTED = "INTERRUPTED"
STOPPED_MESSAGE = "the gateway stopped while this job ran; send the video again"
RESTARTED_MESSAGE = "the gateway restarted while this job ran; send the video again"
STALE_MESSAGE = (
    "the gateway running this job stopped (no progress for {seconds:g} s); send the video again"
)
PROGRESS_EVERY_SECONDS = 1.0
_HEARTBEATS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="video-heartbeat")


class JobGoneError(Exception):
    """The job was deleted (or failed by another replica) while it ran."""


@dataclass(frozen=True)
class JobInput:
    """What a job runs on."""

    path: Path
    search: VideoSearch
    fps: float
    webhook_url: str | None


class VideoJobs:
    """Starts, runs and reports video jobs (one per app, in ``app.state.video_jobs``)."""

    def __init__(
        self, settings: GatewaySettings, clients: ServiceClients, state: VideoState
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.state = state
        self.folder = settings.data_dir / "video-jobs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._slots = FairSlots(settings.video_max_running_jobs)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._http = httpx.AsyncClient(follow_redirects=False)
        self.retry = RetryPolicy(
            attempts=settings.webhook_attempts,
            first_delay=settings.webhook_retry_seconds,
            timeout=settings.webhook_timeout_seconds,
            allowed_networks=settings.webhook_networks,
        )

    def recover(self) -> int:
        """At start: fail the jobs a previous run left queued or running (all of them with
        SQLite; with PostgreSQL those without a recent heartbeat); how many."""
        if self.state.shared:
            count = self._fail_stale()
        else:
            count = self.state.fail_stale(time.time() + 1.0, INTERRUPTED, RESTARTED_MESSAGE)
        for leftover in self.folder.glob("vj_*"):
            if leftover.stem not in self._tasks:
                leftover.unlink(missing_ok=True)
        if count:
            log.warning("%d video job(s) interrupted by a restart were marked failed", count)
        return count

    def job(self, tenant: str, job_id: str) -> JobRecord | None:
        """The tenant's job, failed first if its runner is gone (another replica's crash)."""
        job = self.state.job(tenant, job_id)
        if job is None or job.status not in ("queued", "running") or job_id in self._tasks:
            return job
        if self._fail_stale(job_id):
            return self.state.job(tenant, job_id)
        return job

    def _fail_stale(self, job_id: str | None = None) -> int:
        """Fail the unfinished jobs (or the one) whose runner stopped beating: a replica
        that crashed or was killed; how many."""
        stale = self.settings.video_job_stale_seconds
        return self.state.fail_stale(
            time.time() - stale, INTERRUPTED, STALE_MESSAGE.format(seconds=stale), job_id
        )

    def start(
        self,
        tenant: str,
        video: bytes,
        suffix: str,
        search: VideoSearch,
        fps: float,
        info: dict[str, Any],
        webhook: tuple[str, str] | None,
    ) -> JobRecord:
        """Store the upload and the job, and start its task. When the video cannot be written
        (no space left: 503 SERVICE_UNAVAILABLE) the job record is removed again."""
        self.state.purge_finished(time.time() - self.settings.video_job_ttl_hours * 3600.0)
        if self.state.shared:  # a crashed replica's jobs must not count against the limit
            self._fail_stale()  # forever (nothing else fails them unless they are read)
        limit = self.settings.video_max_jobs_per_tenant
        if self.state.unfinished_jobs(tenant) >= limit:
            raise ApiError(
                429,
                "RATE_LIMITED",
                f"at most {limit} unfinished video jobs per API key; wait for one to finish",
                {"Retry-After": "10"},
            )
        request = {**search.as_json(), "fps": fps, "webhook_url": webhook[0] if webhook else None}
        job = self.state.create_job(tenant, request, webhook[1] if webhook else None, info)
        path = self.folder / f"{job.job_id}{suffix}"
        try:
            with local_disk_errors("the video"):
                path.write_bytes(video)
        except ApiError:
            path.unlink(missing_ok=True)
            self.state.delete_job(tenant, job.job_id)
            raise
        job_input = JobInput(path, search, fps, webhook[0] if webhook else None)
        task = asyncio.create_task(self._run(job, job_input), name=f"video-job-{job.job_id}")
        self._tasks[job.job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.job_id, None))
        return job

    def cancel(self, job_id: str) -> None:
        """Stop a job's task (it was deleted)."""
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        """Cancel running jobs (each marks itself failed) and close the webhook client."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._http.aclose()

    async def _run(self, job: JobRecord, job_input: JobInput) -> None:
        sender = None
        if job_input.webhook_url and job.webhook_secret:
            sender = WebhookSender(
                job.job_id,
                job_input.webhook_url,
                job.webhook_secret,
                self.state,
                self._http,
                self.retry,
            )
        outcome: dict[str, Any] | None = None
        heartbeat = asyncio.create_task(self._heartbeat(job.job_id))  # queued jobs beat too
        try:
            async with self._slots.slot(job.tenant):
                outcome = await self._process(job, job_input, sender)
        except JobGoneError:
            log.info("video job %s was deleted or failed elsewhere; stopped", job.job_id)
            if sender is not None:  # its queued messages are not sent: the job is gone
                sender.cancel()
                sender = None
        except asyncio.CancelledError:
            self._failed(job.job_id, INTERRUPTED, STOPPED_MESSAGE)
            if sender is not None:
                sender.cancel()
            raise
        except (ApiError, FaceflowError) as error:
            outcome = self._failed(job.job_id, error.code, error.message)
        except Exception:
            log.exception("video job %s failed", job.job_id)
            outcome = self._failed(job.job_id, "INTERNAL", "internal error")
        finally:
            heartbeat.cancel()
            job_input.path.unlink(missing_ok=True)
        if sender is None:
            return
        if outcome is None:  # the job was deleted meanwhile: nothing more to tell about it
            sender.cancel()
            return
        payload = {"type": "video.job", "job_id": job.job_id, **outcome}
        sender.send(Message("video.job", None, payload))
        await sender.close()

    def _failed(self, job_id: str, code: str, message: str) -> dict[str, Any] | None:
        """Mark the job failed; what its webhook is told (None when the job was deleted
        meanwhile, e.g. with its tenant, or when the failure cannot be recorded (the database
        is down: the job is judged stale later): no message about it is recorded or sent)."""
        try:
            recorded = self.state.update_job(
                job_id, status="failed", error=(code, message), finished=True
            )
        except Exception:
            log.exception("video job %s: its failure (%s) cannot be recorded", job_id, code)
            return None
        if not recorded:
            return None
        return {"status": "failed", "error": {"code": code, "message": message}}

    async def _process(
        self, job: JobRecord, job_input: JobInput, sender: WebhookSender | None
    ) -> dict[str, Any]:
        settings = self.settings
        if not self.state.update_job(job.job_id, status="running"):
            raise JobGoneError(job.job_id)
        reader = await asyncio.to_thread(
            VideoReader,
            job_input.path,
            max_pixels=settings.max_image_pixels,
            max_side=settings.video_max_side,
            max_duration_s=settings.video_max_seconds,
        )
        try:
            expected = reader.info.sampled_count(job_input.fps)
            recognizer = new_recognizer(self.clients, job_input.search, job_input.fps, settings)
            count = 0
            last_write = time.monotonic()

            async def on_events(events: list[dict[str, Any]]) -> None:
                nonlocal count
                if not self.state.add_events(job.job_id, count, events):
                    raise JobGoneError(job.job_id)
                count += len(events)
                if sender is not None:
                    for event in events:
                        payload = {"type": "video.track", "job_id": job.job_id, "event": event}
                        sender.send(Message("video.track", int(event["track_id"]), payload))

            async def on_progress(frames: int, time_ms: float) -> None:
                nonlocal last_write
                if time.monotonic() - last_write < PROGRESS_EVERY_SECONDS:
                    return
                last_write = time.monotonic()
                progress = min(0.99, frames / expected) if expected else 0.0
                if not self.state.update_job(
                    job.job_id, progress=round(progress, 4), frames_analysed=frames
                ):
                    raise JobGoneError(job.job_id)

            await recognize(
                recognizer,
                video_frames(reader, job_input.fps),
                window=settings.video_pipeline_window,
                on_events=on_events,
                on_progress=on_progress,
            )
            video = {**video_info(reader), "frames_analysed": recognizer.frames}
        finally:
            reader.close()
        result = {**recognizer.summary.as_json(), "models": recognizer.model_list()}
        if not self.state.update_job(
            job.job_id,
            status="completed",
            progress=1.0,
            frames_analysed=recognizer.frames,
            video=video,
            result=result,
            finished=True,
        ):
            raise JobGoneError(job.job_id)
        return {"status": "completed", "events": count, "error": None}

    async def _heartbeat(self, job_id: str) -> None:
        """Keep ``updated_at`` fresh while the job waits for a slot or a frame takes long."""
        while True:
            await asyncio.sleep(self.settings.video_heartbeat_seconds)
            try:  # off the event loop (a slow database must not stall every request), on
                # threads of their own (stuck beats must not hold the threads decoding frames)
                beat = asyncio.get_running_loop().run_in_executor(
                    _HEARTBEATS, self.state.update_job, job_id
                )
                if not await beat:
                    return
            except Exception:  # the database is down for a while: beat again next time
                log.warning("video job %s: heartbeat not recorded", job_id, exc_info=True)


def video_info(reader: VideoReader) -> dict[str, Any]:
    """What the container declares, for responses."""
    info = reader.info
    duration = info.duration_s
    return {
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
        "duration_s": None if duration is None else round(duration, 3),
    }
