"""Helpers for the liveness tests: an in-process server, frame sequences from real photos."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import grpc
import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc
from numpy.typing import NDArray
from PIL import Image

from services.liveness.server import create_app
from services.liveness.servicer import LivenessServicer
from services.liveness.settings import LivenessSettings
from services.shared.model_store import ModelStore
from tests.helpers import images

TENANT = "tenant-a"
LFW = Path("lfw-devtest/images")


@dataclass
class LivenessUnderTest:
    """A running liveness server, its servicer and a stub on a real channel."""

    address: str
    servicer: LivenessServicer
    stub: liveness_pb2_grpc.LivenessServiceStub

    def session(self, actions: list[str], tenant: str = TENANT, ttl: float = 60.0) -> str:
        """Store a session with chosen actions (CreateSession picks random ones)."""
        return self.servicer.sessions.create(tenant, actions, ttl).session_id

    def verify(
        self, session_id: str, frames: list[bytes], tenant: str = TENANT, **fields: Any
    ) -> liveness_pb2.VerifySessionResponse:
        request = liveness_pb2.VerifySessionRequest(
            tenant_id=tenant,
            session_id=session_id,
            frames=[common_pb2.Image(data=f) for f in frames],
            **fields,
        )
        response: liveness_pb2.VerifySessionResponse = self.stub.VerifySession(request, timeout=120)
        return response


@contextmanager
def running_liveness(model_store: ModelStore, data_dir: Path) -> Iterator[LivenessUnderTest]:
    """Start the service on a free port with its sessions in data_dir."""
    settings = LivenessSettings(port=0, max_workers=4, data_dir=data_dir)
    app, servicer = create_app(settings, model_store)
    port = app.start(0)
    app.mark_serving()
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}",
        options=[
            ("grpc.max_receive_message_length", 64 << 20),
            ("grpc.max_send_message_length", 64 << 20),
        ],
    )
    try:
        yield LivenessUnderTest(
            f"127.0.0.1:{port}", servicer, liveness_pb2_grpc.LivenessServiceStub(channel)
        )
    finally:
        channel.close()
        app.stop(grace=1.0)


def error_code(error: grpc.RpcError) -> str:
    """The stable code in the trailing metadata."""
    return str(dict(error.trailing_metadata() or ()).get("faceflow-error-code", ""))


def jpeg(array: NDArray[np.uint8]) -> bytes:
    """JPEG bytes of an RGB array."""
    return images.encode(array, "JPEG", quality=92)


def photo(path: Path) -> NDArray[np.uint8]:
    """A real photo as RGB."""
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def on_canvas(face: NDArray[np.uint8], size: tuple[int, int] = (480, 640)) -> NDArray[np.uint8]:
    """Place a photo in the middle of a grey 640x480 frame (a camera-sized frame)."""
    canvas = np.full((*size, 3), 90, dtype=np.uint8)
    h, w = face.shape[:2]
    top, left = (size[0] - h) // 2, (size[1] - w) // 2
    canvas[top : top + h, left : left + w] = face
    return canvas


def lfw_frames(shared_data: Path, names: list[str], framed: bool = False) -> list[bytes]:
    """LFW photos (``Person_Name_0001``) as JPEG frames.

    By default each 250x250 photo is upscaled to fill a 500x500 frame, as a camera close to a
    face would; ``framed=True`` pastes it small on a grey 640x480 frame instead, so the photo's
    edges are visible - what a camera pointed at a printed photo sees.
    """
    frames = []
    for name in names:
        person = name.rsplit("_", 1)[0]
        face = photo(shared_data / LFW / person / f"{name}.jpg")
        frame = on_canvas(face) if framed else cv2.resize(face, (500, 500))
        frames.append(jpeg(np.asarray(frame, dtype=np.uint8)))
    return frames
