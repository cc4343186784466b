"""Every write the gateway sends is safe to retry, or is not retried: when the reply to a
committed write is lost (UNAVAILABLE), POST /groups and the deletes (group, user, face,
clustering job) answer as the first attempt would have, once, and the store is right; a
liveness verification is not resent and answers 503 SERVICE_UNAVAILABLE.

The lost reply is simulated as in ``test_idempotent_enroll.py``: the real servicer's method
commits, then the call fails UNAVAILABLE, as when a connection drops after the write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from faceflow.embedding.v1 import embedding_pb2_grpc
from faceflow.liveness.v1 import liveness_pb2_grpc

from services.embedding.server import build_servicer as build_embedding
from services.embedding.settings import EmbeddingSettings
from services.liveness.server import build_servicer as build_liveness
from services.liveness.settings import LivenessSettings
from services.shared.interceptors import ServiceInterceptor
from services.shared.model_store import ModelStore
from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import API, astronaut_variant, create_group, enroll, unique
from tests.helpers import images
from tests.helpers.http import assert_error

LOSSY_EMBEDDING_RPCS = (
    "CreateGroup",
    "DeleteGroup",
    "DeleteUser",
    "DeleteFace",
    "DeleteClusterJob",
)


class ReplyLost:
    """Wraps one RPC of a real servicer. Once armed, its next call commits and then fails
    UNAVAILABLE; every call's ``retry`` flag is recorded."""

    def __init__(self, real: Callable[[Any, grpc.ServicerContext], Any]) -> None:
        self.real = real
        self.calls: list[bool] = []  # the retry flag of each call (False for liveness)
        self.committed = 0  # calls the real method answered
        self.armed = False
        self._lock = threading.Lock()

    def __call__(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self._lock:
            lose, self.armed = self.armed, False
            self.calls.append(bool(getattr(request, "retry", False)))
        reply = self.real(request, context)
        self.committed += 1
        if lose:
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset after the commit")
        return reply


@dataclass
class Lossy:
    """A gateway wired to real services whose RPCs can lose a reply."""

    gw: GatewayUnderTest
    faults: dict[str, ReplyLost]

    def arm(self, rpc: str) -> ReplyLost:
        """Lose the reply of the next call of ``rpc``; its fault (calls seen from now on)."""
        fault = self.faults[rpc]
        fault.calls.clear()
        fault.armed = True
        return fault


def serve(servicer: Any, add: Callable[[Any, grpc.Server], None]) -> tuple[grpc.Server, str]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4), interceptors=[ServiceInterceptor()]
    )
    add(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
def lossy(
    model_store: ModelStore, tmp_path: Path, make_gateway: GatewayFactory, detection_address: str
) -> Iterator[Lossy]:
    settings = EmbeddingSettings(
        port=0, store_url=f"sqlite:///{tmp_path / 'gallery'}", data_dir=tmp_path
    )
    servicer = build_embedding(settings, model_store)
    faults = {rpc: ReplyLost(getattr(servicer, rpc)) for rpc in LOSSY_EMBEDDING_RPCS}
    for rpc, fault in faults.items():
        setattr(servicer, rpc, fault)
    server, address = serve(servicer, embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server)
    yield Lossy(make_gateway(detection=detection_address, embedding=address), faults)
    server.stop(grace=1.0).wait()
    servicer.close()


def group_ids(gw: GatewayUnderTest) -> list[str]:
    listed = gw.client.get(f"{API}/groups", headers=gw.headers)
    assert listed.status_code == 200, listed.text
    return [group["group_id"] for group in listed.json()["groups"]]


def face_tokens(gw: GatewayUnderTest, group: str, user: str) -> list[str]:
    got = gw.client.get(f"{API}/groups/{group}/users/{user}", headers=gw.headers)
    assert got.status_code == 200, got.text
    return [face["face_token"] for face in got.json()["faces"]]


def test_create_group_after_a_lost_reply_answers_the_group(lossy: Lossy) -> None:
    gw, group = lossy.gw, unique("retry")
    fault = lossy.arm("CreateGroup")
    created = create_group(gw, group)
    assert created.status_code == 200, created.text
    assert created.json()["group_id"] == group and created.json()["user_count"] == 0
    assert fault.calls == [False, True] and fault.committed == 2  # the retry said it was one
    assert group_ids(gw) == [group]
    # A new request for the same group (not a retry) is still a conflict.
    assert_error(create_group(gw, group), 409, "ALREADY_EXISTS")
    assert fault.calls == [False, True, False]


def test_delete_group_after_a_lost_reply_succeeds(lossy: Lossy) -> None:
    gw, group, kept = lossy.gw, unique("gone"), unique("kept")
    assert create_group(gw, group).status_code == 200
    assert create_group(gw, kept).status_code == 200
    assert enroll(gw, group, "ann", images.astronaut_jpeg()).status_code == 200
    fault = lossy.arm("DeleteGroup")
    deleted = gw.client.delete(f"{API}/groups/{group}", headers=gw.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["group_id"] == group and deleted.json()["deleted"] is True
    assert fault.calls == [False, True]
    assert group_ids(gw) == [kept]
    # A new delete of the group (not a retry) finds nothing.
    assert_error(
        gw.client.delete(f"{API}/groups/{group}", headers=gw.headers), 404, "GROUP_NOT_FOUND"
    )


def test_delete_user_after_a_lost_reply_succeeds(lossy: Lossy) -> None:
    gw, group = lossy.gw, unique("users")
    assert create_group(gw, group).status_code == 200
    assert enroll(gw, group, "ann", images.astronaut_jpeg()).status_code == 200
    bob = enroll(gw, group, "bob", images.astronaut_jpeg()).json()["face_token"]
    fault = lossy.arm("DeleteUser")
    deleted = gw.client.delete(f"{API}/groups/{group}/users/ann", headers=gw.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["user_id"] == "ann" and deleted.json()["deleted"] is True
    assert fault.calls == [False, True]
    listed = gw.client.get(f"{API}/groups/{group}/users", headers=gw.headers).json()
    assert [user["user_id"] for user in listed["users"]] == ["bob"] and listed["total"] == 1
    assert face_tokens(gw, group, "bob") == [bob]
    assert_error(
        gw.client.get(f"{API}/groups/{group}/users/ann", headers=gw.headers), 404, "USER_NOT_FOUND"
    )


def test_delete_face_after_a_lost_reply_succeeds(lossy: Lossy) -> None:
    gw, group = lossy.gw, unique("faces")
    assert create_group(gw, group).status_code == 200
    first = enroll(gw, group, "ann", images.astronaut_jpeg()).json()["face_token"]
    second = enroll(gw, group, "ann", astronaut_variant()).json()["face_token"]
    fault = lossy.arm("DeleteFace")
    deleted = gw.client.delete(f"{API}/groups/{group}/users/ann/faces/{first}", headers=gw.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["face_token"] == first and deleted.json()["deleted"] is True
    assert fault.calls == [False, True]
    assert face_tokens(gw, group, "ann") == [second]
    # A new delete of that face (not a retry) finds nothing.
    again = gw.client.delete(f"{API}/groups/{group}/users/ann/faces/{first}", headers=gw.headers)
    assert_error(again, 404, "FACE_NOT_FOUND")


def test_delete_cluster_job_after_a_lost_reply_succeeds(lossy: Lossy) -> None:
    gw, group = lossy.gw, unique("album")
    assert create_group(gw, group).status_code == 200
    token = enroll(gw, group, "ann", images.astronaut_jpeg()).json()["face_token"]
    created = gw.client.post(
        f"{API}/clusters", json={"group_id": group, "face_tokens": [token]}, headers=gw.headers
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    fault = lossy.arm("DeleteClusterJob")
    deleted = gw.client.delete(f"{API}/clusters/{job_id}", headers=gw.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["job_id"] == job_id and deleted.json()["deleted"] is True
    assert fault.calls == [False, True]
    assert_error(
        gw.client.get(f"{API}/clusters/{job_id}", headers=gw.headers), 404, "CLUSTER_JOB_NOT_FOUND"
    )


@pytest.fixture
def lossy_liveness(
    model_store: ModelStore, tmp_path: Path, make_gateway: GatewayFactory
) -> Iterator[tuple[GatewayUnderTest, ReplyLost]]:
    servicer = build_liveness(LivenessSettings(port=0, data_dir=tmp_path), model_store)
    fault = ReplyLost(servicer.VerifySession)
    fault.armed = True
    servicer.VerifySession = fault  # type: ignore[method-assign]
    server, address = serve(servicer, liveness_pb2_grpc.add_LivenessServiceServicer_to_server)
    yield make_gateway(liveness=address), fault
    server.stop(grace=1.0).wait()
    servicer.close()


def test_liveness_verify_is_not_resent_after_a_lost_reply(
    lossy_liveness: tuple[GatewayUnderTest, ReplyLost],
) -> None:
    gw, fault = lossy_liveness
    session = gw.client.post(f"{API}/liveness/sessions", headers=gw.headers)
    assert session.status_code == 200, session.text
    frames = [("frames", (f"f{i}.jpg", images.astronaut_jpeg(), "image/jpeg")) for i in range(3)]
    url = f"{API}/liveness/sessions/{session.json()['session_id']}/verify"
    # The verdict is lost with the reply and cannot be rebuilt: 503, sent once.
    assert_error(gw.client.post(url, files=frames, headers=gw.headers), 503, "SERVICE_UNAVAILABLE")
    assert fault.calls == [False] and fault.committed == 1
    # The session was used by that attempt (why it is not resent).
    assert_error(gw.client.post(url, files=frames, headers=gw.headers), 409, "SESSION_ALREADY_USED")
