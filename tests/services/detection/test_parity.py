"""Parity: our TFLite YuNet vs the original ONNX (onnxruntime) and OpenCV's FaceDetectorYN.

Real photos: scikit-image's astronaut and a group made of it; ../shared/data group photos when
present. Asserts max abs diff on raw head outputs and on decoded boxes/landmarks.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from numpy.typing import NDArray

from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from services.shared.model_zoo.yunet import YuNetDetector, decode_yunet, letterbox_bgr
from tests.helpers import images

RAW_TOLERANCE = 2e-3
BOX_TOLERANCE_PX = 1.0


@pytest.fixture(scope="module")
def onnx_path(model_store: ModelStore) -> Path:
    spec = model_store.spec("yunet")
    return fetch_source(spec.source, model_store.cache_dir.parent / "downloads")


@pytest.fixture(scope="module")
def detector(model_store: ModelStore) -> YuNetDetector:
    return YuNetDetector.from_store(model_store, "yunet")


def photos(shared: Path | None) -> list[NDArray[np.uint8]]:
    result = [images.astronaut(), images.group_photo(6)]
    if shared is not None:
        for path in sorted((shared / "photos" / "groups").glob("*.jpg"))[:3]:
            bgr = cv2.imread(str(path))
            if bgr is not None:
                result.append(np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8))
    return result


@pytest.fixture(scope="module")
def test_photos() -> list[NDArray[np.uint8]]:
    from tests.conftest import SHARED_DATA

    return photos(SHARED_DATA if SHARED_DATA.is_dir() else None)


def test_raw_outputs_match_onnxruntime(
    onnx_path: Path, detector: YuNetDetector, test_photos: list[NDArray[np.uint8]]
) -> None:
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    names = [o.name for o in session.get_outputs()]
    worst = 0.0
    for photo in test_photos:
        tensor = letterbox_bgr(photo).tensor
        reference = dict(
            zip(names, session.run(None, {input_name: tensor.transpose(0, 3, 1, 2)}), strict=True)
        )
        ours = detector.raw_outputs(tensor)
        for name, value in reference.items():
            diff = float(np.max(np.abs(value.reshape(-1) - ours[name].reshape(-1))))
            worst = max(worst, diff)
    assert worst < RAW_TOLERANCE, f"max abs diff {worst}"


def test_decoded_faces_match_onnxruntime(
    onnx_path: Path, detector: YuNetDetector, test_photos: list[NDArray[np.uint8]]
) -> None:
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    names = [o.name for o in session.get_outputs()]
    for photo in test_photos:
        tensor = letterbox_bgr(photo).tensor
        reference = dict(
            zip(names, session.run(None, {input_name: tensor.transpose(0, 3, 1, 2)}), strict=True)
        )
        ref_boxes, ref_scores, ref_marks = decode_yunet(reference)
        our_boxes, _our_scores, our_marks = decode_yunet(detector.raw_outputs(tensor))
        confident = ref_scores > 0.5
        assert confident.any(), "every test photo has a face the reference scores above 0.5"
        assert np.abs(ref_boxes[confident] - our_boxes[confident]).max() < BOX_TOLERANCE_PX
        assert np.abs(ref_marks[confident] - our_marks[confident]).max() < BOX_TOLERANCE_PX


@pytest.mark.parametrize("upscale", [True, False], ids=["enlarged", "native"])
def test_faces_match_opencv_face_detector_yn(
    upscale: bool, onnx_path: Path, detector: YuNetDetector, test_photos: list[NDArray[np.uint8]]
) -> None:
    for photo in test_photos:
        letterbox = letterbox_bgr(photo, upscale=upscale)
        canvas = letterbox.tensor[0].astype(np.uint8)
        yn = cv2.FaceDetectorYN.create(str(onnx_path), "", (640, 640), 0.6, 0.3, 5000)
        _, found = yn.detect(canvas)
        reference = [] if found is None else sorted(found.tolist(), key=lambda f: (f[0], f[1]))
        ours = sorted(
            (
                np.concatenate(
                    [f.box * letterbox.scale, f.landmarks.reshape(-1) * letterbox.scale, [f.score]]
                )
                for f in detector.detect(photo, upscale=upscale)
            ),
            key=lambda f: (f[0], f[1]),
        )
        assert len(ours) == len(reference)
        for mine, theirs in zip(ours, reference, strict=True):
            # boxes are clipped to the image on our side; compare landmarks and score exactly-ish
            assert np.abs(np.array(mine[4:14]) - np.array(theirs[4:14])).max() < BOX_TOLERANCE_PX
            assert abs(mine[14] - theirs[14]) < 0.01
