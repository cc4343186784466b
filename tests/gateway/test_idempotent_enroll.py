"""A retried enrollment is idempotent: when the reply to a committed AddFace is lost
(UNAVAILABLE), the gateway's retry returns that face, not 409 ALREADY_EXISTS."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc

from services.embedding.server import build_servicer
from services.embedding.servicer import EmbeddingServicer
from services.embedding.settings import EmbeddingSettings
from services.shared.interceptors import ServiceInterceptor
from services.shared.model_store import ModelStore
from tests.gateway.conftest import GatewayFactory
from tests.gateway.gallery_helpers import API, create_group, enroll, unique
from tests.helpers import images


class ReplyLostOnce:
    """Makes the real servicer's first AddFace commit and then fail UNAVAILABLE, as when a
    connection drops after the write and before the reply."""

    def __init__(self, real: EmbeddingServicer) -> None:
        self.real_add_face = real.AddFace
        self.add_face_calls: list[bool] = []  # the retry flag of each AddFace
        self._lock = threading.Lock()

    def __call__(
        self, request: embedding_pb2.AddFaceRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.AddFaceResponse:
        with self._lock:
            first = not self.add_face_calls
            self.add_face_calls.append(request.retry)
        reply: embedding_pb2.AddFaceResponse = self.real_add_face(request, context)
        if first:
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset after the commit")
        return reply


@pytest.fixture
def lossy_embedding(model_store: ModelStore, tmp_path: Path) -> Iterator[tuple[str, ReplyLostOnce]]:
    settings = EmbeddingSettings(
        port=0, store_url=f"sqlite:///{tmp_path / 'gallery'}", data_dir=tmp_path
    )
    servicer = build_servicer(settings, model_store)
    fault = ReplyLostOnce(servicer)
    servicer.AddFace = fault  # type: ignore[method-assign]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4), interceptors=[ServiceInterceptor()]
    )
    embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", fault
    server.stop(grace=1.0).wait()
    servicer.close()


def test_a_retry_after_a_lost_reply_returns_the_stored_face(
    make_gateway: GatewayFactory,
    detection_address: str,
    lossy_embedding: tuple[str, ReplyLostOnce],
) -> None:
    address, servicer = lossy_embedding
    gw = make_gateway(detection=detection_address, embedding=address)
    group = unique("retry")
    assert create_group(gw, group).status_code == 200
    response = enroll(gw, group, "ann", images.astronaut_jpeg())
    assert response.status_code == 200, response.text
    assert servicer.add_face_calls == [False, True]  # the retry said it was one
    user = gw.client.get(f"{API}/groups/{group}/users/ann", headers=gw.headers).json()
    assert [face["face_token"] for face in user["faces"]] == [response.json()["face_token"]]
    # A new request with the same photo is still a duplicate.
    again = enroll(gw, group, "ann", images.astronaut_jpeg())
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_EXISTS"
