"""SFace parity: the converted TFLite model against the original ONNX (onnxruntime), and our
5-point alignment against OpenCV's ``FaceRecognizerSF.alignCrop`` on the same landmarks.

Real faces: the astronaut (always) and LFW photos from ../shared/data (when present).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from services.shared.alignment import align_face
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from services.shared.model_zoo.sface import SFace, l2_normalise
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector
from tests.helpers import images

LFW_SAMPLE = 24


@pytest.fixture(scope="module")
def onnx_path(model_store: ModelStore) -> Path:
    spec = model_store.spec("sface")
    try:
        return fetch_source(spec.source, model_store.cache_dir.parent / "downloads")
    except ModelUnavailableError as error:
        pytest.skip(f"the original SFace ONNX is not available here: {error}")


@pytest.fixture(scope="module")
def sface(model_store: ModelStore) -> SFace:
    return SFace.from_store(model_store, "sface", 2)


@pytest.fixture(scope="module")
def detector(model_store: ModelStore) -> YuNetDetector:
    return YuNetDetector.from_store(model_store, "yunet", 2)


def real_faces(
    detector: YuNetDetector, shared: Path | None
) -> list[tuple[NDArray[np.uint8], DetectedFace]]:
    photos = [images.astronaut()]
    if shared is not None:
        files = sorted((shared / "lfw-devtest" / "images").rglob("*.jpg"))
        step = max(1, len(files) // LFW_SAMPLE)
        for path in files[::step][:LFW_SAMPLE]:
            bgr = cv2.imread(str(path))
            assert bgr is not None, path
            photos.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    faces = []
    for photo in photos:
        found = detector.detect(photo)
        if found:
            faces.append((photo, max(found, key=lambda f: f.area)))
    return faces


def optional_shared(request: pytest.FixtureRequest) -> Path | None:
    try:
        shared: Path = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        return None
    return shared


def test_converted_model_matches_onnx(
    request: pytest.FixtureRequest, onnx_path: Path, sface: SFace, detector: YuNetDetector
) -> None:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    faces = real_faces(detector, optional_shared(request))
    assert len(faces) >= 1
    crops = np.stack([align_face(photo, face.landmarks) for photo, face in faces])
    ours = sface.embed(crops)
    nchw = crops.astype(np.float32).transpose(0, 3, 1, 2)
    reference = l2_normalise(
        np.concatenate([session.run(None, {"data": nchw[i : i + 1]})[0] for i in range(len(crops))])
    )
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() >= 0.9999, cosines
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_alignment_matches_opencv_align_crop(
    request: pytest.FixtureRequest, onnx_path: Path, sface: SFace, detector: YuNetDetector
) -> None:
    recognizer = cv2.FaceRecognizerSF.create(str(onnx_path), "")
    faces = real_faces(detector, optional_shared(request))
    for photo, face in faces:
        row = np.concatenate([face.box, face.landmarks.reshape(-1), [face.score]])
        row = row.astype(np.float32)
        bgr = np.ascontiguousarray(photo[:, :, ::-1])
        theirs = recognizer.alignCrop(bgr, row)[:, :, ::-1]
        ours = align_face(photo, face.landmarks)
        difference = np.abs(ours.astype(np.int16) - theirs.astype(np.int16))
        assert difference.mean() < 0.5, difference.mean()
        assert np.percentile(difference, 99) <= 3
        # And what matters downstream: the embeddings of the two crops agree.
        pair = sface.embed(np.stack([ours, np.ascontiguousarray(theirs)]))
        assert float(pair[0] @ pair[1]) >= 0.999
