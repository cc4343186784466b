"""The emotion recipe on real FER2013 crops (the dev sample in ../shared/data): the chips are cut
by the serving front end (framing, YuNet, ``emotion_crop``), the loss falls, the export matches
Keras, records its provenance and is served by the real attributes gRPC service selected only by
configuration."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2
from PIL import Image

from services.shared.face_messages import face_to_proto
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore, load_manifest
from services.shared.model_zoo import EmotionModel, YuNetDetector
from services.shared.model_zoo.emotion import EMOTION_LABELS
from services.shared.model_zoo.face_chips import emotion_crop
from tests.training.store import prepared_store
from training.checkpoints import load_checkpoint
from training.cli import main
from training.data.emotion_chips import (
    EmotionChips,
    extract_emotion_chips,
    frame_tight_crop,
    is_validation,
    load_emotion_chips,
    save_emotion_chips,
    scan_emotion_folder,
)
from training.errors import DatasetLayoutError
from training.recipes.emotion import EmotionConfig, augmenter, train

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "attributes-sample"


def _fer_folder(target: Path) -> Path:
    """The 150 FER dev crops linked into ``<emotion>/`` folders (skip without ../shared)."""
    if not (SAMPLE / "labels.csv").is_file():
        pytest.skip(f"{SAMPLE} is absent")
    with (SAMPLE / "labels.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["image"].startswith("fer/")]
    for row in rows:
        folder = target / row["emotion"]
        folder.mkdir(parents=True, exist_ok=True)
        os.symlink(SAMPLE / row["image"], folder / Path(row["image"]).name)
    return target


@pytest.fixture(scope="module")
def chips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EmotionChips]:
    root = tmp_path_factory.mktemp("emotion")
    store = prepared_store("yunet")
    folder = _fer_folder(root / "fer")
    (folder / "happy" / "broken.jpg").write_bytes(b"not a jpeg")  # listed, not fatal
    extracted = extract_emotion_chips(folder, store, progress=False)
    cache = root / "chips.npz"
    save_emotion_chips(extracted, cache)
    return cache, extracted


@pytest.fixture(scope="module")
def trained(chips: tuple[Path, EmotionChips]) -> tuple[Path, dict[str, Any]]:
    cache, _ = chips
    run = cache.parent / "run"
    result = train(
        EmotionConfig(
            cache, run, width=0.25, epochs=4, batch_size=16, learning_rate=3e-3, progress=False
        )
    )
    return run, result


def test_chips_are_the_served_crops_of_framed_fer_faces(chips: tuple[Path, EmotionChips]) -> None:
    cache, extracted = chips
    assert len(extracted) + len(extracted.no_face) == 150
    assert extracted.unreadable == ["broken.jpg"]
    assert len(extracted) >= 140  # framed, YuNet finds nearly every FER face (146 in-process)
    assert extracted.chips.shape == (len(extracted), 64, 64)
    name = str(extracted.names[0])
    label = EMOTION_LABELS[int(extracted.labels[0])]
    with Image.open(SAMPLE / "fer" / name) as original:
        assert original.size == (48, 48)
        image = decode_image(frame_tight_crop(original))
    assert image.shape == (96, 96, 3)
    face = max(YuNetDetector.from_store(ModelStore(), "yunet").detect(image), key=lambda f: f.area)
    np.testing.assert_array_equal(extracted.chips[0], emotion_crop(image, face.box))
    with (SAMPLE / "labels.csv").open() as handle:
        truth = {Path(r["image"]).name: r["emotion"] for r in csv.DictReader(handle)}
    assert truth[name] == label
    again = load_emotion_chips(cache)
    np.testing.assert_array_equal(again.chips, extracted.chips)
    assert again.unreadable == ["broken.jpg"]
    assert "yunet" in again.source and "frame_tight_crop" in again.source


def test_framing_pads_with_mid_grey() -> None:
    crop = Image.new("L", (48, 40), 0)
    framed = np.asarray(Image.open(io.BytesIO(frame_tight_crop(crop))))
    assert framed.shape == (80, 96)
    assert framed[0, 0] == 128 and framed[20, 24] == 0 and framed[59, 71] == 0
    assert framed[60, 72] == 128


def test_augmentation_keeps_dark_pixels() -> None:
    # Keras' RandomContrast clips to (0, 255) unless told the range: every value below 0 of our
    # [-1, 1] input became 0, and the network trained on images the service never sends.
    ramp = np.linspace(-1.0, 1.0, 64 * 64, dtype=np.float32).reshape(1, 64, 64, 1)
    batch = np.repeat(ramp, 8, axis=0)
    out = np.asarray(augmenter(0)(batch, training=True))
    assert out.shape == batch.shape
    assert (out < -0.5).mean() > 0.15
    assert abs(float(out.mean()) - float(batch.mean())) < 0.1


def test_split_is_by_file_name_and_stable() -> None:
    names = [f"Training_{i}.jpg" for i in range(3000)]
    share = np.mean([is_validation(n) for n in names])
    assert 0.08 < share < 0.12
    # pinned: sha256 of the name, not Python's per-process hash()
    assert [is_validation(n) for n in ["Training_0.jpg", "Training_22.jpg"]] == [True, True]
    assert [is_validation(n) for n in ["Training_1.jpg", "Training_2.jpg"]] == [False, False]


def test_a_folder_that_is_not_an_emotion_is_refused(tmp_path: Path) -> None:
    (tmp_path / "happy").mkdir()
    (tmp_path / "smiling").mkdir()
    with pytest.raises(DatasetLayoutError) as caught:
        scan_emotion_folder(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: folders ['smiling'] are not emotions "
        "(angry, disgust, fear, happy, sad, surprise, neutral)"
    )
    (tmp_path / "smiling").rmdir()
    with pytest.raises(DatasetLayoutError, match="no images under <emotion>/ folders"):
        scan_emotion_folder(tmp_path)


def test_loss_falls_and_held_out_accuracy_is_reported(
    trained: tuple[Path, dict[str, Any]], chips: tuple[Path, EmotionChips]
) -> None:
    run, result = trained
    history = result["history"]
    assert len(history) == 4
    assert history[-1]["loss"] < history[0]["loss"], history
    assert result["train"]["images"] + result["validation"]["images"] == len(chips[1])
    assert 0.0 <= result["validation"]["accuracy"] <= 1.0
    assert (run / "provenance.json").is_file()


def test_export_serves_through_the_zoo_and_the_attributes_service(
    trained: tuple[Path, dict[str, Any]],
    chips: tuple[Path, EmotionChips],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.attributes.server import create_app
    from services.attributes.settings import AttributesSettings
    from tests.helpers import images

    run, _ = trained
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    code = main(
        [
            "export",
            "emotion",
            "--checkpoint",
            str(run),
            "--name",
            "tiny-emotion",
            "--version",
            "t1",
            "--output",
            str(tmp_path / "emotion.tflite"),
            "--manifest-dir",
            str(manifests),
            "--cache-dir",
            str(cache),
        ]
    )
    assert code == 0
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    spec = load_manifest()["tiny-emotion"]
    assert spec.task == "emotion"
    assert {"trained_command", "trained_data", "trained_commit"} <= set(spec.params)
    assert "chips.npz (sha256 " in spec.params["trained_data"]
    model = EmotionModel.from_store(ModelStore(cache_dir=cache), "tiny-emotion", threads=1)
    expected = load_checkpoint(run).predict(
        (chips[1].chips[:4].astype(np.float32) / 127.5 - 1.0)[..., None], verbose=0
    )
    for index in range(4):
        np.testing.assert_allclose(
            model.probabilities(chips[1].chips[index]), expected[index], atol=1e-5
        )
    default = prepared_store("yunet", "age", "gender")
    for name in ("yunet", "age", "gender"):
        prepared = default.open(name)
        os.symlink(prepared.path, cache / prepared.path.name)
    store = ModelStore(cache_dir=cache)
    app, _ = create_app(
        AttributesSettings(port=0, max_workers=2, emotion_model="tiny-emotion"), store
    )
    port = app.start(0)
    app.mark_serving()
    try:
        image = images.astronaut()
        face = YuNetDetector.from_store(store, "yunet").detect(image)[0]
        request = attributes_pb2.AnalyzeRequest(
            image=common_pb2.Image(data=images.astronaut_jpeg()),
            faces=[face_to_proto(face, image, with_crop=False)],
            attributes=[attributes_pb2.ATTRIBUTE_EMOTION],
        )
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = attributes_pb2_grpc.AttributesServiceStub(channel).Analyze(request, timeout=20)
    finally:
        app.stop(grace=1.0)
    assert [(m.name, m.version) for m in reply.models] == [("tiny-emotion", "t1")]
    served = {s.label: s.probability for s in reply.faces[0].emotion.scores}
    decoded = decode_image(images.astronaut_jpeg())
    wanted = model.predict(decoded, face.box)
    assert served == pytest.approx(wanted, abs=1e-4)


def test_a_bfloat16_run_exports_a_float32_tflite(
    chips: tuple[Path, EmotionChips], tmp_path: Path
) -> None:
    """Mixed bfloat16 training (float32 probabilities for the loss) exports through a float32
    copy of the weights: the served TFLite answers as that copy does."""
    import keras

    from training.precision import float32_copy
    from training.recipes.emotion import export_emotion

    cache, extracted = chips
    run = tmp_path / "run"
    config = EmotionConfig(cache, run, width=0.25, epochs=2, batch_size=16, progress=False)
    config.precision = "bfloat16"
    result = train(config)
    assert all(np.isfinite(epoch["loss"]) for epoch in result["history"])
    assert keras.mixed_precision.global_policy().name == "float32"
    trained = load_checkpoint(run)
    assert trained.get_layer("probabilities").dtype_policy.name == "float32"
    store = tmp_path / "store"
    export_emotion(run, tmp_path / "emotion.tflite", "bf16-emotion", "t1", tmp_path / "m", store)
    expected = float32_copy(trained).predict(
        (extracted.chips[:3].astype(np.float32) / 127.5 - 1.0)[..., None], verbose=0
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(tmp_path / "m"))
        served = EmotionModel.from_store(ModelStore(cache_dir=store), "bf16-emotion", threads=1)
        for index in range(3):
            np.testing.assert_allclose(
                served.probabilities(extracted.chips[index]), expected[index], atol=1e-5
            )
