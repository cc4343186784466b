"""The detection gRPC service over a real channel: results, extras, health, errors."""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.shared.alignment import TEMPLATE_112
from services.shared.errors import ERROR_CODE_METADATA_KEY
from tests.helpers import images


@pytest.fixture(scope="module")
def stub(detection_address: str) -> detection_pb2_grpc.DetectionServiceStub:
    channel = grpc.insecure_channel(detection_address)
    return detection_pb2_grpc.DetectionServiceStub(channel)


def detect(
    stub: detection_pb2_grpc.DetectionServiceStub, data: bytes, **options: Any
) -> detection_pb2.DetectResponse:
    request = detection_pb2.DetectRequest(image=common_pb2.Image(data=data), **options)
    response: detection_pb2.DetectResponse = stub.Detect(request, timeout=10)
    return response


def error_code(error: grpc.RpcError) -> str:
    return dict(error.trailing_metadata() or ())[ERROR_CODE_METADATA_KEY]  # type: ignore[no-any-return,attr-defined]


def test_health_is_serving(detection_address: str) -> None:
    with grpc.insecure_channel(detection_address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_astronaut(stub: detection_pb2_grpc.DetectionServiceStub) -> None:
    response = detect(stub, images.astronaut_jpeg())
    assert (response.image_width, response.image_height) == (512, 512)
    assert len(response.faces) == 1
    assert [m.name for m in response.models] == ["yunet"]


def test_aligned_crop_puts_eyes_on_template(stub: detection_pb2_grpc.DetectionServiceStub) -> None:
    response = detect(stub, images.astronaut_jpeg(), include_aligned_crops=True)
    crop = response.faces[0].aligned_crop
    assert crop.size == 112 and len(crop.rgb) == 112 * 112 * 3
    # Re-detect on the crop, upscaled: its landmarks must land near the template points (the
    # detector on a tight crop is a few pixels off by itself, hence 6 px at 112 px).
    pixels = np.frombuffer(crop.rgb, dtype=np.uint8).reshape(112, 112, 3)
    big = np.kron(pixels, np.ones((4, 4, 1), dtype=np.uint8))
    again = detect(stub, images.encode(big, "PNG"))
    assert len(again.faces) == 1
    eye = again.faces[0].landmarks.left_eye
    assert abs(eye.x / 4 - TEMPLATE_112[0, 0]) < 6 and abs(eye.y / 4 - TEMPLATE_112[0, 1]) < 6


def test_mesh(stub: detection_pb2_grpc.DetectionServiceStub) -> None:
    response = detect(stub, images.astronaut_jpeg(), include_mesh=True)
    assert len(response.faces[0].mesh) == 468
    assert [m.name for m in response.models] == ["yunet", "facemesh"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "INVALID_IMAGE"),
        (b"\x89PNG\r\n\x1a\n garbage", "INVALID_IMAGE"),
        (images.png_bomb(20000), "IMAGE_TOO_LARGE"),
    ],
    ids=["empty", "garbage", "bomb"],
)
def test_bad_images_are_invalid_argument(
    stub: detection_pb2_grpc.DetectionServiceStub, data: bytes, code: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        detect(stub, data)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert error_code(caught.value) == code


@pytest.mark.parametrize(
    "options",
    [{"max_faces": -1}, {"max_faces": 1000}, {"min_face_size": -5}, {"score_threshold": 1.5}],
)
def test_bad_options(stub: detection_pb2_grpc.DetectionServiceStub, options: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(grpc.RpcError) as caught:
        detect(stub, images.astronaut_jpeg(), **options)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert error_code(caught.value) == "INVALID_ARGUMENT"


def test_service_survives_bad_input(stub: detection_pb2_grpc.DetectionServiceStub) -> None:
    for data in (b"", b"junk", images.png_bomb(20000)):
        with pytest.raises(grpc.RpcError):
            detect(stub, data)
    assert len(detect(stub, images.astronaut_jpeg()).faces) == 1


def test_keep_native_scale_pads_small_photos(stub: detection_pb2_grpc.DetectionServiceStub) -> None:
    """A 512x512 photo is enlarged to 640 by default and only padded with keep_native_scale:
    both see the one face, in the same place (coordinates are always original pixels)."""
    enlarged = detect(stub, images.astronaut_jpeg()).faces
    native = detect(stub, images.astronaut_jpeg(), keep_native_scale=True).faces
    assert len(enlarged) == len(native) == 1
    a, b = enlarged[0].landmarks, native[0].landmarks
    tolerance = 0.08 * enlarged[0].box.width  # the two input scales see different pixels
    for name in ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right"):
        pa, pb = getattr(a, name), getattr(b, name)
        assert abs(pa.x - pb.x) < tolerance and abs(pa.y - pb.y) < tolerance, name


def test_order_center_puts_the_face_nearest_the_centre_first(
    stub: detection_pb2_grpc.DetectionServiceStub,
) -> None:
    photo, (cx, cy) = images.big_corner_small_centre()
    data = images.encode(photo)
    largest = detect(stub, data).faces
    explicit = detect(stub, data, order=detection_pb2.FACE_ORDER_LARGEST).faces
    centred = detect(stub, data, order=detection_pb2.FACE_ORDER_CENTER).faces
    assert len(largest) == len(centred) == 2
    assert largest[0].box.width > 1.5 * largest[1].box.width
    assert [f.box.x for f in explicit] == [f.box.x for f in largest]
    first = centred[0].box
    assert abs(first.x + first.width / 2 - cx) < 30 and abs(first.y + first.height / 2 - cy) < 40
    assert first.width < largest[0].box.width
    # max_faces keeps the first faces of the order asked for.
    only = detect(stub, data, max_faces=1, order=detection_pb2.FACE_ORDER_CENTER).faces
    assert len(only) == 1 and only[0].box.x == first.x


def test_unknown_order_is_invalid_argument(stub: detection_pb2_grpc.DetectionServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        detect(stub, images.astronaut_jpeg(), order=7)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert error_code(caught.value) == "INVALID_ARGUMENT"
