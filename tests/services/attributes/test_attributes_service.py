"""The attributes gRPC service over real channels, fed by the real detection service."""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
import pytest
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.shared.errors import ERROR_CODE_METADATA_KEY
from tests.helpers import images

A = attributes_pb2.Attribute
ALL = [
    A.ATTRIBUTE_AGE,
    A.ATTRIBUTE_GENDER,
    A.ATTRIBUTE_EMOTION,
    A.ATTRIBUTE_POSE,
    A.ATTRIBUTE_QUALITY,
]


@pytest.fixture(scope="module")
def stub(attributes_address: str) -> attributes_pb2_grpc.AttributesServiceStub:
    return attributes_pb2_grpc.AttributesServiceStub(grpc.insecure_channel(attributes_address))


@pytest.fixture(scope="module")
def detector(detection_address: str) -> detection_pb2_grpc.DetectionServiceStub:
    return detection_pb2_grpc.DetectionServiceStub(grpc.insecure_channel(detection_address))


def detect(
    detector: detection_pb2_grpc.DetectionServiceStub, data: bytes, mesh: bool = False
) -> detection_pb2.DetectResponse:
    request = detection_pb2.DetectRequest(image=common_pb2.Image(data=data), include_mesh=mesh)
    response: detection_pb2.DetectResponse = detector.Detect(request, timeout=10)
    return response


def analyze(
    stub: attributes_pb2_grpc.AttributesServiceStub,
    data: bytes,
    faces: list[common_pb2.Face],
    attributes: list[Any],
) -> attributes_pb2.AnalyzeResponse:
    request = attributes_pb2.AnalyzeRequest(
        image=common_pb2.Image(data=data), faces=faces, attributes=attributes
    )
    response: attributes_pb2.AnalyzeResponse = stub.Analyze(request, timeout=10)
    return response


def error_code(error: grpc.RpcError) -> str:
    return dict(error.trailing_metadata() or ())[ERROR_CODE_METADATA_KEY]  # type: ignore[no-any-return,attr-defined]


