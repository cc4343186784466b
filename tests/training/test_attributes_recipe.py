"""The attribute recipe on tiny generated UTKFace-style crops: age and gender losses fall,
bad file names are counted and skipped, the model exports to TFLite that matches Keras and
loads through the model store by name, and a folder without usable names is one error line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.shared.model_store import ModelStore
from services.shared.model_store.manifest import load_manifest
from services.shared.runtime import LiteModel
from training.checkpoints import load_checkpoint
from training.cli import main
from training.recipes.attributes import (
    AttributesConfig,
    evaluate_model,
    load_attributes,
    parse_name,
    predict,
    train,
)

SIZE = 32


def _write(root: Path, count: int = 24) -> Path:
    """Crops whose dominant channel is the gender and whose brightness grows with age."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        gender, age = index % 2, 10 + (index * 7) % 60
        image = rng.integers(0, 80, (36, 36, 3))
        image[..., gender] += 100 + 2 * age
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(
            root / f"{age}_{gender}_0_20170109{index:06d}.jpg.chip.jpg"
        )
    Image.fromarray(np.zeros((36, 36, 3), np.uint8)).save(root / "39_1_20170116174525125.jpg")
    Image.fromarray(np.zeros((36, 36, 3), np.uint8)).save(root / "portrait.jpg")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("attributes")
    data = _write(root / "utk")
    run = root / "run"
    result = train(
        AttributesConfig(
            data,
            run,
            input_size=SIZE,
            width=8,
            epochs=4,
            batch_size=8,
            learning_rate=3e-3,
            progress=False,
        )
    )
    return data, run, result


def test_parse_name() -> None:
    assert parse_name("26_1_2_20170116174525125.jpg.chip.jpg") == (26, 1)
    assert parse_name("1_0_0_20161219162630727.jpg") == (1, 0)
    assert parse_name("39_1_20170116174525125.jpg") is None  # race missing (real UTKFace case)
    assert parse_name("26_2_0_20170116174525125.jpg") is None  # gender must be 0 or 1
    assert parse_name("300_0_0_20170116174525125.jpg") is None  # not an age


def test_losses_fall_and_bad_names_are_skipped(
    trained: tuple[Path, Path, dict[str, object]],
) -> None:
    _, run, result = trained
    history = result["history"]
    assert isinstance(history, list) and len(history) == 4
    for key in ("loss", "age_loss", "gender_loss"):
        assert history[-1][key] < history[0][key], (key, history)
    assert result["skipped"] == 2
    skipped = result["skipped_files"]
    assert isinstance(skipped, list)
    assert sorted(skipped) == ["39_1_20170116174525125.jpg", "portrait.jpg"]
    metrics = result["train"]
    assert isinstance(metrics, dict) and metrics["images"] == 24
    assert (run / "checkpoints" / "last.keras").is_file()


def test_export_matches_keras_and_loads_by_name(
    trained: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, run, _ = trained
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    code = main(
        [
            "export",
            "attributes",
            "--checkpoint",
            str(run),
            "--name",
            "tiny-attributes",
            "--version",
            "t1",
            "--output",
            str(tmp_path / "attrs.tflite"),
            "--manifest-dir",
            str(manifests),
            "--cache-dir",
            str(cache),
        ]
    )
    assert code == 0
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    assert "tiny-attributes" in load_manifest()
    prepared = ModelStore(cache_dir=cache).open("tiny-attributes")
    assert prepared.spec.task == "attributes"

    lite = LiteModel(prepared.path)
    assert lite.input_shapes[lite.input_name] == (1, SIZE, SIZE, 3)
    images = load_attributes(data, SIZE).images[:4]
    ages, logits = predict(load_checkpoint(run), images)
    outputs = [lite.run(**{lite.input_name: i[None].astype(np.float32)}) for i in images]
    assert np.max(np.abs(np.array([o["age"].item() for o in outputs]) - ages)) < 1e-2
    assert np.max(np.abs(np.stack([o["gender"][0] for o in outputs]) - logits)) < 1e-3

    assert (
        main(
            [
                "evaluate",
                "attributes",
                "--model",
                str(tmp_path / "attrs.tflite"),
                "--data",
                str(data),
                "--input-size",
                str(SIZE),
            ]
        )
        == 0
    )


def test_evaluate_reports_mae_and_accuracy() -> None:
    class Fixed:
        def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
            return {"age": np.array([[20.0], [40.0]]), "gender": np.array([[2.0, 0], [2.0, 0]])}

    from training.recipes.attributes import AttributeData

    data = AttributeData(
        np.zeros((2, 4, 4, 3), np.uint8), np.array([25.0, 30.0], np.float32), np.array([0, 1])
    )
    metrics = evaluate_model(Fixed(), data)
    assert metrics["age_mae"] == pytest.approx(7.5)
    assert metrics["gender_accuracy"] == 0.5


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "does not exist"),
        ("bad_names", "3 images, none named correctly"),
        ("empty", "no images"),
    ],
)
def test_wrong_layout_is_one_error_line(
    layout: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "utk"
    if layout != "missing":
        root.mkdir()
    if layout == "bad_names":
        for name in ("a.jpg", "b.jpg", "1_x_0_2017.jpg"):
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / name)
    code = main(
        ["train", "attributes", "--data", str(root), "--run-dir", str(tmp_path / "run"), "--quiet"]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1], err
    assert "<age>_<gender>_<race>_<date>.jpg" in err[-1]
