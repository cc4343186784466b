"""The detection step every endpoint starts with, and the stable token of a detected face."""

from __future__ import annotations

import hashlib

from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc

from gateway.core.clients import Retry, ServiceClients


async def detect(
    clients: ServiceClients,
    image: bytes,
    *,
    max_faces: int = 10,
    min_face_size: int = 0,
    include_mesh: bool = False,
    include_aligned_crops: bool = False,
    keep_native_scale: bool = False,
    order: detection_pb2.FaceOrder = detection_pb2.FACE_ORDER_LARGEST,
) -> detection_pb2.DetectResponse:
    """Call the detection service."""
    stub = detection_pb2_grpc.DetectionServiceStub(clients.channel("detection"))
    request = detection_pb2.DetectRequest(
        image=common_pb2.Image(data=image),
        max_faces=max_faces,
        min_face_size=min_face_size,
        include_mesh=include_mesh,
        include_aligned_crops=include_aligned_crops,
        keep_native_scale=keep_native_scale,
        order=order,
    )
    response: detection_pb2.DetectResponse = await clients.call(
        "detection",
        stub.Detect,
        request,
        retry=Retry.SAME,  # a read
    )
    return response


def face_token(image: bytes, face: common_pb2.Face) -> str:
    """A stable id for a detected face: the same image and box give the same token."""
    box = face.box
    digest = hashlib.sha256(image)
    digest.update(f"{box.x:.1f},{box.y:.1f},{box.width:.1f},{box.height:.1f}".encode())
    return digest.hexdigest()[:32]
