"""Orchestration steps shared by the endpoints: detect faces, shape face JSON."""

from __future__ import annotations

import hashlib
from typing import Any

from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc

from gateway.core.clients import ServiceClients

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


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
    response: detection_pb2.DetectResponse = await clients.call("detection", stub.Detect, request)
    return response


def face_token(image: bytes, face: common_pb2.Face) -> str:
    """A stable id for a detected face: the same image and box give the same token."""
    box = face.box
    digest = hashlib.sha256(image)
    digest.update(f"{box.x:.1f},{box.y:.1f},{box.width:.1f},{box.height:.1f}".encode())
    return digest.hexdigest()[:32]


def box_json(box: common_pb2.BoundingBox) -> dict[str, float]:
    """A box as {x, y, width, height} rounded to 0.1 px."""
    return {
        "x": round(box.x, 1),
        "y": round(box.y, 1),
        "width": round(box.width, 1),
        "height": round(box.height, 1),
    }


def landmarks_json(face: common_pb2.Face) -> dict[str, list[float]]:
    """The 5 landmarks as {name: [x, y]}."""
    marks = face.landmarks
    return {
        name: [round(getattr(marks, name).x, 1), round(getattr(marks, name).y, 1)]
        for name in LANDMARK_NAMES
    }


def face_json(image: bytes, face: common_pb2.Face) -> dict[str, Any]:
    """The public JSON of one detected face (without the optional fields)."""
    return {
        "face_token": face_token(image, face),
        "box": box_json(face.box),
        "score": round(face.score, 4),
        "landmarks": landmarks_json(face),
    }


def models_json(*responses: Any) -> list[dict[str, str]]:
    """Merge the ``models`` lists of several responses, without duplicates."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for response in responses:
        for model in response.models:
            seen.setdefault(
                (model.name, model.version), {"name": model.name, "version": model.version}
            )
    return list(seen.values())
