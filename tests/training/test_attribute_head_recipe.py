"""The age/gender head recipe on a small generated feature cache: the age and gender losses
fall, the hash split is identity-free and stable, the export matches Keras, loads through the
zoo's ``AgeGenderHead`` by name and is served by the real attributes gRPC service selected only
by configuration; the feature extraction runs the serving front end (YuNet -> align_face ->
SFace, the dlib-style chip)."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2
from PIL import Image

from services.shared.alignment import align_face
from services.shared.errors import ModelUnavailableError
from services.shared.face_messages import face_to_proto
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore, load_manifest
from services.shared.model_zoo import AgeGenderHead, SFace, YuNetDetector
from services.shared.model_zoo.age_gender_head import age_from_distribution
from services.shared.model_zoo.face_chips import extract_face_chip
from tests.helpers import images
from tests.training.store import prepared_store
from training.checkpoints import load_checkpoint
from training.cli import main
from training.data.attribute_features import (
    AttributeFeatures,
    extract_features,
    is_validation,
    load_features,
    photo_key,
    save_features,
)
from training.recipes.attribute_head import (
    AGE_BINS,
    AttributeHeadConfig,
    age_targets,
    gender_index,
    train,
)

FACES = 240
DIMENSION = 128


def _features(count: int = FACES) -> AttributeFeatures:
    """Unit vectors whose first coordinate carries the gender and second the age."""
    rng = np.random.default_rng(0)
    ages = rng.integers(1, 90, count).astype(np.float32)
    genders = rng.integers(0, 2, count).astype(np.int64)
    vectors = rng.normal(0, 0.3, (count, DIMENSION)).astype(np.float32)
    vectors[:, 0] += np.where(genders == 1, 1.5, -1.5)
    vectors[:, 1] += (ages - 45) / 15
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    mirrored = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
    names = [
        f"{int(a)}_{g}_0_2017{i:013d}.jpg"
        for i, (a, g) in enumerate(zip(ages, genders, strict=True))
    ]
    return AttributeFeatures(
        names=np.asarray(names),
        ages=ages,
        genders=genders,
        landmarks=np.zeros((count, 5, 2), np.float32),
        embeddings=vectors,
        embeddings_flipped=mirrored / np.linalg.norm(mirrored, axis=1, keepdims=True),
        chips=np.zeros((count, 8, 8, 3), np.uint8),
        source="generated",
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("attribute-head")
    cache = root / "features.npz"
    save_features(_features(), cache)
    run = root / "run"
    result = train(
        AttributeHeadConfig(
            cache,
            run,
            hidden=32,
            epochs=4,
            batch_size=32,
            learning_rate=3e-3,
            validation_percent=20,
            progress=False,
        )
    )
    return cache, run, result


def test_split_is_by_photo_timestamp_and_stable() -> None:
    assert photo_key("26_1_2_20170116174525125.jpg.chip.jpg") == "20170116174525125"
    # the same photo (timestamp) is on one side whatever the labels or the suffix
    assert is_validation("26_1_2_20170116174525125.jpg") == is_validation(
        "30_0_1_20170116174525125.jpg.chip.jpg"
    )
    names = [f"30_0_1_2017{i:013d}.jpg" for i in range(2000)]
    share = np.mean([is_validation(n) for n in names])
    assert 0.08 < share < 0.12  # 10% by default
    assert [is_validation(n) for n in names] == [is_validation(n) for n in names]


def test_targets() -> None:
    soft = age_targets(np.array([0.0, 40.0, 130.0], np.float32), sigma=2.0)
    assert soft.shape == (3, AGE_BINS)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    assert list(np.argmax(soft, axis=1)) == [0, 40, AGE_BINS - 1]  # 130 clipped to the last bin
    assert list(gender_index(np.array([0, 1]))) == [1, 0]  # UTKFace 0 male -> "male" is index 1


def test_age_from_distribution() -> None:
    p = np.zeros(101)
    p[[30, 40]] = 0.5
    estimate = age_from_distribution(p, 0.0, 0.8)
    assert estimate.value == pytest.approx(35.0)
    assert (estimate.low, estimate.high) == (30.0, 40.0)
    point = age_from_distribution(np.eye(101)[7], 0.0, 0.8)
    assert (point.value, point.low, point.high) == (7.0, 7.0, 7.0)


def test_losses_fall_and_validation_is_reported(trained: tuple[Path, Path, dict[str, Any]]) -> None:
    _, run, result = trained
    history = result["history"]
    assert len(history) == 4
    for key in ("loss", "age_loss", "age_years_loss", "gender_loss"):
        assert history[-1][key] < history[0][key], (key, history)
    train_part, held_out = result["train"], result["validation"]
    assert train_part["faces"] + held_out["faces"] == FACES
    assert held_out["gender_accuracy"] > 0.8  # the gender is in the first coordinate
    assert held_out["age_mae"] < held_out["age_mae_predict_mean"]
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["command"] == "train() called from Python (no command line)"
    assert provenance["data"].startswith(f"{run.parent / 'features.npz'} (sha256 ")
    assert "faces from generated" in provenance["data"]
    assert len(provenance["commit"].split()[0]) == 40


def test_export_matches_keras_and_serves_through_the_zoo(
    trained: tuple[Path, Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_file, run, _ = trained
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    code = main(
        [
            "export",
            "attribute-head",
            "--checkpoint",
            str(run),
            "--name",
            "tiny-head",
            "--version",
            "t1",
            "--output",
            str(tmp_path / "head.tflite"),
            "--manifest-dir",
            str(manifests),
            "--cache-dir",
            str(cache),
        ]
    )
    assert code == 0
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    spec = load_manifest()["tiny-head"]
    assert spec.task == "age-gender-head"
    assert spec.params["embedding_model"] == "sface"
    assert {"trained_command", "trained_data", "trained_commit"} <= set(spec.params)
    head = AgeGenderHead.from_store(ModelStore(cache_dir=cache), "tiny-head", threads=1)
    head.warm_up()
    features = load_features(cache_file)
    keras_out = load_checkpoint(run).predict(features.embeddings[:6], verbose=0)
    for index in range(6):
        age, gender = head.outputs(features.embeddings[index])
        np.testing.assert_allclose(age, keras_out["age"][index], atol=1e-5)
        np.testing.assert_allclose(gender, keras_out["gender"][index], atol=1e-5)
        expected = age_from_distribution(keras_out["age"][index], 0.0, 0.8).value
        assert head.predict(features.embeddings[index]).age.value == pytest.approx(
            expected, abs=1e-3
        )


def test_a_head_is_refused_with_another_embedder(
    trained: tuple[Path, Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, run, _ = trained
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    assert (
        main(
            [
                "export",
                "attribute-head",
                "--checkpoint",
                str(run),
                "--name",
                "tiny-head",
                "--output",
                str(tmp_path / "head.tflite"),
                "--manifest-dir",
                str(manifests),
                "--cache-dir",
                str(cache),
                "--embedding-model",
                "dlib_resnet",
            ]
        )
        == 0
    )
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    head = AgeGenderHead.from_store(ModelStore(cache_dir=cache), "tiny-head", threads=1)
    store = prepared_store("sface")
    with pytest.raises(ModelUnavailableError) as caught:
        head.require_embedder(SFace.from_store(store, "sface", 1), 128)
    assert str(caught.value) == (
        "tiny-head-1 was trained on dlib_resnet-v1 embeddings, not on sface-2021dec's"
    )


def _linked_store(tmp_path: Path, cache: Path, names: tuple[str, ...]) -> ModelStore:
    """A store in tmp_path/cache that links the default store's prepared files for names."""
    default = prepared_store(*names)
    for name in names:
        prepared = default.open(name)
        os.symlink(prepared.path, cache / prepared.path.name)
    return ModelStore(cache_dir=cache)


