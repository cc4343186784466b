"""The passive check: upstream crop geometry, the Check RPC on real photos, bad inputs."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2

from services.shared.model_zoo.minifasnet import crop_patch, upstream_crop_box
from tests.helpers import images
from tests.services.liveness.helpers import LivenessUnderTest, error_code


def check(liveness: LivenessUnderTest, data: bytes) -> liveness_pb2.CheckResponse:
    request = liveness_pb2.CheckRequest(image=common_pb2.Image(data=data))
    response: liveness_pb2.CheckResponse = liveness.stub.Check(request, timeout=30)
    return response


def test_crop_box_follows_upstream() -> None:
    # Centred box fits: 2.7x a 100x100 box at (270, 190) in 640x480 -> 270 px square.
    assert upstream_crop_box(640, 480, np.array([270.0, 190.0, 100.0, 100.0]), 2.7) == (
        185,
        105,
        455,
        375,
    )
    # Near the left/top edge the box is shifted inside the image, not shrunk.
    assert upstream_crop_box(640, 480, np.array([0.0, 0.0, 100.0, 100.0]), 2.7) == (0, 0, 270, 270)
    # Larger than the image: the scale is reduced to fit ((480 - 1) / 200 < 4.0).
    _, top, _, bottom = upstream_crop_box(640, 480, np.array([220.0, 140.0, 200.0, 200.0]), 4.0)
    assert (top, bottom) == (0, 479)
    patch = crop_patch(np.zeros((480, 640, 3), np.uint8), np.array([0.0, 0.0, 50.0, 60.0]), 4.0)
    assert patch.shape == (80, 80, 3)


def test_astronaut_photo(liveness: LivenessUnderTest) -> None:
    """The astronaut is a digitised photograph; the models see no spoof cues (no screen, no
    paper border) in it, so it passes. This is why actions matter (test_verify.py)."""
    response = check(liveness, images.astronaut_jpeg())
    assert response.face_count == 1
    assert 0.0 <= response.score <= 1.0
    assert response.threshold == pytest.approx(0.5)
    assert response.live == (response.score >= response.threshold)
    assert response.face.box.width > 50
    names = [m.name for m in response.models]
    assert names == ["yunet", "minifasnet_v2", "minifasnet_v1se"]


def test_labelled_samples(liveness: LivenessUnderTest, shared_data: Path) -> None:
    """Upstream's own sample photos (../shared/data/liveness-samples): a real face and a
    printed-photo spoof, both upright, are told apart."""
    folder = shared_data / "liveness-samples"
    real = check(liveness, (folder / "old_image_T1.jpg").read_bytes())
    spoof = check(liveness, (folder / "old_image_F1.jpg").read_bytes())
    assert real.live and real.score > 0.9
    assert not spoof.live and spoof.score < 0.1


def test_no_face(liveness: LivenessUnderTest) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        check(liveness, images.no_face_jpeg())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(caught.value) == "NO_FACE"


def test_bad_image(liveness: LivenessUnderTest) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        check(liveness, b"definitely not an image")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(caught.value) == "INVALID_IMAGE"
