"""The model zoo: every served model built, checked and warmed up the same way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from services.embedding.store.base import open_store
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_zoo import (
    AgeGenderHead,
    AgeModel,
    EmotionModel,
    FaceApiAgeGender,
    FaceMesh,
    GenderModel,
    MiniFASNet,
    SFace,
    YuNetDetector,
    ZooModel,
)
from services.shared.runtime import LiteModel
from tests.helpers import images

SERVED: list[tuple[type[ZooModel], str]] = [
    (YuNetDetector, "yunet"),
    (FaceMesh, "facemesh"),
    (SFace, "sface"),
    (MiniFASNet, "minifasnet_v2"),
    (MiniFASNet, "minifasnet_v1se"),
    (AgeModel, "age"),
    (GenderModel, "gender"),
    (EmotionModel, "emotion"),
    (AgeGenderHead, "age_gender_sface"),
    (FaceApiAgeGender, "faceapi_age_gender"),
]


@pytest.mark.parametrize(("cls", "name"), SERVED)
def test_every_served_model_builds_from_the_store_and_warms_up(
    model_store: ModelStore, cls: type[ZooModel], name: str
) -> None:
    model = cls.from_store(model_store, name, threads=1)
    spec = model_store.spec(name)
    assert (model.name, model.version) == (spec.name, spec.version)
    assert (model.info.name, model.info.version) == (spec.name, spec.version)
    model.warm_up()


def test_a_model_of_another_task_is_refused(model_store: ModelStore) -> None:
    with pytest.raises(ModelUnavailableError) as caught:
        SFace.from_store(model_store, "yunet")
    assert (
        str(caught.value) == "model 'yunet' is a 'detection' model; SFace serves 'embedding' models"
    )


def test_detector_thresholds_come_from_the_manifest(model_store: ModelStore) -> None:
    spec = model_store.spec("yunet")
    detector = YuNetDetector.from_store(model_store, "yunet")
    assert detector.score_threshold == spec.params["score_threshold"]
    assert detector.nms_threshold == spec.params["nms_threshold"]
    faces = detector.detect(images.astronaut())
    assert len(faces) == 1 and faces[0].score >= detector.score_threshold


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"nms_threshold": 0.3},
            "models/yunet.toml params.score_threshold must be a number, got None",
        ),
        (
            {"score_threshold": "0.6", "nms_threshold": 0.3},
            "models/yunet.toml params.score_threshold must be a number, got '0.6'",
        ),
        (
            {"score_threshold": 1.5, "nms_threshold": 0.3},
            "models/yunet.toml params.score_threshold must be in [0, 1], got 1.5",
        ),
    ],
)
def test_bad_manifest_params_are_a_startup_error_naming_the_file(
    model_store: ModelStore, params: dict[str, object], message: str
) -> None:
    spec = dataclasses.replace(model_store.spec("yunet"), params=params)
    runtime = LiteModel(model_store.open("yunet").path, 1)
    with pytest.raises(ModelUnavailableError) as caught:
        YuNetDetector(runtime, spec)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"gender_labels": ["female", "person"]},
            "models/faceapi_age_gender.toml params.gender_labels must list ['female', 'male'] "
            "in the order of the gender output, got ['female', 'person']",
        ),
        (
            {"age_margin_years": -1},
            "models/faceapi_age_gender.toml params.age_margin_years must be in [0, 20], got -1",
        ),
    ],
)
def test_bad_faceapi_params_are_a_startup_error(
    model_store: ModelStore, params: dict[str, object], message: str
) -> None:
    spec = model_store.spec("faceapi_age_gender")
    spec = dataclasses.replace(spec, params={**spec.params, **params})
    runtime = LiteModel(model_store.open("faceapi_age_gender").path, 1)
    with pytest.raises(ModelUnavailableError) as caught:
        FaceApiAgeGender(runtime, spec)
    assert str(caught.value) == message


def test_faceapi_gender_follows_the_manifest_order(model_store: ModelStore) -> None:
    spec = model_store.spec("faceapi_age_gender")
    runtime = LiteModel(model_store.open("faceapi_age_gender").path, 1)
    image = images.astronaut()
    box = YuNetDetector.from_store(model_store, "yunet").detect(image)[0].box
    faceapi = FaceApiAgeGender(runtime, spec).predict(image, box)
    assert faceapi.gender.label == "female" and faceapi.gender.probability > 0.5
    assert faceapi.age.low < faceapi.age.value < faceapi.age.high
    swapped = dataclasses.replace(spec, params={**spec.params, "gender_labels": ["female", "male"]})
    wrong = FaceApiAgeGender(runtime, swapped).predict(image, box)
    assert wrong.gender.label == "male"  # the labels are read from the manifest, in its order


def test_a_model_file_with_the_wrong_input_is_refused(model_store: ModelStore) -> None:
    runtime = LiteModel(model_store.open("gender").path, 1)
    with pytest.raises(ModelUnavailableError) as caught:
        AgeModel(runtime, model_store.spec("age"))
    assert str(caught.value) == "age-dlib-v1: input shape (1, 32, 32, 3), expected (1, 64, 64, 3)"


def _tiny_embedder(path: Path, dimension: int) -> None:
    """A real TFLite file: 112x112x3 -> pooled -> Dense(dimension)."""
    import tensorflow as tf

    inputs = tf.keras.Input((112, 112, 3), batch_size=1)
    pooled = tf.keras.layers.AveragePooling2D(8)(inputs)
    outputs = tf.keras.layers.Dense(dimension)(tf.keras.layers.Flatten()(pooled))
    model = tf.keras.Model(inputs, outputs)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def test_an_embedding_model_of_another_size_is_served_with_its_size(
    model_store: ModelStore, tmp_path: Path
) -> None:
    path = tmp_path / "embedder256.tflite"
    _tiny_embedder(path, 256)
    spec = dataclasses.replace(model_store.spec("sface"), name="embedder256")
    embedder = SFace(LiteModel(path, 1), spec)
    assert embedder.dimension == 256
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (3, 112, 112, 3), dtype=np.uint8)
    vectors = embedder.embed(crops)
    assert vectors.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    store = open_store(f"sqlite:///{tmp_path / 'gallery'}", embedder.dimension)
    try:
        store.create_group("t", "g")
        store.add_face("t", "g", "u", vectors[0], "0" * 64)
        store.add_face("t", "g", "v", vectors[1], "1" * 64)
        found = store.search("t", ["g"], vectors[1], 2)
        assert [match.user_id for match in found] == ["v", "u"]
    finally:
        store.close()
