"""kill -9 of a real embedding service process in the middle of a stream of enrolls.

Several client threads enroll faces (each its own user) into a service running as a child
process; once enough enrolls are acknowledged the process is SIGKILLed with requests in flight.
A restarted process (whose start-up check proves index and database agree) must hold every
acknowledged face, searchable with its exact token; faces that were in flight may exist or not,
but never half-written: every face the database lists is found by search, and the store opened
directly afterwards passes its consistency check.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
import numpy as np
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from numpy.typing import NDArray

from deploy.local.stack import free_port
from services.embedding.store.base import open_store
from services.shared.alignment import ALIGNED_SIZE, align_face
from tests.helpers import images
from tests.helpers.faces import ASTRONAUT_LANDMARKS

ROOT = Path(__file__).resolve().parents[3]
TENANT = "crash-tenant"
GROUP = "stream"
SFACE_DIMENSION = 128  # the served embedding size (SFace)
CLIENTS = 4
KILL_AFTER = 24
STARTUP_SECONDS = 90.0

# The astronaut's five landmarks (YuNet on the 512x512 photo), enough to align a real crop.


def start_service(
    store_dir: Path,
    port: int,
    log: Path,
    module: str = "services.embedding.server",
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """The embedding service (or ``module``, a wrapper of it) as a child process; its gallery
    in ``store_dir``, its clustering jobs beside it."""
    env = {
        **os.environ,
        "FACEFLOW_EMBEDDING_PORT": str(port),
        "FACEFLOW_EMBEDDING_STORE_URL": f"sqlite:///{store_dir}",
        "FACEFLOW_EMBEDDING_DATA_DIR": str(store_dir.parent),
        "FACEFLOW_EMBEDDING_MAX_WORKERS": "8",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "protos" / "gen")]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **(extra_env or {}),
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_serving(channel: grpc.Channel, process: subprocess.Popen[bytes], log: Path) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the service did not become SERVING:\n{log.read_text()[-3000:]}")


def crops(count: int) -> Iterator[tuple[str, NDArray[np.uint8]]]:
    """Distinct real-face crops: the astronaut with its landmarks nudged and noise added."""
    photo = images.astronaut()
    rng = np.random.default_rng(7)
    for index in range(count):
        landmarks = ASTRONAUT_LANDMARKS + rng.normal(0.0, 1.5, size=(5, 2))
        crop = align_face(photo, landmarks)
        noisy = np.clip(crop.astype(np.int16) + rng.integers(-6, 7, crop.shape), 0, 255)
        yield f"user{index:03d}", noisy.astype(np.uint8)


def face_message(crop: NDArray[np.uint8]) -> common_pb2.Face:
    points = [common_pb2.Point(x=x, y=y) for x, y in ASTRONAUT_LANDMARKS.tolist()]
    return common_pb2.Face(
        box=common_pb2.BoundingBox(x=150, y=60, width=110, height=120),
        landmarks=common_pb2.Landmarks5(
            left_eye=points[0],
            right_eye=points[1],
            nose=points[2],
            mouth_left=points[3],
            mouth_right=points[4],
        ),
        aligned_crop=common_pb2.AlignedCrop(size=ALIGNED_SIZE, rgb=crop.tobytes()),
    )


@pytest.fixture
def service(tmp_path: Path, model_store: object) -> Iterator[tuple[Path, Path]]:
    """The folders of one test: the gallery store and the service log."""
    store_dir = tmp_path / "gallery"
    log = tmp_path / "service.log"
    yield store_dir, log


def test_kill_9_mid_stream_loses_no_acknowledged_face(service: tuple[Path, Path]) -> None:
    store_dir, log = service
    port = free_port()
    process = start_service(store_dir, port, log)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        wait_serving(channel, process, log)
        stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
        stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=TENANT, group_id=GROUP))
        work = list(crops(KILL_AFTER * 3))
        acknowledged: dict[str, tuple[str, NDArray[np.uint8]]] = {}
        lock = threading.Lock()
        enough = threading.Event()

        def client(part: int) -> None:
            for user_id, crop in work[part::CLIENTS]:
                request = embedding_pb2.AddFaceRequest(
                    tenant=TENANT,
                    group_id=GROUP,
                    user_id=user_id,
                    face=face_message(crop),
                    image_sha256=hashlib.sha256(crop.tobytes()).hexdigest(),
                )
                try:
                    reply = stub.AddFace(request, timeout=10.0)
                except grpc.RpcError:
                    return  # the server died: this enroll was never acknowledged
                with lock:
                    acknowledged[reply.face_token] = (user_id, crop)
                    if len(acknowledged) >= KILL_AFTER:
                        enough.set()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert enough.wait(120.0), "the enrolls did not reach the kill point"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10.0)
        for thread in threads:
            thread.join(30.0)
        with lock:
            acked = dict(acknowledged)
        assert len(acked) < len(work), "the kill came after the stream ended"
    finally:
        channel.close()
        if process.poll() is None:
            process.kill()
            process.wait(10.0)

    # Restart on the same folder: the start-up consistency check must pass (it is SERVING).
    port = free_port()
    process = start_service(store_dir, port, log)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        wait_serving(channel, process, log)
        stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
        listing = stub.ListUsers(
            embedding_pb2.ListUsersRequest(tenant=TENANT, group_id=GROUP, limit=1000)
        )
        stored = {f.face_token: u.user_id for u in listing.users for f in u.faces}
        assert set(acked) <= set(stored), "an acknowledged face was lost"
        assert len(stored) - len(acked) <= CLIENTS, "more faces than enrolls in flight"
        for token, (user_id, crop) in acked.items():
            assert stored[token] == user_id
            reply = stub.Search(
                embedding_pb2.SearchRequest(
                    tenant=TENANT,
                    group_ids=[GROUP],
                    top_k=100,
                    min_score=0.0,
                    probes=[embedding_pb2.Probe(crop=face_message(crop).aligned_crop)],
                )
            )
            mine = [m for m in reply.results[0].matches if m.user_id == user_id]
            assert mine and mine[0].face_token == token and mine[0].similarity > 0.9999
        # Faces that were in flight: if the database has them, search has them too.
        for token, user_id in stored.items():
            if token in acked:
                continue
            user = stub.GetUser(
                embedding_pb2.GetUserRequest(tenant=TENANT, group_id=GROUP, user_id=user_id)
            )
            assert [f.face_token for f in user.faces] == [token]
        process.send_signal(signal.SIGTERM)
        process.wait(20.0)
    finally:
        channel.close()
        if process.poll() is None:
            process.kill()
            process.wait(10.0)

    store = open_store(f"sqlite:///{store_dir}", SFACE_DIMENSION)
    try:
        store.check_consistency()
        total = sum(g.face_count for g in store.list_groups(TENANT))
        assert total == len(stored)
        for token, user_id in stored.items():
            _, vector = store.user_face_embeddings(TENANT, GROUP, user_id)[0]
            matches = store.search(TENANT, [GROUP], vector, 100)
            assert any(m.face_token == token for m in matches), "a stored face is not searchable"
    finally:
        store.close()
