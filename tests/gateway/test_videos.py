"""Video recognition through HTTP on real video made from real photos.

The clip (tests/helpers/video_clips.py) is composed from lfw-devtest photos: two enrolled
people (enrolled from other photos of them than the clip's), two bystanders who are in no
gallery, a panning and zooming camera, people entering and leaving, one of them twice.
The gateway runs on the real detection and embedding services. The error paths and the
restart use a clip made from scikit-image's astronaut, so they run without ../shared/data.
"""

from __future__ import annotations

import errno
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from faceflow_sdk.watch import Source, sample_frames
from faceflow_sdk.webhooks import verify_webhook
from gateway.core.tenants_pg import PostgresTenantStore, migrate_gateway_schema
from gateway.core.video_state import JobRecord, VideoState
from gateway.core.webhook_destinations import NOT_ALLOWED
from gateway.main import create_app
from gateway.orchestration import video_jobs as video_jobs_module
from gateway.orchestration.video_jobs import VideoJobs
from services.shared import video as video_module
from services.shared.errors import DeadlineExceededError
from services.shared.postgres import ConnectionPool
from tests.gateway.conftest import GatewayFactory, GatewayUnderTest, gateway_settings
from tests.gateway.gallery_helpers import API, create_group, enroll, unique
from tests.helpers import images
from tests.helpers.http import assert_error, error_message
from tests.helpers.video_clips import (
    Scene,
    astronaut_clip,
    can_write,
    check_events,
    photo_path,
    recognition_scene,
    write_clip,
)
from tests.services.embedding.store.conftest import postgres_url

FPS = 15.0  # the clip's own frame rate; the gateway samples 5 per second by default


@dataclass(frozen=True)
class Clips:
    """The test scene written once per module, as mp4 (mp4v) and, where possible, webm."""

    scene: Scene
    mp4: bytes
    webm: bytes | None
    empty_mp4: bytes


