"""``evaluate`` with a model of another recipe, another input size or a broken file: one error
line naming the file and what was expected, before any data is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.shared.runtime import LiteModel
from tests.training.store import prepared_store
from training.architectures import build
from training.cli import main
from training.recipes.attributes import build_attribute_net


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checkpoints")
    paths = {"cifar": root / "cifar.keras", "attributes": root / "attributes.keras"}
    build("resnet", (32, 32, 3), 3, depth=8, width=0.25).save(paths["cifar"])
    build_attribute_net(48, 8).save(paths["attributes"])
    return paths


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_cifar_evaluation_of_an_attribute_model(
    checkpoints: dict[str, Path], cifar_batches: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", "cifar10", "--checkpoint", str(checkpoints["attributes"])]
    assert _error([*argv, "--data", str(cifar_batches)], capsys) == (
        f"error: {checkpoints['attributes']} takes inputs of shape 48x48x3, not 32x32x3"
    )


def test_attribute_evaluation_of_other_models(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(tmp_path / "never-read")]
    said = _error(["evaluate", "attributes", "--model", str(checkpoints["cifar"]), *data], capsys)
    assert said == (
        f"error: {checkpoints['cifar']} takes inputs of shape 32x32x3, not 64x64x3 "
        "(set --input-size to its size?)"
    )
    argv = ["evaluate", "attributes", "--model", str(checkpoints["cifar"]), "--input-size", "32"]
    assert _error([*argv, *data], capsys) == (
        f"error: {checkpoints['cifar']} is not a model of this recipe: expected output age with "
        "1 values, found output 3"
    )
    argv = ["evaluate", "attributes", "--model", str(checkpoints["attributes"])]
    assert "not 64x64x3" in _error([*argv, *data], capsys)  # made for 48 px


@pytest.mark.parametrize("recipe", ["liveness", "attributes"])
def test_a_broken_tflite_file(
    recipe: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a flatbuffer")
    said = _error(["evaluate", recipe, "--model", str(broken), "--data", str(tmp_path)], capsys)
    assert said.startswith(f"error: cannot load TFLite model {broken}")


def test_liveness_tflite_of_another_size_or_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = prepared_store("minifasnet_v2", "gender")
    served = store.open("minifasnet_v2").path
    data = ["--data", str(tmp_path / "never-read")]
    argv = ["evaluate", "liveness", "--model", str(served), "--input-size", "64", *data]
    assert _error(argv, capsys) == (
        f"error: {served} takes inputs of shape 80x80x3, not 64x64x3 "
        "(set --input-size to its size?)"
    )
    gender = store.open("gender").path  # a TFLite classifier of another recipe (2 classes)
    model = LiteModel(gender)
    size = str(model.input_shapes[model.input_name][1])
    argv = ["evaluate", "liveness", "--model", str(gender), "--input-size", size, *data]
    assert "is not a model of this recipe: expected output logits with 3 values" in _error(
        argv, capsys
    )