def test_exported_head_answers_through_the_attributes_service(
    trained: tuple[Path, Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.attributes.server import create_app
    from services.attributes.settings import AttributesSettings

    _, run, _ = trained
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    output = tmp_path / "head.tflite"
    assert (
        main(
            [
                "export",
                "attribute-head",
                "--checkpoint",
                str(run),
                "--name",
                "tiny-head",
                "--output",
                str(output),
                "--manifest-dir",
                str(manifests),
                "--cache-dir",
                str(cache),
            ]
        )
        == 0
    )
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    store = _linked_store(tmp_path, cache, ("sface", "emotion_fer2013", "yunet"))
    settings = AttributesSettings(
        port=0, max_workers=2, age_from="head", gender_from="head", age_gender_head="tiny-head"
    )
    app, _ = create_app(settings, store)
    port = app.start(0)
    app.mark_serving()
    try:
        image = images.astronaut()
        face = YuNetDetector.from_store(store, "yunet").detect(image)[0]
        request = attributes_pb2.AnalyzeRequest(
            image=common_pb2.Image(data=images.astronaut_jpeg()),
            faces=[face_to_proto(face, image, with_crop=False)],
            attributes=[attributes_pb2.ATTRIBUTE_AGE, attributes_pb2.ATTRIBUTE_GENDER],
        )
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = attributes_pb2_grpc.AttributesServiceStub(channel).Analyze(request, timeout=20)
    finally:
        app.stop(grace=1.0)
    assert [(m.name, m.version) for m in reply.models] == [("sface", "2021dec"), ("tiny-head", "1")]
    decoded = decode_image(images.astronaut_jpeg())  # the service's input
    vector = SFace.from_store(store, "sface", 1).embed(align_face(decoded, face.landmarks))[0]
    expected = AgeGenderHead.from_store(store, "tiny-head", 1).predict(vector)
    answer = reply.faces[0]
    assert answer.age.value == pytest.approx(expected.age.value, abs=0.05)
    assert answer.age.low <= answer.age.value <= answer.age.high
    assert answer.gender.label == expected.gender.label
    assert answer.gender.probability == pytest.approx(expected.gender.probability, abs=1e-3)


def test_features_come_from_the_serving_front_end(tmp_path: Path) -> None:
    store = prepared_store("yunet", "sface")
    folder = tmp_path / "utk"
    folder.mkdir()
    astronaut = images.astronaut()
    Image.fromarray(astronaut).save(folder / "38_1_0_20170101000000001.png")
    Image.fromarray(np.zeros((120, 120, 3), np.uint8)).save(folder / "20_0_0_20170101000000002.png")
    Image.fromarray(astronaut).save(folder / "portrait.png")  # no labels in the name
    (folder / "30_0_0_20170101000000003.jpg").write_bytes(b"not a jpeg")  # listed, not fatal
    features = extract_features(folder, store, chip_size=32, progress=False)
    assert list(features.names) == ["38_1_0_20170101000000001.png"]
    assert features.no_face == ["20_0_0_20170101000000002.png"]
    assert features.skipped == ["portrait.png", "30_0_0_20170101000000003.jpg"]
    assert (features.ages[0], features.genders[0]) == (38.0, 1)
    face = max(YuNetDetector.from_store(store, "yunet").detect(astronaut), key=lambda f: f.area)
    embedder = SFace.from_store(store, "sface")
    crop = align_face(astronaut, face.landmarks)
    np.testing.assert_allclose(features.embeddings[0], embedder.embed(crop)[0], atol=1e-6)
    np.testing.assert_allclose(
        features.embeddings_flipped[0], embedder.embed(crop[:, ::-1].copy())[0], atol=1e-6
    )
    np.testing.assert_array_equal(
        features.chips[0], extract_face_chip(astronaut, face.landmarks, 32)
    )
    cache = tmp_path / "features.npz"
    save_features(features, cache)
    again = load_features(cache)
    np.testing.assert_array_equal(again.embeddings, features.embeddings)
    assert "yunet" in again.source and "sface" in again.source


def test_missing_feature_cache_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "train",
            "attribute-head",
            "--features",
            str(tmp_path / "nothing.npz"),
            "--run-dir",
            str(tmp_path / "run"),
            "--quiet",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"error: attribute feature cache {tmp_path / 'nothing.npz'} does not exist "
        "(python -m training attribute-features)"
    )


def test_the_manifest_reads_a_relative_local_path_from_its_folder(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "m.tflite").write_bytes(b"x")
    (tmp_path / "m.toml").write_text(
        'name = "m"\nversion = "1"\ntask = "t"\nlicense = "l"\n'
        '[source]\nkind = "local"\npath = "files/m.tflite"\nsha256 = "0"\n'
        '[convert]\nmethod = "copy"\noutput = "m.tflite"\nsha256 = "0"\n'
    )
    assert tomllib.loads((tmp_path / "m.toml").read_text())["source"]["path"] == "files/m.tflite"
    spec = load_manifest(tmp_path)["m"]
    assert spec.source.path == str(tmp_path / "files" / "m.tflite")