def test_health_is_serving(attributes_address: str) -> None:
    with grpc.insecure_channel(attributes_address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_astronaut_every_attribute(stub, detector) -> None:  # type: ignore[no-untyped-def]
    data = images.astronaut_jpeg()
    faces = list(detect(detector, data, mesh=True).faces)
    response = analyze(stub, data, faces, ALL)
    # by default age and gender come from dlib's networks (the head is opt-in: its licence)
    assert [m.name for m in response.models] == ["age", "gender", "emotion_fer2013"]
    face = response.faces[0]
    assert not face.unavailable
    # Eileen Collins, photographed in her late thirties.
    assert 25 <= face.age.value <= 55 and face.age.low <= face.age.value <= face.age.high
    assert face.gender.label == "female" and face.gender.probability > 0.5
    probabilities = {s.label: s.probability for s in face.emotion.scores}
    assert list(probabilities) == [
        "angry",
        "disgust",
        "fear",
        "happy",
        "sad",
        "surprise",
        "neutral",
    ]
    assert abs(sum(probabilities.values()) - 1.0) < 1e-3
    assert face.emotion.dominant == "happy"  # she smiles broadly
    assert face.pose.source == "mesh" and abs(face.pose.yaw) < 30 and abs(face.pose.roll) < 15
    assert 0.3 < face.quality.score <= 1.0
    assert face.quality.HasField("eyes_open") and face.quality.eyes_open > 0.5
    assert face.quality.HasField("mouth_open")


def test_only_requested_attributes_are_computed(stub, detector) -> None:  # type: ignore[no-untyped-def]
    data = images.astronaut_jpeg()
    faces = list(detect(detector, data).faces)
    response = analyze(stub, data, faces, [A.ATTRIBUTE_POSE])
    face = response.faces[0]
    assert face.HasField("pose") and face.pose.source == "landmarks5"
    for name in ("age", "gender", "emotion", "quality"):
        assert not face.HasField(name)
    assert list(response.models) == []
    quality = analyze(stub, data, faces, [A.ATTRIBUTE_QUALITY]).faces[0].quality
    assert not quality.HasField("eyes_open")  # no mesh, no eyes measure


def test_face_too_small_is_unavailable_with_reason(stub, detector) -> None:  # type: ignore[no-untyped-def]
    small = images.astronaut()[::9, ::9]  # 57x57: the face is about 16 px
    data = images.encode(np.ascontiguousarray(small), "PNG")
    faces = list(detect(detector, data).faces)
    assert faces and min(faces[0].box.width, faces[0].box.height) < 20
    response = analyze(stub, data, faces[:1], ALL)
    face = response.faces[0]
    missing = {u.attribute: u.reason for u in face.unavailable}
    assert set(missing) == {A.ATTRIBUTE_AGE, A.ATTRIBUTE_GENDER, A.ATTRIBUTE_EMOTION}
    assert "needs at least 32 px" in missing[A.ATTRIBUTE_AGE]
    assert not face.HasField("age") and face.HasField("pose") and face.HasField("quality")
    assert list(response.models) == []


def bad_face(**changes: object) -> common_pb2.Face:
    face = common_pb2.Face(
        box=common_pb2.BoundingBox(x=180, y=60, width=120, height=150),
        landmarks=common_pb2.Landmarks5(
            left_eye=common_pb2.Point(x=220, y=120),
            right_eye=common_pb2.Point(x=260, y=120),
            nose=common_pb2.Point(x=240, y=140),
            mouth_left=common_pb2.Point(x=225, y=165),
            mouth_right=common_pb2.Point(x=255, y=165),
        ),
    )
    for name, value in changes.items():
        if value is None:
            face.ClearField(name)
        else:
            getattr(face, name).CopyFrom(value)
    return face


@pytest.mark.parametrize(
    ("faces", "attributes", "message"),
    [
        ([bad_face()], [], "at least one attribute"),
        ([bad_face()], [A.ATTRIBUTE_UNSPECIFIED], "unknown value"),
        ([bad_face()], [A.ATTRIBUTE_AGE, 42], "unknown value"),
        ([], [A.ATTRIBUTE_AGE], "at least one face"),
        (
            [bad_face(box=common_pb2.BoundingBox(x=1, y=1, width=0, height=10))],
            [A.ATTRIBUTE_POSE],
            "faces[0].box must have a positive",
        ),
        (
            [bad_face(box=common_pb2.BoundingBox(x=900, y=1, width=10, height=10))],
            [A.ATTRIBUTE_POSE],
            "outside",
        ),
        (  # a sliver of half a pixel inside: no whole pixel to crop (face-api's crop raised)
            [bad_face(box=common_pb2.BoundingBox(x=-99.5, y=1, width=100, height=100))],
            [A.ATTRIBUTE_AGE],
            "faces[0].box lies outside the 512x512 image",
        ),
        ([bad_face(landmarks=None)], [A.ATTRIBUTE_AGE], "landmarks are missing"),
        (  # its emotion crop would be a million pixels square (a MemoryError, INTERNAL)
            [bad_face(box=common_pb2.BoundingBox(x=0, y=0, width=1e6, height=1e6))],
            [A.ATTRIBUTE_EMOTION],
            "faces[0].box is more than 2 times the 512x512 image",
        ),
    ],
    ids=[
        "no-attributes",
        "unspecified",
        "unknown-enum",
        "no-faces",
        "zero-box",
        "outside",
        "half-pixel-inside",
        "no-landmarks",
        "box-far-over-the-image",
    ],
)
def test_bad_requests_are_invalid_argument(stub, faces, attributes, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        analyze(stub, images.astronaut_jpeg(), faces, attributes)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(caught.value) == "INVALID_ARGUMENT"
    assert message in (caught.value.details() or "")


def test_wrong_mesh_size_is_invalid_argument(stub) -> None:  # type: ignore[no-untyped-def]
    face = bad_face()
    face.mesh.extend(common_pb2.Point3(x=1, y=1, z=0) for _ in range(10))
    with pytest.raises(grpc.RpcError) as caught:
        analyze(stub, images.astronaut_jpeg(), [face], [A.ATTRIBUTE_POSE])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expected 468" in (caught.value.details() or "")


@pytest.mark.parametrize(
    ("data", "code"), [(b"", "INVALID_IMAGE"), (b"not an image", "INVALID_IMAGE")]
)
def test_bad_image(stub, data: bytes, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        analyze(stub, data, [bad_face()], [A.ATTRIBUTE_AGE])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(caught.value) == code
