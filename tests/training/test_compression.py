"""Compression on tiny models: quantization sizes and agreement, pruning sparsity, distillation."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from services.shared.runtime import LiteModel
from training.cli import main
from training.compression.cifar import distill_cifar, prune_cifar
from training.compression.prune import schedule
from training.compression.quantize import quantize_keras
from training.errors import TrainingError
from training.export import to_tflite


def _small_net() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def _run(data: bytes, images: np.ndarray, path: Path) -> np.ndarray:
    path.write_bytes(data)
    lite = LiteModel(path)
    return np.stack([lite.run(**{lite.input_name: image[None]})["output"][0] for image in images])


def test_float16_and_int8_sizes_and_agreement(tmp_path: Path) -> None:
    model = _small_net()
    rng = np.random.default_rng(0)
    calibration = rng.uniform(0, 1, (32, 16, 16, 3)).astype(np.float32)
    images = rng.uniform(0, 1, (8, 16, 16, 3)).astype(np.float32)
    full = to_tflite(model)
    half = quantize_keras(model, "float16")
    int8 = quantize_keras(model, "int8", calibration)
    assert len(half) < 0.6 * len(full)
    assert len(int8) < 0.35 * len(full)
    reference = _run(full, images, tmp_path / "f.tflite")
    np.testing.assert_allclose(_run(half, images, tmp_path / "h.tflite"), reference, atol=2e-2)
    quantized = _run(int8, images, tmp_path / "q.tflite")
    scale = np.abs(reference).max()
    assert np.abs(quantized - reference).max() < 0.1 * scale


def test_int8_needs_calibration() -> None:
    with pytest.raises(TrainingError, match="calibration"):
        quantize_keras(_small_net(), "int8")


def test_quantize_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["quantize", "--model", "no-such-model", "--mode", "float16", "--output-dir", str(tmp_path)]
    )
    assert code == 2
    assert "not in the manifest" in capsys.readouterr().err
    code = main(
        [
            "quantize",
            "--model",
            "facemesh",
            "--mode",
            "int8",
            "--calibration",
            str(tmp_path),
            "--calibration-kind",
            "nope",
            "--output-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "no calibration preprocessing" in capsys.readouterr().err
    code = main(["quantize", "--model", "sface", "--mode", "int8", "--output-dir", str(tmp_path)])
    assert code == 2
    assert "calibration" in capsys.readouterr().err


def test_schedule_is_cubic_ramp() -> None:
    assert schedule(0, 100, 0.8) == 0.0
    assert schedule(100, 100, 0.8) == pytest.approx(0.8)
    assert 0.0 < schedule(50, 100, 0.8) < 0.8


def test_prune_and_distill(cifar_batches: Path, cifar_teacher: Path, tmp_path: Path) -> None:
    pruned = prune_cifar(
        cifar_teacher,
        cifar_batches,
        tmp_path / "pruned.keras",
        sparsity=0.6,
        epochs=1,
        batch_size=12,
        progress=False,
    )
    assert pruned["sparsity"] == pytest.approx(0.6, abs=0.01)
    assert pruned["gzip_bytes_after"] < pruned["gzip_bytes_before"]
    assert (tmp_path / "pruned.keras").is_file()

    distilled = distill_cifar(
        cifar_teacher,
        cifar_batches,
        tmp_path / "student.keras",
        "resnet",
        {"depth": 8, "width": 0.25},
        epochs=3,
        batch_size=12,
        progress=False,
    )
    assert distilled["loss"][-1] < distilled["loss"][0]
    assert distilled["student_params"] < distilled["teacher_params"]