@pytest.fixture(scope="module")
def clips(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Clips:
    folder = tmp_path_factory.mktemp("clips")
    scene = recognition_scene()
    mp4 = write_clip(scene, shared_data, folder / "scene.mp4", FPS, "mp4v")
    webm = None
    if can_write("VP80", ".webm"):
        webm = write_clip(scene, shared_data, folder / "scene.webm", FPS, "VP80")
    empty = Scene(scene.appearances, scene.camera, 0.0)
    empty_mp4 = write_clip(empty, shared_data, folder / "empty.mp4", FPS, "mp4v")
    return Clips(scene, mp4, webm, empty_mp4)


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


def enrol_scene(gw: GatewayUnderTest, scene: Scene, shared_data: Path) -> str:
    """A fresh group with the scene's enrolled people (from their enrolment photos)."""
    group = unique("video")
    assert create_group(gw, group).status_code == 200
    for person, photos in scene.enrolment.items():
        for photo in photos:
            response = enroll(gw, group, person, photo_path(shared_data, photo).read_bytes())
            assert response.status_code == 200, response.text
    return group


def recognize(
    gw: GatewayUnderTest, video: bytes, name: str = "clip.mp4", **params: Any
) -> httpx.Response:
    kind = "video/webm" if name.endswith(".webm") else "video/mp4"
    response: httpx.Response = gw.client.post(
        f"{API}/videos/recognize",
        files={"video": (name, video, kind)},
        data={key: str(value) for key, value in params.items()},
        headers=gw.headers,
    )
    return response


def test_recognize_names_the_enrolled_and_leaves_bystanders_unknown(
    gw: GatewayUnderTest, clips: Clips, shared_data: Path
) -> None:
    group = enrol_scene(gw, clips.scene, shared_data)
    response = recognize(gw, clips.mp4, group_ids=group)
    assert response.status_code == 200, response.text
    body = response.json()
    check_events(body["events"], clips.scene)
    assert body["video"] == {
        "width": 640,
        "height": 480,
        "fps": 15.0,
        "duration_s": 9.0,
        "frames_analysed": 45,
    }
    assert body["gallery_size"] == 2 and 30 < body["threshold"] < 60 and body["fpir"] == 0.001
    assert {m["name"] for m in body["models"]} >= {"yunet", "sface"}
    assert body["request_id"] and body["took_ms"] > 0


def test_webm_and_another_sampling_rate(
    gw: GatewayUnderTest, clips: Clips, shared_data: Path
) -> None:
    if clips.webm is None:
        pytest.skip("this OpenCV build cannot write VP8 webm")
    group = enrol_scene(gw, clips.scene, shared_data)
    response = recognize(gw, clips.webm, "clip.webm", group_ids=group, fps=3)
    assert response.status_code == 200, response.text
    body = response.json()
    check_events(body["events"], clips.scene)
    assert body["video"]["frames_analysed"] == 27  # 9 s at 3 of 15 frames per second... 1 in 5


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Clips that need no ../shared/data (scikit-image's astronaut): 3 s, 20 s, no frame."""
    folder = tmp_path_factory.mktemp("generated")
    return {
        name: astronaut_clip(folder / f"{name}.mp4", seconds)
        for name, seconds in (("short", 3.0), ("long", 20.0), ("empty", 0.0))
    }


def test_bad_input(
    make_gateway: GatewayFactory,
    detection_address: str,
    embedding_address: str,
    generated: dict[str, bytes],
) -> None:
    clip = generated["short"]
    gw = make_gateway(
        detection=detection_address,
        embedding=embedding_address,
        video_max_bytes=len(clip) - 1,
    )
    group = unique("video-errors")
    assert create_group(gw, group).status_code == 200
    jpeg = images.astronaut_jpeg()
    message = assert_error(recognize(gw, jpeg, group_ids=group), 400, "INVALID_VIDEO")
    assert message["error"]["message"] == "the video is neither mp4 nor webm"
    message = assert_error(recognize(gw, b"", group_ids=group), 400, "INVALID_VIDEO")
    assert message["error"]["message"] == "the video is empty"
    no_frames = assert_error(
        recognize(gw, generated["empty"], group_ids=group), 400, "INVALID_VIDEO"
    )
    assert no_frames["error"]["message"] == (
        "the video cannot be decoded (no video stream, or no frame)"
    )
    broken = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
    assert_error(recognize(gw, broken, group_ids=group), 400, "INVALID_VIDEO")
    too_large = assert_error(recognize(gw, clip, group_ids=group), 413, "VIDEO_TOO_LARGE")
    assert too_large["error"]["message"] == (
        f"the video is {len(clip)} bytes; the limit is {len(clip) - 1} bytes"
    )

    gw = make_gateway(
        detection=detection_address, embedding=embedding_address, video_max_seconds=2.0
    )
    too_long = assert_error(recognize(gw, clip, group_ids=group), 400, "VIDEO_TOO_LONG")
    assert too_long["error"]["message"] == "the video lasts 3.0 s; the limit is 2 s"
    unknown = assert_error(
        recognize(gw, clip, group_ids=f"{group},nobody-here"), 404, "GROUP_NOT_FOUND"
    )
    assert unknown["error"]["message"] == "group 'nobody-here' does not exist"
    other = gw.new_tenant_key(unique("tenant"))  # another app's group is no group of yours
    hidden = gw.client.post(
        f"{API}/videos/recognize",
        files={"video": ("v.mp4", clip, "video/mp4")},
        data={"group_ids": group},
        headers={"x-api-key": other},
    )
    assert_error(hidden, 404, "GROUP_NOT_FOUND")
    for fps, said in (
        ("0", "between 0.2 and 30.0"),
        ("100", "between 0.2 and 30.0"),
        ("abc", "a number"),
    ):
        bad = assert_error(recognize(gw, clip, group_ids=group, fps=fps), 400, "INVALID_ARGUMENT")
        assert bad["error"]["message"] == f"'fps' must be {said}"
    bad_mode = assert_error(
        recognize(gw, clip, group_ids=group, mode="later"), 400, "INVALID_ARGUMENT"
    )
    assert bad_mode["error"]["message"] == "mode must be one of auto, async, got 'later'"
    short_secret = assert_error(
        recognize(
            gw,
            clip,
            group_ids=group,
            webhook_url="https://example.com/hook",
            webhook_secret="short",
        ),
        400,
        "INVALID_ARGUMENT",
    )
    assert short_secret["error"]["message"] == "webhook_secret must be 16-256 characters"
    bad_url = assert_error(
        recognize(
            gw,
            clip,
            group_ids=group,
            webhook_url="ftp://example.com/x",
            webhook_secret="s" * 20,
        ),
        400,
        "INVALID_ARGUMENT",
    )
    assert bad_url["error"]["message"] == "webhook_url must be an http:// or https:// URL"
    no_secret = assert_error(
        recognize(gw, clip, group_ids=group, webhook_url="http://127.0.0.1:9/x"),
        400,
        "INVALID_ARGUMENT",
    )
    assert no_secret["error"]["message"] == "webhook_secret is required with webhook_url"
    jobs: VideoJobs = gw.client.app.state.video_jobs  # type: ignore[attr-defined]
    before = jobs.state.unfinished_jobs("demo")
    for internal in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest", "http://[::1]/x"):
        refused = assert_error(
            recognize(gw, clip, group_ids=group, webhook_url=internal, webhook_secret="s" * 20),
            400,
            "INVALID_ARGUMENT",
        )
        assert refused["error"]["message"] == NOT_ALLOWED  # and no job was made
    assert jobs.state.unfinished_jobs("demo") == before
    missing = gw.client.post(
        f"{API}/videos/recognize", data={"group_ids": group}, headers=gw.headers
    )
    assert assert_error(missing, 400, "INVALID_ARGUMENT")["error"]["message"] == (
        "the field 'video' (an image) is required"
    )
    unauthenticated = gw.client.post(
        f"{API}/videos/recognize", files={"video": ("v.mp4", clip, "video/mp4")}
    )
    assert_error(unauthenticated, 401, "UNAUTHENTICATED")


def wait_for(gw: GatewayUnderTest, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll a job until it is over."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        response = gw.client.get(f"{API}/videos/jobs/{job_id}", headers=gw.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        seen.append(body)
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {seen[-1]['status']} after {timeout} s")


def test_async_job_lifecycle(
    make_gateway: GatewayFactory,
    detection_address: str,
    embedding_address: str,
    clips: Clips,
    shared_data: Path,
) -> None:
    """A video longer than the sync limit becomes a job: 202, progress, events, the result;
    another tenant cannot see it; DELETE forgets it."""
    gw = make_gateway(
        detection=detection_address, embedding=embedding_address, video_sync_max_seconds=5.0
    )
    group = enrol_scene(gw, clips.scene, shared_data)
    accepted = recognize(gw, clips.mp4, group_ids=group)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert job["status"] in ("queued", "running") and job["progress"] < 1.0
    assert accepted.headers["location"] == f"{API}/videos/jobs/{job['job_id']}"
    assert job["events"] == [] and job["error"] is None and job["webhook"] is None

    done = wait_for(gw, job["job_id"])
    assert done["status"] == "completed", done
    assert done["progress"] == 1.0 and done["frames_analysed"] == 45
    check_events(done["events"], clips.scene)
    assert done["video"]["duration_s"] == 9.0 and done["gallery_size"] == 2
    assert done["finished_at"] and done["error"] is None

    other = gw.new_tenant_key(unique("tenant"))
    hidden = gw.client.get(f"{API}/videos/jobs/{job['job_id']}", headers={"x-api-key": other})
    assert_error(hidden, 404, "VIDEO_JOB_NOT_FOUND")
    deleted = gw.client.delete(f"{API}/videos/jobs/{job['job_id']}", headers=gw.headers)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    gone = gw.client.get(f"{API}/videos/jobs/{job['job_id']}", headers=gw.headers)
    assert_error(gone, 404, "VIDEO_JOB_NOT_FOUND")
    assert_error(
        gw.client.delete(f"{API}/videos/jobs/vj_nothing", headers=gw.headers),
        404,
        "VIDEO_JOB_NOT_FOUND",
    )


def test_a_job_interrupted_by_a_restart_is_reported_failed(
    make_gateway: GatewayFactory,
    detection_address: str,
    embedding_address: str,
    generated: dict[str, bytes],
) -> None:
    """Stopped gateway: its jobs fail at once; crashed one (nothing cleaned up): the next
    start fails them. Never 'running' forever."""
    gw = make_gateway(detection=detection_address, embedding=embedding_address)
    group = unique("video-restart")
    assert create_group(gw, group).status_code == 200
    accepted = recognize(gw, generated["long"], group_ids=group, mode="async")
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    gw.client.__exit__(None, None, None)  # the gateway stops (lifespan shutdown) mid-job

    # A crash leaves a job 'running' with no one to finish it: written as a dead gateway would.
    state = VideoState.sqlite(gw.settings.data_dir / "video.sqlite3")
    crashed = state.create_job("demo", {"group_ids": [group], "fps": 5.0}, None, None)
    state.update_job(crashed.job_id, status="running")
    state.close()

    with TestClient(create_app(gw.settings), raise_server_exceptions=False) as restarted:
        for job, reason in ((job_id, "stopped"), (crashed.job_id, "restarted")):
            body = restarted.get(f"{API}/videos/jobs/{job}", headers=gw.headers).json()
            assert body["status"] == "failed", body
            assert body["error"]["code"] == "INTERRUPTED"
            assert body["error"]["message"] == (
                f"the gateway {reason} while this job ran; send the video again"
            )
            assert body["finished_at"]


class Receiver:
    """A real HTTP server that records webhook requests; the first ``fail_first`` get 500."""

    def __init__(self, fail_first: int) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.fail_first else 200
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver.requests.append((headers, body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/faceflow-hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(fail_first=1) as running:
        yield running


def test_no_room_for_the_video_is_503_and_no_job_is_left(
    make_gateway: GatewayFactory,
    detection_address: str,
    embedding_address: str,
    generated: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gateway writes a video to its disk twice: to read it (a temporary file) and, for a
    job, into its jobs folder. Either write failing (no space, a missing folder) is 503
    SERVICE_UNAVAILABLE "retry later", never a 500, and no job record is left behind."""
    gw = make_gateway(detection=detection_address, embedding=embedding_address)
    group = unique("video-disk")
    assert create_group(gw, group).status_code == 200
    jobs: VideoJobs = gw.client.app.state.video_jobs  # type: ignore[attr-defined]
    created: list[str] = []
    create_job = jobs.state.create_job

    def recording_create_job(*args: Any, **kwargs: Any) -> JobRecord:
        job = create_job(*args, **kwargs)
        created.append(job.job_id)
        return job

    monkeypatch.setattr(jobs.state, "create_job", recording_create_job)
    folder = jobs.folder
    jobs.folder = folder / "gone"  # the jobs folder vanished: writing there fails
    response = recognize(gw, generated["short"], group_ids=group, mode="async")
    message = error_message(response, 503, "SERVICE_UNAVAILABLE")
    assert message == (
        "the gateway cannot store the video right now (its temporary space is full or "
        "failing); retry later"
    )
    assert len(created) == 1 and jobs.state.job_by_id(created[0]) is None
    assert list(folder.glob("vj_*")) == []
    jobs.folder = folder

    class FullDisk:
        @staticmethod
        def mkstemp(**_: Any) -> tuple[int, str]:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(video_module, "tempfile", FullDisk)
    for mode in ("auto", "async"):
        response = recognize(gw, generated["short"], group_ids=group, mode=mode)
        assert "retry later" in error_message(response, 503, "SERVICE_UNAVAILABLE")
    assert len(created) == 1  # refused before any job was made
    monkeypatch.undo()
    accepted = recognize(gw, generated["short"], group_ids=group, mode="async")
    assert accepted.status_code == 202, accepted.text


def test_webhook_deliveries_are_signed_and_retried(
    make_gateway: GatewayFactory,
    detection_address: str,
    embedding_address: str,
    clips: Clips,
    shared_data: Path,
    receiver: Receiver,
) -> None:
    secret = "a-shared-secret-of-some-length"
    gw = make_gateway(
        detection=detection_address,
        embedding=embedding_address,
        webhook_retry_seconds=0.05,
        webhook_allowed_networks="127.0.0.0/8",  # the receiver runs on this machine
    )
    group = enrol_scene(gw, clips.scene, shared_data)
    accepted = recognize(
        gw, clips.mp4, group_ids=group, webhook_url=receiver.url, webhook_secret=secret
    )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    assert accepted.json()["webhook"] == {"url": receiver.url, "deliveries": []}
    done = wait_for(gw, job_id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = gw.client.get(f"{API}/videos/jobs/{job_id}", headers=gw.headers).json()
        deliveries = body["webhook"]["deliveries"]
        if (
            deliveries
            and deliveries[-1]["event"] == "video.job"
            and all(d["delivered"] for d in deliveries)
        ):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"deliveries not done: {body['webhook']}")

    # Every request was signed with the secret; the first one failed (500) and was retried.
    assert len(deliveries) == len(done["events"]) + 1
    assert len(receiver.requests) == len(deliveries) + 1
    first_try, retry = receiver.requests[0], receiver.requests[1]
    assert first_try[2] == 500 and retry[2] == 200
    assert first_try[0]["x-faceflow-delivery"] == retry[0]["x-faceflow-delivery"]
    assert first_try[1] == retry[1]
    for headers, payload, _ in receiver.requests:
        assert verify_webhook(secret, payload, headers)
        assert not verify_webhook("another-secret-entirely", payload, headers)
        assert not verify_webhook(secret, payload + b" ", headers)
    attempts = deliveries[0]["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 200]
    assert attempts[0]["error"] == "HTTP 500" and attempts[1]["error"] is None
    assert all(len(d["attempts"]) == 1 for d in deliveries[1:])

    # The messages are the job's events in order, then the job's end.
    messages = [json.loads(body) for _, body, status in receiver.requests if status == 200]
    tracks = [m["event"] for m in messages if m["type"] == "video.track"]
    assert tracks == done["events"]
    assert messages[-1] == {
        "type": "video.job",
        "job_id": job_id,
        "status": "completed",
        "events": len(done["events"]),
        "error": None,
        "delivery_id": receiver.requests[-1][0]["x-faceflow-delivery"],
    }
    assert [d["track_id"] for d in deliveries[:-1]] == [e["track_id"] for e in done["events"]]
    # the delivery id is signed with the body: a repeat under another header is still a repeat
    for headers, body, _ in receiver.requests:
        assert json.loads(body)["delivery_id"] == headers["x-faceflow-delivery"]
    assert json.loads(first_try[1])["delivery_id"] == json.loads(retry[1])["delivery_id"]


def test_a_job_deleted_while_it_fails_sends_no_webhook(
    make_gateway: GatewayFactory,
    detection_address: str,
    embedding_address: str,
    generated: dict[str, bytes],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job deleted (with its tenant, say) while it runs, whose run then fails, records and
    sends nothing more: no "video.job" message for a job nobody can look up."""
    gw = make_gateway(
        detection=detection_address,
        embedding=embedding_address,
        webhook_allowed_networks="127.0.0.0/8",
    )
    group = unique("video-gone")
    assert create_group(gw, group).status_code == 200
    jobs: VideoJobs = gw.client.app.state.video_jobs  # type: ignore[attr-defined]

    async def deleted_then_failing(*args: Any, **kwargs: Any) -> None:
        for job_id in list(jobs._tasks):
            jobs.state.delete_job("demo", job_id)
        raise DeadlineExceededError("the embedding service did not answer in time")

    monkeypatch.setattr(video_jobs_module, "recognize", deleted_then_failing)
    accepted = recognize(
        gw,
        generated["short"],
        group_ids=group,
        webhook_url=receiver.url,
        webhook_secret="s" * 20,
    )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    deadline = time.monotonic() + 30
    while job_id in jobs._tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job_id not in jobs._tasks
    assert jobs.state.deliveries(job_id) == [] and receiver.requests == []
    gone = gw.client.get(f"{API}/videos/jobs/{job_id}", headers=gw.headers)
    assert gone.status_code == 404


def test_a_stream_in_batches_gives_the_same_tracks(
    gw: GatewayUnderTest, clips: Clips, shared_data: Path, tmp_path: Path
) -> None:
    """Frames sent 0.4 s at a time: tracks crossing a batch boundary stay one event each.

    The frames are the SDK's (``faceflow watch`` reads the file the same way the server does:
    the same decoded pixels, every third frame, JPEG at the same quality), so the events must
    be the very ones of the upload."""
    group = enrol_scene(gw, clips.scene, shared_data)
    whole = recognize(gw, clips.mp4, group_ids=group).json()["events"]

    opened = gw.client.post(
        f"{API}/videos/streams", json={"group_ids": group, "fps": 5}, headers=gw.headers
    )
    assert opened.status_code == 200, opened.text
    stream_id = opened.json()["stream_id"]
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(clips.mp4)
    frames = [(f.time_ms, f.jpeg) for f in sample_frames(Source.parse(str(clip)), 5.0)]
    assert len(frames) == 45
    events: list[dict[str, Any]] = []
    url = f"{API}/videos/streams/{stream_id}/frames"
    for start in range(0, len(frames), 2):
        batch = frames[start : start + 2]
        response = gw.client.post(
            url,
            files=[("frames", (f"{t}.jpg", data, "image/jpeg")) for t, data in batch],
            data={"frame_times_ms": ",".join(str(t) for t, _ in batch)},
            headers=gw.headers,
        )
        assert response.status_code == 200, response.text
        events += response.json()["events"]
        assert response.json()["last_time_ms"] == batch[-1][0]
    assert len({e["track_id"] for e in events}) == len(events)
    # Out of order, unknown, another tenant's: refused; the stream still works after.
    late = gw.client.post(
        url,
        files=[("frames", ("a.jpg", frames[0][1], "image/jpeg"))],
        data={"frame_times_ms": "0"},
        headers=gw.headers,
    )
    assert_error(late, 409, "FRAMES_OUT_OF_ORDER")
    mismatch = gw.client.post(
        url,
        files=[("frames", ("a.jpg", frames[0][1], "image/jpeg"))],
        data={"frame_times_ms": "99000,99100"},
        headers=gw.headers,
    )
    assert assert_error(mismatch, 400, "INVALID_ARGUMENT")["error"]["message"] == (
        "frame_times_ms has 2 values for 1 frames"
    )
    millions = gw.client.post(
        url,
        files=[("frames", ("a.jpg", frames[0][1], "image/jpeg"))],
        data={"frame_times_ms": "9," * 2_000_000},
        headers=gw.headers,
    )
    assert assert_error(millions, 400, "INVALID_ARGUMENT")["error"]["message"] == (
        "frame_times_ms may hold at most 1000 values"
    )
    other = gw.new_tenant_key(unique("tenant"))
    assert_error(
        gw.client.post(f"{API}/videos/streams/{stream_id}/close", headers={"x-api-key": other}),
        404,
        "VIDEO_STREAM_NOT_FOUND",
    )
    closed = gw.client.post(f"{API}/videos/streams/{stream_id}/close", headers=gw.headers)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] is True and closed.json()["open_tracks"] == 0
    events += closed.json()["events"]
    again = gw.client.post(f"{API}/videos/streams/{stream_id}/close", headers=gw.headers)
    assert_error(again, 404, "VIDEO_STREAM_NOT_FOUND")

    def key(event: dict[str, Any]) -> tuple[Any, ...]:
        who = event["user_id"] or ""
        return (who, event["first_seen"], event["last_seen"], event["frames"])

    assert sorted(map(key, events)) == sorted(map(key, whole))
    check_events(events, clips.scene)


def test_unknown_group_for_a_stream(gw: GatewayUnderTest) -> None:
    response = gw.client.post(
        f"{API}/videos/streams", json={"group_ids": "no-such-group"}, headers=gw.headers
    )
    assert_error(response, 404, "GROUP_NOT_FOUND")


def test_malformed_ids_and_a_nul_secret_never_reach_postgres(
    tmp_path: Path, detection_address: str, embedding_address: str
) -> None:
    """A gateway keeping its state in PostgreSQL (which refuses a NUL in text): a job or
    stream id of another shape than the server makes, or a webhook secret with a NUL, is
    400 INVALID_ARGUMENT before the database is asked, never 500."""
    url = postgres_url()
    pool = ConnectionPool(url, size=1)
    try:
        migrate_gateway_schema(pool)
        tenants = PostgresTenantStore(pool)
        tenants.ensure_tenant(tenant := unique("tenant"))
        headers = {"x-api-key": tenants.create_key(tenant)}
    finally:
        pool.close()
    settings, _ = gateway_settings(
        tmp_path, detection=detection_address, embedding=embedding_address, database_url=url
    )
    rule = "must be letters, digits, '_' or '-' (as the server made it)"
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for bad in ("vj_%00", "vj_a.b"):
            for method in ("GET", "DELETE"):
                response = client.request(method, f"{API}/videos/jobs/{bad}", headers=headers)
                assert error_message(response, 400, "INVALID_ARGUMENT") == f"job_id {rule}"
        for bad in ("vs_%00", "vs_a.b"):
            for action in ("frames", "close"):
                response = client.post(f"{API}/videos/streams/{bad}/{action}", headers=headers)
                assert error_message(response, 400, "INVALID_ARGUMENT") == f"stream_id {rule}"
        unknown = client.get(f"{API}/videos/jobs/vj_nothing", headers=headers)
        assert_error(unknown, 404, "VIDEO_JOB_NOT_FOUND")

        group = unique("video-nul")
        created = client.post(f"{API}/groups", json={"group_id": group}, headers=headers)
        assert created.status_code == 200, created.text
        response = client.post(
            f"{API}/videos/recognize",
            files={"video": ("clip.mp4", astronaut_clip(tmp_path / "clip.mp4", 1.0), "video/mp4")},
            data={
                "group_ids": group,
                "webhook_url": "http://127.0.0.1:9/hook",
                "webhook_secret": "0123456789abcdef\x00",
            },
            headers=headers,
        )
        assert error_message(response, 400, "INVALID_ARGUMENT") == (
            "webhook_secret must not contain a NUL character"
        )
