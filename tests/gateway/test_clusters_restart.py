"""A clustering job survives restarts of the embedding service, through HTTP.

The embedding service runs as a real child process whose clustering is slowed down
(``tests.helpers.slow_embedding_service``: a job stays RUNNING for a minute), behind the real
gateway. A job of three LFW people is created, then while it runs the service is
1. stopped gracefully (SIGTERM): the job goes back to the queue, and the next process (slow
   again, with a 30 s lease) takes it up at once, without waiting for any lease;
2. killed (SIGKILL) in the middle of that run: the gateway answers 503 meanwhile, and the
   plain service started on the same folder takes the job over once the dead worker's lease
   (2 s here) has run out, and finishes it: one cluster per person.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from deploy.local.stack import free_port
from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import API
from tests.helpers import lfw
from tests.helpers.http import assert_error
from tests.services.embedding.test_crash_recovery import start_service, wait_serving

SLOW = "tests.helpers.slow_embedding_service"
SLOW_ENV = {"FACEFLOW_TEST_CLUSTER_DELAY": "120", "FACEFLOW_EMBEDDING_CLUSTER_POLL_SECONDS": "0.2"}


class Embedding:
    """Starts and stops the embedding service process on one port and folder."""

    def __init__(self, folder: Path) -> None:
        self.store_dir = folder / "gallery"
        self.log = folder / "embedding.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, module: str = "services.embedding.server", **env: str) -> None:
        self.process = start_service(self.store_dir, self.port, self.log, module, env)
        with grpc.insecure_channel(self.address) as channel:
            wait_serving(channel, self.process, self.log)

    def stop(self, signal_number: int) -> None:
        assert self.process is not None
        self.process.send_signal(signal_number)
        self.process.wait(30)
        self.process = None


@pytest.fixture
def embedding(tmp_path: Path) -> Iterator[Embedding]:
    service = Embedding(tmp_path)
    yield service
    if service.process is not None and service.process.poll() is None:
        service.process.kill()
        service.process.wait(10)


def poll(
    gw: GatewayUnderTest, job_id: str, until: Callable[[dict[str, Any]], bool], seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reply = gw.client.get(f"{API}/clusters/{job_id}?limit=1000", headers=gw.headers)
        if reply.status_code == 200 and until(reply.json()):
            return dict(reply.json())
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not get there: last answer {reply.status_code} {reply.text}")


def running(body: dict[str, Any]) -> bool:
    return bool(body["status"] == "running" and body["progress"] > 0)


def test_a_job_survives_a_graceful_stop_and_a_kill(
    embedding: Embedding,
    make_gateway: GatewayFactory,
    detection_address: str,
    shared_data: Path,
) -> None:
    photos = [
        ("photos", (f"{person}/{path.name}", path.read_bytes(), "image/jpeg"))
        for person, path in lfw.photos(shared_data, lfw.PEOPLE[:3])
    ]
    embedding.start(SLOW, **SLOW_ENV, FACEFLOW_EMBEDDING_CLUSTER_LEASE_SECONDS="30")
    gw = make_gateway(detection=detection_address, embedding=embedding.address)
    created = gw.client.post(f"{API}/clusters", files=photos, headers=gw.headers)
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    poll(gw, job_id, running, 30)

    # 1. SIGTERM: the run is put back in the queue; a new process takes it up at once.
    embedding.stop(signal.SIGTERM)
    started = time.monotonic()
    embedding.start(SLOW, **SLOW_ENV, FACEFLOW_EMBEDDING_CLUSTER_LEASE_SECONDS="30")
    resumed = poll(gw, job_id, running, 30)
    assert time.monotonic() - started < 30, "the job waited for a lease after a graceful stop"
    assert resumed["face_count"] == created.json()["face_count"]
    assert resumed["cluster_count"] == 0  # no result yet

    # 2. SIGKILL in the middle of the run: the gateway answers 503 while the service is down.
    embedding.stop(signal.SIGKILL)
    assert_error(
        gw.client.get(f"{API}/clusters/{job_id}", headers=gw.headers), 503, "SERVICE_UNAVAILABLE"
    )
    embedding.start(
        FACEFLOW_EMBEDDING_CLUSTER_LEASE_SECONDS="2", FACEFLOW_EMBEDDING_CLUSTER_POLL_SECONDS="0.2"
    )
    done = poll(gw, job_id, lambda body: body["status"] == "done", 120)
    assert done["cluster_count"] == 3 and done["pending_count"] == 0
    for cluster in done["clusters"]:
        assert len({face["photo"].split("/")[0] for face in cluster["faces"]}) == 1
    clustered = sum(c["size"] for c in done["clusters"]) + done["unassigned_count"]
    assert clustered == done["face_count"] == created.json()["face_count"]
    log = embedding.log.read_text()
    assert "back in the queue (stopping)" in log
    embedding.stop(signal.SIGTERM)
    assert os.path.exists(embedding.store_dir.parent / "clusters.sqlite3")
